package access

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/contextlite/cloud/tenancy"
)

// tenantCacheMax bounds the entries of a tenant cache; a full cache starts afresh.
const tenantCacheMax = 10_000

// tenantMaxStale is how long past its TTL an entry serves while reloads
// fail with errors other than tenancy.ErrNotFound (the store is down).
const tenantMaxStale = time.Hour

// tenantStaleRetry is how long a stale entry serves after a failed reload
// before the store is tried again, so requests do not all wait on it.
const tenantStaleRetry = 5 * time.Second

// TenantCache keeps tenants found by id or slug for a short time, so JWT
// callers cost no control-plane round trip per request. It is a
// TenantFinder, safe for concurrent use.
type TenantCache struct {
	finder TenantFinder
	ttl    time.Duration
	now    func() time.Time

	mu      sync.Mutex
	entries map[string]cachedTenant
}

// cachedTenant is a tenant found at some time: fresh until expires, then
// stale until staleUntil.
type cachedTenant struct {
	t          tenancy.Tenant
	expires    time.Time
	staleUntil time.Time
}

// CacheTenants returns a TenantFinder that remembers what f finds for ttl.
// Changes to a tenant (tier, status) reach callers within ttl, or at once
// when Forget is called for it. While f fails (other than with
// tenancy.ErrNotFound), what it found before keeps serving for up to an
// hour past ttl.
func CacheTenants(f TenantFinder, ttl time.Duration) *TenantCache {
	return &TenantCache{finder: f, ttl: ttl, now: time.Now, entries: make(map[string]cachedTenant)}
}

// ForgetAll drops every cached tenant, so that changes made elsewhere
// apply at the next request.
func (c *TenantCache) ForgetAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
}

// Tenant finds a tenant by id.
func (c *TenantCache) Tenant(ctx context.Context, id string) (tenancy.Tenant, error) {
	return c.find("id:"+id, func() (tenancy.Tenant, error) { return c.finder.Tenant(ctx, id) })
}

// TenantBySlug finds a tenant by slug.
func (c *TenantCache) TenantBySlug(ctx context.Context, slug string) (tenancy.Tenant, error) {
	return c.find("slug:"+slug, func() (tenancy.Tenant, error) { return c.finder.TenantBySlug(ctx, slug) })
}

func (c *TenantCache) find(key string, load func() (tenancy.Tenant, error)) (tenancy.Tenant, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.t, nil
	}
	t, err := load()
	switch {
	case err == nil:
		c.put(key, cachedTenant{t: t, expires: now.Add(c.ttl), staleUntil: now.Add(c.ttl + tenantMaxStale)})
		return t, nil
	case ok && now.Before(e.staleUntil) && !errors.Is(err, tenancy.ErrNotFound):
		e.expires = now.Add(tenantStaleRetry)
		if e.staleUntil.Before(e.expires) {
			e.expires = e.staleUntil
		}
		c.put(key, e)
		return e.t, nil
	case ok && errors.Is(err, tenancy.ErrNotFound):
		c.mu.Lock()
		delete(c.entries, key) // gone: never serve it stale
		c.mu.Unlock()
	}
	return t, err
}

// put caches e under key; a full cache starts afresh.
func (c *TenantCache) put(key string, e cachedTenant) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; !ok && len(c.entries) >= tenantCacheMax {
		clear(c.entries)
	}
	c.entries[key] = e
}

// Forget drops what the cache holds of tenant id, under its id and its
// slug, so that a change to it applies to the next lookup.
func (c *TenantCache) Forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for key, e := range c.entries {
		if e.t.ID == id || key == "id:"+id {
			delete(c.entries, key)
		}
	}
}
