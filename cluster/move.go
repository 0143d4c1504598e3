package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Move is a tenant's move in progress from one node to another.
type Move struct {
	TenantID  string
	From      string    // the node it leaves, its home when the move began
	To        string    // the node it goes to
	Epoch     int64     // the home's epoch when the move began
	StartedAt time.Time // names this move among others of the tenant
}

// Reasons a move is refused.
var (
	ErrNoHome         = errors.New("cluster: the tenant has no home")
	ErrMoveInProgress = errors.New("cluster: the tenant is being moved already")
	ErrAlreadyHome    = errors.New("cluster: the tenant's home is the target node already")
	ErrMoveTarget     = errors.New("cluster: the target is not a live node taking tenants")
	ErrMoveStale      = errors.New("cluster: the move was aborted or the tenant's home changed meanwhile")
)

// BeginMove records that tenantID is moving to the node toNode and
// returns the move. It refuses when the tenant has no home (ErrNoHome),
// is moving already (ErrMoveInProgress, whichever node began that move),
// is at home on toNode (ErrAlreadyHome), or when toNode is not a live
// node that takes tenants (ErrMoveTarget). Until CompleteMove the tenant
// stays at home on its node.
func (c *Coordinator) BeginMove(ctx context.Context, tenantID, toNode string) (Move, error) {
	m := Move{TenantID: tenantID, To: toNode}
	err := c.pool.QueryRow(ctx, `UPDATE tenant_homes h SET moving_to = $2, move_started_at = now()
		WHERE h.tenant_id = $1 AND h.moving_to IS NULL AND h.node_id <> $2
		AND EXISTS (SELECT FROM cluster_nodes n WHERE n.id = $2 AND NOT n.draining
			AND n.heartbeat_at > now() - make_interval(secs => $3))
		RETURNING h.node_id, h.epoch, h.move_started_at`, tenantID, toNode, LiveWithin.Seconds()).
		Scan(&m.From, &m.Epoch, &m.StartedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		err = c.moveRefused(ctx, tenantID, toNode)
	}
	if err != nil {
		return Move{}, fmt.Errorf("cluster: move %s to %s: %w", tenantID, toNode, err)
	}
	return m, nil
}

// moveRefused returns why a move of tenantID to toNode was not begun.
func (c *Coordinator) moveRefused(ctx context.Context, tenantID, toNode string) error {
	var home string
	var moving *string
	err := c.pool.QueryRow(ctx, "SELECT node_id, moving_to FROM tenant_homes WHERE tenant_id = $1", tenantID).
		Scan(&home, &moving)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return ErrNoHome
	case err != nil:
		return err
	case moving != nil:
		return fmt.Errorf("%w (to %s)", ErrMoveInProgress, *moving)
	case home == toNode:
		return ErrAlreadyHome
	}
	return ErrMoveTarget
}

// CompleteMove makes m's target the tenant's home, with the next epoch,
// if m is still the tenant's move and the home's epoch is still m's: a
// compare-and-set, so a move that was aborted, or overtaken by another
// change of the home, fails with ErrMoveStale and changes nothing.
func (c *Coordinator) CompleteMove(ctx context.Context, m Move) error {
	tag, err := c.pool.Exec(ctx, `UPDATE tenant_homes
		SET node_id = moving_to, epoch = epoch + 1, moving_to = NULL, move_started_at = NULL, updated_at = now()
		WHERE tenant_id = $1 AND node_id = $2 AND moving_to = $3 AND epoch = $4 AND move_started_at = $5`,
		m.TenantID, m.From, m.To, m.Epoch, m.StartedAt)
	if err == nil && tag.RowsAffected() == 0 {
		err = ErrMoveStale
	}
	if err != nil {
		return fmt.Errorf("cluster: complete move of %s to %s: %w", m.TenantID, m.To, err)
	}
	return nil
}

// AbortMove forgets m, leaving the tenant at home where it was; it fails
// with ErrMoveStale when m is no longer the tenant's move.
func (c *Coordinator) AbortMove(ctx context.Context, m Move) error {
	tag, err := c.pool.Exec(ctx, `UPDATE tenant_homes SET moving_to = NULL, move_started_at = NULL
		WHERE tenant_id = $1 AND node_id = $2 AND moving_to = $3 AND epoch = $4 AND move_started_at = $5`,
		m.TenantID, m.From, m.To, m.Epoch, m.StartedAt)
	if err == nil && tag.RowsAffected() == 0 {
		err = ErrMoveStale
	}
	if err != nil {
		return fmt.Errorf("cluster: abort move of %s to %s: %w", m.TenantID, m.To, err)
	}
	return nil
}

// ErrUnknownNode means no node of the cluster has the id.
var ErrUnknownNode = errors.New("cluster: no such node")

// SetDraining marks node id as draining, so it is given no new tenant and
// no move targets it, or as taking tenants again.
func (c *Coordinator) SetDraining(ctx context.Context, id string, draining bool) error {
	tag, err := c.pool.Exec(ctx, "UPDATE cluster_nodes SET draining = $2 WHERE id = $1", id, draining)
	if err == nil && tag.RowsAffected() == 0 {
		err = ErrUnknownNode
	}
	if err != nil {
		return fmt.Errorf("cluster: drain node %s: %w", id, err)
	}
	return nil
}

// TenantsOn returns the tenants at home on node id, in id order: those a
// drain moves.
func (c *Coordinator) TenantsOn(ctx context.Context, id string) ([]string, error) {
	rows, err := c.pool.Query(ctx, "SELECT tenant_id FROM tenant_homes WHERE node_id = $1 ORDER BY tenant_id", id)
	if err != nil {
		return nil, fmt.Errorf("cluster: tenants of node %s: %w", id, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("cluster: tenants of node %s: %w", id, err)
	}
	return ids, nil
}
