// Package backup takes consistent online copies of every tenant database
// and of the embedded control plane, with a manifest of their sizes and
// SHA-256 sums, and restores them.
package backup

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/contextlite/cloud/contextengine"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// ManifestFile names the manifest in a backup directory.
const ManifestFile = "manifest.json"

// Manifest lists what a backup holds.
type Manifest struct {
	CreatedAt    time.Time `json:"created_at"`
	ControlPlane *File     `json:"control_plane,omitempty"` // absent when the control plane is PostgreSQL (back it up with pg_dump)
	Tenants      []File    `json:"tenants"`
}

// File is one database copy of a backup; Path is relative to the backup
// directory.
type File struct {
	Tenant string `json:"tenant,omitempty"`
	Path   string `json:"path"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// controlFile is the embedded control plane's file in a data directory.
const controlFile = "control.db"

// tenantFile returns a tenant database's path relative to a data or
// backup directory, for a validated tenant id.
func tenantFile(id string) string { return filepath.Join("tenants", id, "context.db") }

// Take copies every tenant database under dataDir, then the embedded
// control plane when there is one, into the new directory to (its
// parents are created), while writers keep working: each copy is SQLite's
// VACUUM INTO, a consistent snapshot of one database, with the live
// file's permissions. It writes the manifest last.
//
// The control plane is copied last: usage shipped from a tenant's outbox
// after its copy is then in the control plane's copy too, or still in the
// tenant's, so a restore ships it again (idempotently) and never loses it.
func Take(ctx context.Context, dataDir, to string) (*Manifest, error) {
	if err := os.MkdirAll(filepath.Dir(to), 0o750); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if err := os.Mkdir(to, 0o750); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	m := &Manifest{CreatedAt: time.Now().UTC(), Tenants: []File{}}
	ids, err := tenantIDs(dataDir)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		f, err := copyDB(ctx, filepath.Join(dataDir, tenantFile(id)), to, tenantFile(id))
		if err != nil {
			return nil, err
		}
		f.Tenant = id
		m.Tenants = append(m.Tenants, f)
	}
	if _, err := os.Stat(filepath.Join(dataDir, controlFile)); err == nil {
		f, err := copyDB(ctx, filepath.Join(dataDir, controlFile), to, controlFile)
		if err != nil {
			return nil, err
		}
		m.ControlPlane = &f
	}
	return m, writeManifest(to, m)
}

// tenantIDs lists the valid tenant ids that have a database under dataDir.
func tenantIDs(dataDir string) ([]string, error) {
	dirs, err := os.ReadDir(filepath.Join(dataDir, "tenants"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("backup: list tenants: %w", err)
	}
	var ids []string
	for _, d := range dirs {
		if !d.IsDir() || contextengine.ValidateTenantID(d.Name()) != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(dataDir, tenantFile(d.Name()))); err == nil {
			ids = append(ids, d.Name())
		}
	}
	return ids, nil
}

// copyDB writes a consistent copy of the SQLite database src to rel under
// dir, with src's permissions, and describes it.
func copyDB(ctx context.Context, src, dir, rel string) (File, error) {
	dst := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return File{}, fmt.Errorf("backup: %w", err)
	}
	if err := createLike(dst, src); err != nil {
		return File{}, fmt.Errorf("backup %s: %w", rel, err)
	}
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: src}).EscapedPath()+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return File{}, fmt.Errorf("backup %s: %w", rel, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, dst); err != nil {
		return File{}, fmt.Errorf("backup %s: %w", rel, err)
	}
	return describe(dir, rel)
}

// createLike creates the empty file dst with the permissions of src, for
// VACUUM INTO to fill: the copy is never readable by more than the live
// file is.
func createLike(dst, src string) error {
	info, err := os.Stat(src)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, info.Mode().Perm())
	if err != nil {
		return err
	}
	return errors.Join(f.Chmod(info.Mode().Perm()), f.Close()) // whatever the umask
}

// describe returns the size and SHA-256 of rel under dir.
func describe(dir, rel string) (File, error) {
	f, err := os.Open(filepath.Join(dir, rel))
	if err != nil {
		return File{}, fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return File{}, fmt.Errorf("backup: read %s: %w", rel, err)
	}
	return File{Path: rel, Bytes: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

func writeManifest(dir string, m *Manifest) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("backup: manifest: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), append(data, '\n'), 0o640); err != nil {
		return fmt.Errorf("backup: manifest: %w", err)
	}
	return nil
}
