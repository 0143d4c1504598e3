package contextengine

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
)

// A snapshot stream is a tar archive of one regular file, snapshotFile,
// the tenant's database, with its SHA-256 in the PAX record snapshotSum.
const (
	snapshotFile = "context.db"
	snapshotSum  = "CONTEXTLITE.sha256"
)

// Snapshot writes a consistent copy of tenant id's database to w, as the
// stream Install reads. The copy is SQLite's VACUUM INTO, made in one read
// transaction, so writers may go on meanwhile; fence the tenant first for
// a copy that holds every acknowledged write, as a move needs.
func (m *Manager) Snapshot(ctx context.Context, id string, w io.Writer) error {
	if err := ValidateTenantID(id); err != nil {
		return err
	}
	src := tenantPath(m.eng.dataDir, id)
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("snapshot: %w: %s", ErrTenantNotFound, id)
	}
	tmp, err := os.CreateTemp(filepath.Dir(src), ".snapshot-*.db")
	if err != nil {
		return fmt.Errorf("snapshot tenant %s: %w", id, err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	if err := vacuumInto(ctx, src, tmp.Name()); err != nil {
		return fmt.Errorf("snapshot tenant %s: %w", id, err)
	}
	if err := writeSnapshot(w, tmp.Name()); err != nil {
		return fmt.Errorf("snapshot tenant %s: %w", id, err)
	}
	return nil
}

// vacuumInto copies the SQLite database src to the empty file dst.
func vacuumInto(ctx context.Context, src, dst string) error {
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: src}).EscapedPath()+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		return fmt.Errorf("copy database: %w", err)
	}
	return nil
}

// writeSnapshot writes the snapshot stream of the database file to w.
func writeSnapshot(w io.Writer, file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	size, err := io.Copy(h, f)
	if err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	hdr := &tar.Header{Name: snapshotFile, Typeflag: tar.TypeReg, Mode: 0o640, Size: size, Format: tar.FormatPAX,
		PAXRecords: map[string]string{snapshotSum: hex.EncodeToString(h.Sum(nil))}}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := io.Copy(tw, f); err != nil {
		return err
	}
	return tw.Close()
}

// Install makes the database in r, a stream Snapshot wrote, tenant id's
// on this node, where it must not exist (ErrTenantExists). The database
// is written to a temporary file, checked against the stream's SHA-256
// and with SQLite's quick_check, and only then linked into place, so a
// damaged or partial copy (ErrInvalidInput) is never served.
func (m *Manager) Install(ctx context.Context, id string, r io.Reader) error {
	if err := ValidateTenantID(id); err != nil {
		return err
	}
	dst := tenantPath(m.eng.dataDir, id)
	if m.Exists(id) {
		return fmt.Errorf("install: %w: %s", ErrTenantExists, id)
	}
	dir := filepath.Dir(dst)
	if err := os.Mkdir(dir, 0o750); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("install tenant %s: %w", id, err)
	}
	err := m.install(ctx, r, dst)
	if err != nil {
		os.Remove(dir) // when it is empty: a failed install leaves nothing
		return fmt.Errorf("install tenant %s: %w", id, err)
	}
	return nil
}

// install receives a snapshot stream into a temporary file beside dst,
// checks it, and links it as dst if dst does not exist yet.
func (m *Manager) install(ctx context.Context, r io.Reader, dst string) error {
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".install-*.db")
	if err != nil {
		return err
	}
	defer removeDB(tmp.Name())
	if err := receiveSnapshot(r, tmp); err != nil {
		return err
	}
	if err := quickCheck(ctx, tmp.Name()); err != nil {
		return err
	}
	// A log left by an earlier database of this tenant must not be
	// replayed into this one.
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(dst + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	// A link, unlike a rename, never replaces a database that appeared
	// meanwhile.
	if err := os.Link(tmp.Name(), dst); errors.Is(err, fs.ErrExist) {
		return ErrTenantExists
	} else if err != nil {
		return err
	}
	return nil
}

// receiveSnapshot copies the database of a snapshot stream into f, which
// it closes, checking the stream's form and the file's SHA-256.
func receiveSnapshot(r io.Reader, f *os.File) error {
	defer f.Close()
	tr := tar.NewReader(r)
	hdr, err := tr.Next()
	if err != nil {
		return invalid("snapshot: %v", err)
	}
	want := hdr.PAXRecords[snapshotSum]
	if hdr.Name != snapshotFile || hdr.Typeflag != tar.TypeReg || want == "" {
		return invalid("snapshot: unexpected entry %q", hdr.Name)
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(f, h), tr); err != nil {
		return invalid("snapshot: %v", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return invalid("snapshot: SHA-256 %s, the stream says %s", got, want)
	}
	if _, err := tr.Next(); err == nil {
		return invalid("snapshot: more than one entry")
	} else if err != io.EOF {
		return invalid("snapshot: after the database: %v", err)
	}
	if err := f.Chmod(0o640); err != nil {
		return err
	}
	return f.Sync()
}

// quickCheck runs SQLite's quick_check on the database file.
func quickCheck(ctx context.Context, file string) error {
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: file}).EscapedPath()+"?mode=rw")
	if err != nil {
		return err
	}
	defer db.Close()
	var res string
	if err := db.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&res); err != nil {
		return invalid("snapshot: not a database: %v", err)
	}
	if res != "ok" {
		return invalid("snapshot: damaged database: %s", res)
	}
	return nil
}

// removeDB removes a database file and its log files.
func removeDB(file string) {
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		os.Remove(file + suffix)
	}
}
