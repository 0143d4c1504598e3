package access

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/contextlite/cloud/tenancy"
)

var errDown = errors.New("control plane down")

// flakyFinder knows one tenant; it fails with errDown while down and
// finds nothing while gone.
type flakyFinder struct {
	t     tenancy.Tenant
	down  bool
	gone  bool
	calls int
}

func (f *flakyFinder) Tenant(_ context.Context, id string) (tenancy.Tenant, error) {
	return f.find(id == f.t.ID, id)
}

func (f *flakyFinder) TenantBySlug(_ context.Context, slug string) (tenancy.Tenant, error) {
	return f.find(slug == f.t.Slug, slug)
}

func (f *flakyFinder) find(match bool, ref string) (tenancy.Tenant, error) {
	f.calls++
	switch {
	case f.down:
		return tenancy.Tenant{}, errDown
	case f.gone || !match:
		return tenancy.Tenant{}, fmt.Errorf("tenant %s: %w", ref, tenancy.ErrNotFound)
	}
	return f.t, nil
}

// newFlakyCache returns a cache with a ttl of a minute over a flaky
// finder, and a pointer to its clock.
func newFlakyCache() (*TenantCache, *flakyFinder, *time.Time) {
	f := &flakyFinder{t: tenancy.Tenant{ID: "t1", Slug: "acme", Tier: "pro", Status: tenancy.StatusActive}}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c := CacheTenants(f, time.Minute)
	c.now = func() time.Time { return now }
	return c, f, &now
}

// checkFind looks acme up by slug and compares the error and the calls so far.
func checkFind(t *testing.T, c *TenantCache, f *flakyFinder, step string, want error, calls int) {
	t.Helper()
	got, err := c.TenantBySlug(context.Background(), "acme")
	if !errors.Is(err, want) {
		t.Fatalf("%s: TenantBySlug = %v, want %v", step, err, want)
	}
	if err == nil && got != f.t {
		t.Fatalf("%s: TenantBySlug = %+v, want %+v", step, got, f.t)
	}
	if f.calls != calls {
		t.Fatalf("%s: %d finder calls, want %d", step, f.calls, calls)
	}
}

func TestTenantCacheStaleIfError(t *testing.T) {
	c, f, now := newFlakyCache()
	checkFind(t, c, f, "first", nil, 1)
	f.down = true
	checkFind(t, c, f, "down, cached", nil, 1)
	*now = now.Add(time.Minute)
	checkFind(t, c, f, "down, expired: stale", nil, 2)
	*now = now.Add(tenantStaleRetry - time.Second)
	checkFind(t, c, f, "down, stale, before the retry", nil, 2)
	*now = now.Add(time.Second)
	checkFind(t, c, f, "down, stale, retried", nil, 3)
	if _, err := c.Tenant(context.Background(), "t1"); !errors.Is(err, errDown) {
		t.Fatalf("down, never cached by id: %v, want errDown", err)
	}

	*now = now.Add(tenantMaxStale - tenantStaleRetry - time.Second) // a second before the limit
	checkFind(t, c, f, "down, stale, at the limit", nil, 5)
	*now = now.Add(time.Second)
	checkFind(t, c, f, "down, past the limit", errDown, 6)

	f.down = false
	checkFind(t, c, f, "up again", nil, 7)
	f.down = true
	*now = now.Add(30 * time.Minute)
	checkFind(t, c, f, "down again: stale from the last load", nil, 8)
}

func TestTenantCacheNotFoundIsNotStale(t *testing.T) {
	c, f, now := newFlakyCache()
	checkFind(t, c, f, "first", nil, 1)
	f.gone = true
	*now = now.Add(time.Minute)
	checkFind(t, c, f, "gone", tenancy.ErrNotFound, 2)
	f.down = true
	checkFind(t, c, f, "down after gone", errDown, 3)
}

func TestTenantCacheForget(t *testing.T) {
	c, f, _ := newFlakyCache()
	ctx := context.Background()
	checkFind(t, c, f, "first", nil, 1)
	if _, err := c.Tenant(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	c.Forget("other")
	checkFind(t, c, f, "another tenant forgotten", nil, 2)
	f.t.Status = tenancy.StatusSuspended
	c.Forget("t1")
	checkFind(t, c, f, "forgotten: reloaded by slug", nil, 3)
	if got, err := c.Tenant(ctx, "t1"); err != nil || got.Status != tenancy.StatusSuspended || f.calls != 4 {
		t.Fatalf("forgotten: by id = %+v, %v after %d calls; want suspended, reloaded", got, err, f.calls)
	}
}

// TestTenantCacheForgetAll: after ForgetAll the next lookup asks the finder.
func TestTenantCacheForgetAll(t *testing.T) {
	c, f, _ := newFlakyCache()
	checkFind(t, c, f, "first lookup", nil, 1)
	checkFind(t, c, f, "cached", nil, 1)
	c.ForgetAll()
	checkFind(t, c, f, "after ForgetAll", nil, 2)
}
