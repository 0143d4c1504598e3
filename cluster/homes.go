package cluster

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// HomeCacheTTL is how long a node trusts a tenant's home it has read;
// moves reach the other nodes at once through the Bus.
const HomeCacheTTL = 5 * time.Second

// Homes caches the homes of tenants, read through HomeOf.
type Homes struct {
	coord *Coordinator
	ttl   time.Duration
	now   func() time.Time

	mu    sync.Mutex
	homes map[string]cachedHome
}

// cachedHome is a home and when it was read.
type cachedHome struct {
	home Home
	read time.Time
}

// Homes returns a cache of tenants' homes kept for ttl.
func (c *Coordinator) Homes(ttl time.Duration) *Homes {
	return &Homes{coord: c, ttl: ttl, now: time.Now, homes: make(map[string]cachedHome)}
}

// Of returns the home of tenantID, placing the tenant if it has none.
func (h *Homes) Of(ctx context.Context, tenantID string) (Home, error) {
	now := h.now()
	h.mu.Lock()
	c, ok := h.homes[tenantID]
	h.mu.Unlock()
	if ok && now.Sub(c.read) < h.ttl {
		return c.home, nil
	}
	home, err := h.coord.HomeOf(ctx, tenantID)
	if err != nil {
		return Home{}, err
	}
	h.mu.Lock()
	h.homes[tenantID] = cachedHome{home: home, read: now}
	h.mu.Unlock()
	return home, nil
}

// Forget drops the cached home of tenantID, or every home for "".
func (h *Homes) Forget(tenantID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if tenantID == "" {
		clear(h.homes)
		return
	}
	delete(h.homes, tenantID)
}

// Claim makes nodeID the home of those of tenantIDs that have none and
// exist in the control plane: the node holding their databases, when a
// single server becomes a cluster node, or the node that signed a tenant
// up. It returns how many it claimed.
func (c *Coordinator) Claim(ctx context.Context, nodeID string, tenantIDs []string) (int64, error) {
	tag, err := c.pool.Exec(ctx, `INSERT INTO tenant_homes (tenant_id, node_id, updated_at)
		SELECT t.id, $1, now() FROM tenants t WHERE t.id = ANY($2)
		ON CONFLICT (tenant_id) DO NOTHING`, nodeID, tenantIDs)
	if err != nil {
		return 0, fmt.Errorf("cluster: claim tenants for %s: %w", nodeID, err)
	}
	return tag.RowsAffected(), nil
}
