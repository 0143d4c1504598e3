package contextengine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestManagerCreateOpenDelete(t *testing.T) {
	dir := t.TempDir()
	m := newTestManager(t, Options{DataDir: dir})
	ctx := context.Background()

	if _, err := m.Open(ctx, "ghost"); !errors.Is(err, ErrTenantNotFound) {
		t.Fatalf("Open(missing) = %v, want ErrTenantNotFound", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "tenants", "ghost")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("opening a missing tenant created files: %v", err)
	}
	for _, bad := range []string{"../x", "A", "", "a/b"} {
		if err := m.Create(ctx, bad); !errors.Is(err, ErrInvalidTenantID) {
			t.Errorf("Create(%q) = %v, want ErrInvalidTenantID", bad, err)
		}
		if _, err := m.Open(ctx, bad); !errors.Is(err, ErrInvalidTenantID) {
			t.Errorf("Open(%q) = %v, want ErrInvalidTenantID", bad, err)
		}
	}
	if err := m.Create(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if err := m.Create(ctx, "acme"); !errors.Is(err, ErrTenantExists) {
		t.Fatalf("second Create = %v, want ErrTenantExists", err)
	}
	tn, err := m.Open(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	mustAdd(t, tn, NewDocument{Path: "a.go", Content: "package a\n"})
	tn.Close()
	if err := m.Delete(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "tenants", "acme")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Delete left the tenant directory: %v", err)
	}
	if _, err := m.Open(ctx, "acme"); !errors.Is(err, ErrTenantNotFound) {
		t.Fatalf("Open after Delete = %v, want ErrTenantNotFound", err)
	}
	if err := m.Delete(ctx, "acme"); !errors.Is(err, ErrTenantNotFound) {
		t.Fatalf("second Delete = %v, want ErrTenantNotFound", err)
	}
}

func TestManagerEvictsLRUButNotInUse(t *testing.T) {
	m := newTestManager(t, Options{MaxOpen: 3})
	ctx := context.Background()
	for i := range 10 {
		if err := m.Create(ctx, fmt.Sprintf("t%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	held, err := m.Open(ctx, "t0")
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 10; i++ {
		tn, err := m.Open(ctx, fmt.Sprintf("t%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if n := m.OpenCount(); n > 3 {
			t.Fatalf("while t%d is open, %d databases open, max 3", i, n)
		}
		tn.Close()
	}
	// t0 was least recently used but held: it must still work.
	mustAdd(t, held, NewDocument{Path: "x.go", Content: "package x\n"})
	held.Close()
	held.Close() // a second Close is harmless
	if n := m.OpenCount(); n > 3 {
		t.Fatalf("%d databases open after release, max 3", n)
	}
}

func TestManagerClosesIdle(t *testing.T) {
	now := time.Unix(1e9, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	m := newTestManager(t, Options{IdleTimeout: time.Minute, Now: clock})
	ctx := context.Background()
	if err := m.Create(ctx, "idle"); err != nil {
		t.Fatal(err)
	}
	tn, err := m.Open(ctx, "idle")
	if err != nil {
		t.Fatal(err)
	}
	tn.Close()
	m.closeIdle(clock().Add(-time.Minute))
	if m.OpenCount() != 1 {
		t.Fatal("closed a database before its idle timeout")
	}
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	m.closeIdle(clock().Add(-time.Minute))
	if m.OpenCount() != 0 {
		t.Fatal("idle database still open")
	}
}

func TestManagerCloseRejectsOpen(t *testing.T) {
	m := newTestManager(t, Options{})
	ctx := context.Background()
	if err := m.Create(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	tn, err := m.Open(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	if _, err := m.Open(ctx, "acme"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Open after Close = %v, want ErrClosed", err)
	}
	// A handle taken before Close keeps working until released.
	if _, err := tn.Stats(ctx); err != nil {
		t.Fatal(err)
	}
	tn.Close()
}

// TestManagerConcurrent opens, writes and queries many tenants from many
// goroutines through a small cache; run it with -race.
func TestManagerConcurrent(t *testing.T) {
	m := newTestManager(t, Options{MaxOpen: 4})
	ctx := context.Background()
	const tenants = 12
	for i := range tenants {
		if err := m.Create(ctx, fmt.Sprintf("c%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for i := range 40 {
				id := fmt.Sprintf("c%d", rng.IntN(tenants))
				if err := useTenant(ctx, m, id, g, i); err != nil {
					errs <- fmt.Errorf("%s: %w", id, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := m.OpenCount(); n > 4 {
		t.Fatalf("%d databases open after the load, max 4", n)
	}
	var total int64
	for i := range tenants {
		tn, err := m.Open(ctx, fmt.Sprintf("c%d", i))
		if err != nil {
			t.Fatal(err)
		}
		s, err := tn.Stats(ctx)
		tn.Close()
		if err != nil {
			t.Fatal(err)
		}
		total += s.Documents
	}
	if want := int64(16 * 40 / 2); total != want {
		t.Fatalf("stored %d documents, want %d", total, want)
	}
}

func useTenant(ctx context.Context, m *Manager, id string, g, i int) error {
	tn, err := m.Open(ctx, id)
	if err != nil {
		return err
	}
	defer tn.Close()
	if i%2 == 0 {
		_, err = tn.Add(ctx, NewDocument{Path: fmt.Sprintf("g%d/f%d.go", g, i), Content: fmt.Sprintf("package p\n\nfunc Worker%dStep%d() {}\n", g, i)})
		return err
	}
	_, err = tn.Assemble(ctx, Request{Query: fmt.Sprintf("worker step %d", i)})
	return err
}

// TestResultCacheNotReusedAcrossOpenings deletes and re-creates a tenant
// whose new database reaches the same write generation, and checks that
// the old tenant's cached result is not served.
func TestResultCacheNotReusedAcrossOpenings(t *testing.T) {
	m := newTestManager(t, Options{})
	ctx := context.Background()
	req := Request{Query: "needle"}
	for _, path := range []string{"old.go", "new.go"} {
		if err := m.Create(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		tn, err := m.Open(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		mustAdd(t, tn, NewDocument{Path: path, Content: "package p\n\n// Needle is here.\nfunc Needle() {}\n"})
		tn.Close()
		for range 2 {
			res, err := m.Assemble(ctx, "acme", req)
			if err != nil || len(res.Items) != 1 || res.Items[0].Path != path {
				t.Fatalf("Assemble after adding %s = %+v, %v", path, res, err)
			}
		}
		if err := m.Delete(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
	}
}
