package access

import (
	"context"
	"sync"
	"time"

	"github.com/contextlite/cloud/tenancy"
)

// tenantCacheMax bounds the entries of a tenant cache; a full cache starts afresh.
const tenantCacheMax = 10_000

// tenantCache keeps tenants found by id or slug for a short time, so JWT
// callers cost no control-plane round trip per request.
type tenantCache struct {
	finder TenantFinder
	ttl    time.Duration
	now    func() time.Time

	mu      sync.Mutex
	entries map[string]cachedTenant
}

type cachedTenant struct {
	t       tenancy.Tenant
	expires time.Time
}

// CacheTenants returns a TenantFinder that remembers what f finds for ttl.
// Changes to a tenant (tier, status) reach callers within ttl.
func CacheTenants(f TenantFinder, ttl time.Duration) TenantFinder {
	return &tenantCache{finder: f, ttl: ttl, now: time.Now, entries: make(map[string]cachedTenant)}
}

// Tenant finds a tenant by id.
func (c *tenantCache) Tenant(ctx context.Context, id string) (tenancy.Tenant, error) {
	return c.find("id:"+id, func() (tenancy.Tenant, error) { return c.finder.Tenant(ctx, id) })
}

// TenantBySlug finds a tenant by slug.
func (c *tenantCache) TenantBySlug(ctx context.Context, slug string) (tenancy.Tenant, error) {
	return c.find("slug:"+slug, func() (tenancy.Tenant, error) { return c.finder.TenantBySlug(ctx, slug) })
}

func (c *tenantCache) find(key string, load func() (tenancy.Tenant, error)) (tenancy.Tenant, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.t, nil
	}
	t, err := load()
	if err != nil {
		return t, err
	}
	c.mu.Lock()
	if len(c.entries) >= tenantCacheMax {
		clear(c.entries)
	}
	c.entries[key] = cachedTenant{t: t, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return t, nil
}
