package contextengine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// fenceResult is what a Fence running in a goroutine returned.
type fenceResult struct {
	release func()
	err     error
}

// fenceAsync fences tenant id in a goroutine and waits until opening it
// fails with ErrTenantMoving, so the fence stands.
func fenceAsync(t *testing.T, ctx context.Context, m *Manager, id string) <-chan fenceResult {
	t.Helper()
	done := make(chan fenceResult, 1)
	go func() {
		release, err := m.Fence(ctx, id)
		done <- fenceResult{release, err}
	}()
	for {
		tn, err := m.Open(context.Background(), id)
		if errors.Is(err, ErrTenantMoving) {
			return done
		}
		if err != nil {
			t.Fatalf("Open while fencing: %v", err)
		}
		tn.Close()
		time.Sleep(time.Millisecond)
	}
}

func TestFenceWaitsForOpenHandles(t *testing.T) {
	dir := t.TempDir()
	m, held := newTestTenantWith(t, Options{DataDir: dir})
	ctx := context.Background()
	fenced := fenceAsync(t, ctx, m, "acme")
	select {
	case r := <-fenced:
		t.Fatalf("Fence returned (%v) while a handle was open", r.err)
	default:
	}
	// The request in flight finishes its write: it is acknowledged.
	mustAdd(t, held, NewDocument{Path: "inflight.go", Content: "package inflight\n"})
	held.Close()
	r := <-fenced
	if r.err != nil {
		t.Fatal(r.err)
	}
	if n := m.OpenCount(); n != 0 {
		t.Errorf("%d databases open after Fence, want 0", n)
	}
	files, err := os.ReadDir(filepath.Join(dir, "tenants", "acme"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].Name() != "context.db" {
		t.Errorf("fenced tenant's files: %v; want context.db alone, its log checkpointed", files)
	}
	if _, err := m.Open(ctx, "acme"); !errors.Is(err, ErrTenantMoving) {
		t.Errorf("Open while fenced = %v, want ErrTenantMoving", err)
	}
	if _, err := m.Fence(ctx, "acme"); !errors.Is(err, ErrTenantMoving) {
		t.Errorf("second Fence = %v, want ErrTenantMoving", err)
	}
	if err := m.Create(ctx, "acme"); !errors.Is(err, ErrTenantMoving) {
		t.Errorf("Create while fenced = %v, want ErrTenantMoving", err)
	}

	r.release()
	tn, err := m.Open(ctx, "acme")
	if err != nil {
		t.Fatalf("Open after release: %v", err)
	}
	if _, err := tn.GetByPath(ctx, "default", "inflight.go"); err != nil {
		t.Errorf("the write acknowledged before the fence: %v", err)
	}
	tn.Close()

	// A release of an old fence does not lift a new one.
	again, err := m.Fence(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	r.release()
	if _, err := m.Open(ctx, "acme"); !errors.Is(err, ErrTenantMoving) {
		t.Errorf("Open after an old fence's release = %v, want ErrTenantMoving", err)
	}
	again()
}

func TestFenceGivesUpWhenContextEnds(t *testing.T) {
	m, held := newTestTenantWith(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	fenced := fenceAsync(t, ctx, m, "acme")
	cancel()
	if r := <-fenced; !errors.Is(r.err, context.Canceled) {
		t.Fatalf("Fence with its context canceled = %v, want context.Canceled", r.err)
	}
	held.Close()
	tn, err := m.Open(context.Background(), "acme")
	if err != nil {
		t.Fatalf("Open after a Fence gave up: %v", err)
	}
	tn.Close()
}

func TestFenceAndDrop(t *testing.T) {
	dir := t.TempDir()
	m := newTestManager(t, Options{DataDir: dir})
	ctx := context.Background()
	if _, err := m.Fence(ctx, "ghost"); !errors.Is(err, ErrTenantNotFound) {
		t.Errorf("Fence(missing) = %v, want ErrTenantNotFound", err)
	}
	if _, err := m.Fence(ctx, "../x"); !errors.Is(err, ErrInvalidTenantID) {
		t.Errorf("Fence(../x) = %v, want ErrInvalidTenantID", err)
	}
	if err := m.Create(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if err := m.Drop(ctx, "acme"); err == nil || !m.Exists("acme") {
		t.Fatalf("Drop of a tenant not fenced = %v; it must refuse and keep the files", err)
	}
	release, err := m.Fence(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Drop(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "tenants", "acme")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Drop left the tenant's directory: %v", err)
	}
	if _, err := m.Open(ctx, "acme"); !errors.Is(err, ErrTenantMoving) {
		t.Errorf("Open after Drop = %v, want ErrTenantMoving until the fence is released", err)
	}
	release()
	if _, err := m.Open(ctx, "acme"); !errors.Is(err, ErrTenantNotFound) {
		t.Errorf("Open after Drop and release = %v, want ErrTenantNotFound", err)
	}
}
