package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Node is a node of the cluster.
type Node struct {
	ID        string // unique in the cluster, e.g. the host name
	Advertise string // the base URL its peers forward to, e.g. https://10.0.0.2:8443
	Draining  bool   // takes no new tenants and is being emptied
}

// Home is where a tenant is served.
type Home struct {
	TenantID string
	Node     Node
	Epoch    int64 // grows at every move
}

// ErrNoLiveNode means no node can take a tenant.
var ErrNoLiveNode = errors.New("cluster: no live node")

// HeartbeatEvery is how often a node says it is alive; a node silent
// for LiveWithin is not given new tenants.
const (
	HeartbeatEvery = 2 * time.Second
	LiveWithin     = 3 * HeartbeatEvery
)

// Register records n as started now and alive, keeping its draining state.
func (c *Coordinator) Register(ctx context.Context, n Node) error {
	_, err := c.pool.Exec(ctx, `INSERT INTO cluster_nodes (id, advertise, started_at, heartbeat_at)
		VALUES ($1, $2, now(), now())
		ON CONFLICT (id) DO UPDATE SET advertise = excluded.advertise, started_at = now(), heartbeat_at = now()`,
		n.ID, n.Advertise)
	if err != nil {
		return fmt.Errorf("cluster: register node %s: %w", n.ID, err)
	}
	return nil
}

// Heartbeat keeps node id alive until ctx ends.
func (c *Coordinator) Heartbeat(ctx context.Context, id string) {
	t := time.NewTicker(HeartbeatEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := c.pool.Exec(ctx, "UPDATE cluster_nodes SET heartbeat_at = now() WHERE id = $1", id); err != nil && ctx.Err() == nil {
			c.logger.WarnContext(ctx, "cluster heartbeat failed", "node", id, "error", err)
		}
	}
}

// LiveNodes returns the nodes heard from within LiveWithin, by id.
func (c *Coordinator) LiveNodes(ctx context.Context) ([]Node, error) {
	rows, err := c.pool.Query(ctx, `SELECT id, advertise, draining FROM cluster_nodes
		WHERE heartbeat_at > now() - make_interval(secs => $1) ORDER BY id`, LiveWithin.Seconds())
	if err != nil {
		return nil, fmt.Errorf("cluster: live nodes: %w", err)
	}
	nodes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Node, error) {
		var n Node
		return n, r.Scan(&n.ID, &n.Advertise, &n.Draining)
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: live nodes: %w", err)
	}
	return nodes, nil
}

// leastLoaded selects, from cluster_nodes n, the live node that is not
// draining with the fewest tenants ($1: LiveWithin in seconds).
const leastLoaded = `FROM cluster_nodes n
	WHERE n.heartbeat_at > now() - make_interval(secs => $1) AND NOT n.draining
	ORDER BY (SELECT count(*) FROM tenant_homes h WHERE h.node_id = n.id), n.id
	LIMIT 1`

// LeastLoaded returns the live node, not draining, with the fewest
// tenants: where a new tenant goes. ErrNoLiveNode if there is none.
func (c *Coordinator) LeastLoaded(ctx context.Context) (Node, error) {
	var n Node
	err := c.pool.QueryRow(ctx, "SELECT n.id, n.advertise, n.draining "+leastLoaded, LiveWithin.Seconds()).
		Scan(&n.ID, &n.Advertise, &n.Draining)
	if errors.Is(err, pgx.ErrNoRows) {
		return Node{}, ErrNoLiveNode
	}
	if err != nil {
		return Node{}, fmt.Errorf("cluster: least-loaded node: %w", err)
	}
	return n, nil
}

// HomeOf returns the home of tenantID, placing the tenant first on the
// live node that is not draining and has the fewest tenants, if it has
// no home yet.
func (c *Coordinator) HomeOf(ctx context.Context, tenantID string) (Home, error) {
	h, err := c.home(ctx, tenantID)
	if !errors.Is(err, pgx.ErrNoRows) {
		return h, err
	}
	tag, err := c.pool.Exec(ctx, `INSERT INTO tenant_homes (tenant_id, node_id, updated_at)
		SELECT $2, n.id, now() `+leastLoaded+`
		ON CONFLICT (tenant_id) DO NOTHING`, LiveWithin.Seconds(), tenantID)
	if err != nil {
		return Home{}, fmt.Errorf("cluster: place tenant %s: %w", tenantID, err)
	}
	h, err = c.home(ctx, tenantID)
	if errors.Is(err, pgx.ErrNoRows) && tag.RowsAffected() == 0 {
		return Home{}, ErrNoLiveNode
	}
	return h, err
}

// home reads the recorded home of tenantID.
func (c *Coordinator) home(ctx context.Context, tenantID string) (Home, error) {
	h := Home{TenantID: tenantID}
	err := c.pool.QueryRow(ctx, `SELECT h.node_id, coalesce(n.advertise, ''), coalesce(n.draining, false), h.epoch
		FROM tenant_homes h LEFT JOIN cluster_nodes n ON n.id = h.node_id WHERE h.tenant_id = $1`, tenantID).
		Scan(&h.Node.ID, &h.Node.Advertise, &h.Node.Draining, &h.Epoch)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return Home{}, fmt.Errorf("cluster: home of %s: %w", tenantID, err)
	}
	return h, err
}
