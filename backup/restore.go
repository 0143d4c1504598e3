package backup

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/contextlite/cloud/contextengine"
	"github.com/contextlite/cloud/datadir"
)

// ErrCorrupt is returned when a backup file does not match its manifest.
var ErrCorrupt = errors.New("backup file does not match the manifest")

// ReadManifest reads the manifest of the backup in dir.
func ReadManifest(dir string) (*Manifest, error) {
	data, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("restore: manifest: %w", err)
	}
	return &m, nil
}

// Restore copies the backup in from into dataDir: every tenant and the
// control plane, or only tenant when it is not empty. Every file is
// checked against the manifest first, so nothing is restored from a
// damaged backup. It holds the data directory's lock, so it refuses to
// run beside a server using it (a datadir.LockedError); existing files
// are replaced.
func Restore(from, dataDir, tenant string) error {
	lock, err := datadir.Acquire(dataDir)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer lock.Release()
	m, err := ReadManifest(from)
	if err != nil {
		return err
	}
	files, err := selectFiles(m, tenant)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := verify(from, f); err != nil {
			return err
		}
	}
	for _, f := range files {
		if err := install(from, dataDir, f.Path); err != nil {
			return err
		}
	}
	return nil
}

// selectFiles returns the files of m to restore, checking every path is
// one a backup writes.
func selectFiles(m *Manifest, tenant string) ([]File, error) {
	var files []File
	if tenant == "" && m.ControlPlane != nil {
		if m.ControlPlane.Path != controlFile {
			return nil, fmt.Errorf("restore: %w: control plane path %q", ErrCorrupt, m.ControlPlane.Path)
		}
		files = append(files, *m.ControlPlane)
	}
	for _, f := range m.Tenants {
		if contextengine.ValidateTenantID(f.Tenant) != nil || f.Path != tenantFile(f.Tenant) {
			return nil, fmt.Errorf("restore: %w: tenant %q at %q", ErrCorrupt, f.Tenant, f.Path)
		}
		if tenant == "" || f.Tenant == tenant {
			files = append(files, f)
		}
	}
	if tenant != "" && len(files) == 0 {
		return nil, fmt.Errorf("restore: the backup holds no tenant %q", tenant)
	}
	return files, nil
}

// verify checks a backup file's size and SHA-256.
func verify(from string, want File) error {
	got, err := describe(from, want.Path)
	if err != nil {
		return err
	}
	if got.Bytes != want.Bytes || got.SHA256 != want.SHA256 {
		return fmt.Errorf("restore: %w: %s", ErrCorrupt, want.Path)
	}
	return nil
}

// install copies rel from the backup into dataDir, with the backup file's
// permissions, through a temporary file renamed into place, and drops the
// old database's WAL files.
func install(from, dataDir, rel string) error {
	dst := filepath.Join(dataDir, rel)
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	src, err := os.Open(filepath.Join(from, rel))
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer src.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".restore-*")
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer os.Remove(tmp.Name())
	info, err := src.Stat()
	if err == nil {
		err = tmp.Chmod(info.Mode().Perm())
	}
	if err != nil {
		tmp.Close()
		return fmt.Errorf("restore %s: %w", rel, err)
	}
	if _, err := io.Copy(tmp, src); err != nil {
		tmp.Close()
		return fmt.Errorf("restore %s: %w", rel, err)
	}
	if err := errors.Join(tmp.Sync(), tmp.Close()); err != nil {
		return fmt.Errorf("restore %s: %w", rel, err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(dst + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("restore %s: %w", rel, err)
		}
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("restore %s: %w", rel, err)
	}
	return nil
}
