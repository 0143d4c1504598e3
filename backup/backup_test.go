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
