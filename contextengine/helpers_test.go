package contextengine

import (
	"context"
	"testing"
)

// newTestManager returns a Manager over a temporary directory.
func newTestManager(t testing.TB, opts Options) *Manager {
	t.Helper()
	if opts.DataDir == "" {
		opts.DataDir = t.TempDir()
	}
	m, err := NewManager(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// newTestTenant creates and opens tenant "acme" in a fresh Manager.
func newTestTenant(t testing.TB) *Tenant {
	t.Helper()
	_, tn := newTestTenantWith(t, Options{})
	return tn
}

// newTestTenantWith creates and opens tenant "acme" in a fresh Manager
// with opts.
func newTestTenantWith(t testing.TB, opts Options) (*Manager, *Tenant) {
	t.Helper()
	m := newTestManager(t, opts)
	ctx := context.Background()
	if err := m.Create(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	tn, err := m.Open(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tn.Close() })
	return m, tn
}

func mustAdd(t testing.TB, tn *Tenant, docs ...NewDocument) []AddResult {
	t.Helper()
	res, err := tn.AddBatch(context.Background(), docs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("doc %d (%s): %v", i, docs[i].Path, r.Err)
		}
	}
	return res
}
