package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contextlite/cloud/contextengine"
	"github.com/contextlite/cloud/tenancy"
)

var tenants = []string{"t-one", "t-two", "t-three"}

// contents maps a tenant's document paths to their content hashes.
func contents(t *testing.T, m *contextengine.Manager, id string) map[string]string {
	t.Helper()
	tn, err := m.Open(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer tn.Close()
	out := make(map[string]string)
	cursor := ""
	for {
		page, err := tn.List(context.Background(), contextengine.ListOptions{Cursor: cursor, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page.Documents {
			out[d.Path] = d.ContentHash
		}
		if cursor = page.NextCursor; cursor == "" {
			return out
		}
	}
}

func TestBackupUnderWritesAndRestore(t *testing.T) {
	ctx := context.Background()
	dataDir := t.TempDir()
	store, err := tenancy.Open(ctx, "", dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.CreateTenant(ctx, tenancy.Tenant{ID: "t-one", Slug: "one", Tier: "free", Status: tenancy.StatusActive}); err != nil {
		t.Fatal(err)
	}
	engine, err := contextengine.NewManager(contextengine.Options{DataDir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	for _, id := range tenants {
		if err := engine.Create(ctx, id); err != nil {
			t.Fatal(err)
		}
	}

	// Writers keep adding documents to every tenant during the backup.
	var written atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, id := range tenants {
		wg.Go(func() {
			tn, err := engine.Open(ctx, id)
			if err != nil {
				t.Error(err)
				return
			}
			defer tn.Close()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				doc := contextengine.NewDocument{Path: fmt.Sprintf("src/f%d.go", i), Content: fmt.Sprintf("package f\n\nfunc F%d() {}\n", i)}
				if _, err := tn.Add(ctx, doc); err != nil {
					t.Error(err)
					return
				}
				written.Add(1)
			}
		})
	}
	for written.Load() < 90 {
		time.Sleep(5 * time.Millisecond)
	}
	backupDir := filepath.Join(t.TempDir(), "b1")
	m, err := Take(ctx, dataDir, backupDir)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if m.ControlPlane == nil || len(m.Tenants) != len(tenants) {
		t.Fatalf("manifest = %+v", m)
	}

	restored := t.TempDir()
	if err := Restore(backupDir, restored, ""); err != nil {
		t.Fatal(err)
	}
	engine2, err := contextengine.NewManager(contextengine.Options{DataDir: restored})
	if err != nil {
		t.Fatal(err)
	}
	defer engine2.Close()
	for _, id := range tenants {
		src, got := contents(t, engine, id), contents(t, engine2, id)
		if len(got) == 0 || len(got) > len(src) {
			t.Fatalf("tenant %s: %d documents restored, %d in the source", id, len(got), len(src))
		}
		for path, hash := range got {
			if src[path] != hash {
				t.Fatalf("tenant %s: %s restored with hash %s, source has %q", id, path, hash, src[path])
			}
		}
	}
	store2, err := tenancy.Open(ctx, "", restored)
	if err != nil {
		t.Fatal(err)
	}
	defer store2.Close()
	if tn, err := store2.Tenant(ctx, "t-one"); err != nil || tn.Slug != "one" {
		t.Fatalf("restored control plane: %+v, %v", tn, err)
	}
}

func TestRestoreOneTenantAndRefuseDamage(t *testing.T) {
	ctx := context.Background()
	dataDir := t.TempDir()
	engine, err := contextengine.NewManager(contextengine.Options{DataDir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	for _, id := range tenants[:2] {
		if err := engine.Create(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	backupDir := filepath.Join(t.TempDir(), "b")
	m, err := Take(ctx, dataDir, backupDir)
	if err != nil {
		t.Fatal(err)
	}
	if m.ControlPlane != nil {
		t.Fatalf("no control.db, yet the manifest has %+v", m.ControlPlane)
	}
	one := t.TempDir()
	if err := Restore(backupDir, one, "t-two"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(one, tenantFile("t-two"))); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(one, tenantFile("t-one"))); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("t-one restored too: %v", err)
	}
	if err := Restore(backupDir, one, "t-nine"); err == nil {
		t.Fatal("restoring a tenant the backup lacks succeeded")
	}

	f, err := os.OpenFile(filepath.Join(backupDir, tenantFile("t-one")), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("damage"))
	f.Close()
	if err := Restore(backupDir, t.TempDir(), ""); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("damaged backup: %v", err)
	}
}

func TestScheduleKeepsTheNewest(t *testing.T) {
	ctx := context.Background()
	dataDir, dir := t.TempDir(), t.TempDir()
	engine, err := contextengine.NewManager(contextengine.Options{DataDir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	if err := engine.Create(ctx, "t-one"); err != nil {
		t.Fatal(err)
	}
	s := &Schedule{DataDir: dataDir, Dir: dir, Keep: 2}
	start := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	for i := range 4 {
		s.take(ctx, start.Add(time.Duration(i)*time.Hour))
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].Name() != "contextlite-20261129T050000Z" || entries[1].Name() != "contextlite-20261129T060000Z" {
		t.Fatalf("kept %v", entries)
	}
	if _, err := ReadManifest(filepath.Join(dir, entries[1].Name())); err != nil {
		t.Fatal(err)
	}
}

func TestScheduleIsDueFromTheNewestBackup(t *testing.T) {
	ctx := context.Background()
	dataDir, dir := t.TempDir(), t.TempDir()
	s := &Schedule{DataDir: dataDir, Dir: dir, Every: 24 * time.Hour}
	t0 := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	if got := s.next(t0); !got.Equal(t0) {
		t.Fatalf("no backup yet: due %v, want now %v", got, t0)
	}
	s.take(ctx, t0)
	// A newer directory without a manifest is an incomplete backup.
	if err := os.Mkdir(filepath.Join(dir, snapshotPrefix+t0.Add(time.Hour).Format(snapshotTime)), 0o750); err != nil {
		t.Fatal(err)
	}
	if got, want := s.next(t0.Add(2*time.Hour)), t0.Add(24*time.Hour); !got.Equal(want) {
		t.Fatalf("a backup 2h old: due %v, want %v", got, want)
	}
	if now := t0.Add(30 * time.Hour); !s.next(now).Equal(now) {
		t.Fatalf("a backup 30h old: due %v, want now", s.next(now))
	}
}

func TestRunTakesAnOverdueBackupAtOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	dataDir, dir := t.TempDir(), t.TempDir()
	s := &Schedule{DataDir: dataDir, Dir: dir, Every: 24 * time.Hour}
	s.take(ctx, time.Now().Add(-25*time.Hour))
	done := make(chan struct{})
	go func() {
		s.Run(ctx)
		close(done)
	}()
	defer func() {
		cancel()
		<-done
	}()
	for range 600 {
		if names, _ := s.snapshots(); len(names) == 2 {
			if _, err := ReadManifest(filepath.Join(dir, names[1])); err == nil {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	names, _ := s.snapshots()
	t.Fatalf("no backup taken for a schedule 25h behind; backups: %v", names)
}

func TestTakeMakesParentsAndKeepsPermissions(t *testing.T) {
	ctx := context.Background()
	dataDir := t.TempDir()
	store, err := tenancy.Open(ctx, "", dataDir)
	if err != nil {
		t.Fatal(err)
	}
	store.Close()
	engine, err := contextengine.NewManager(contextengine.Options{DataDir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	if err := engine.Create(ctx, "t-one"); err != nil {
		t.Fatal(err)
	}
	live := []string{controlFile, tenantFile("t-one")}
	for _, rel := range live {
		if err := os.Chmod(filepath.Join(dataDir, rel), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	to := filepath.Join(t.TempDir(), "missing", "parents", "b")
	if _, err := Take(ctx, dataDir, to); err != nil {
		t.Fatal(err)
	}
	restored := t.TempDir()
	if err := Restore(to, restored, ""); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{to, restored} {
		for _, rel := range live {
			info, err := os.Stat(filepath.Join(dir, rel))
			if err != nil {
				t.Fatal(err)
			}
			if info.Mode().Perm() != 0o600 {
				t.Errorf("%s in %s: mode %v, want 0600 like the live file", rel, dir, info.Mode().Perm())
			}
		}
	}

	// The control plane is copied after the tenants.
	control, err := os.Stat(filepath.Join(to, controlFile))
	if err != nil {
		t.Fatal(err)
	}
	tenant, err := os.Stat(filepath.Join(to, tenantFile("t-one")))
	if err != nil {
		t.Fatal(err)
	}
	if control.ModTime().Before(tenant.ModTime()) {
		t.Errorf("control plane copied at %v, before the tenant at %v", control.ModTime(), tenant.ModTime())
	}
}
