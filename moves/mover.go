// Package moves moves tenants between the nodes of a cluster: a tenant's
// home node fences it, the target node pulls a snapshot of its database
// over a signed request, and the control plane switches its home. It also
// drains a node by moving each of its tenants away.
package moves

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/contextlite/cloud/cluster"
)

// Engine is a node's tenant storage as a move uses it.
type Engine interface {
	Fence(ctx context.Context, id string) (release func(), err error)
	Fenced(id string) bool
	Drop(ctx context.Context, id string) error
	Snapshot(ctx context.Context, id string, w io.Writer) error
	Install(ctx context.Context, id string, r io.Reader) error
}

// Control is the control plane's record of nodes, homes and moves.
type Control interface {
	HomeOf(ctx context.Context, tenantID string) (cluster.Home, error)
	LiveNodes(ctx context.Context) ([]cluster.Node, error)
	TenantsOn(ctx context.Context, nodeID string) ([]string, error)
	SetDraining(ctx context.Context, nodeID string, draining bool) error
	BeginMove(ctx context.Context, tenantID, toNode string) (cluster.Move, error)
	CompleteMove(ctx context.Context, m cluster.Move) error
	AbortMove(ctx context.Context, m cluster.Move) error
}

// Usage is a node's metering of tenants, as a move hands it over.
type Usage interface {
	// Ship sends the tenant's unshipped usage to the control plane.
	Ship(ctx context.Context, tenantID string) error
	// Arrived is called when the tenant's database came to this node.
	Arrived(tenantID string)
	// Left is called when the tenant's database left this node.
	Left(tenantID string)
}

// moveTimeout bounds a move, whoever asked for it and whether or not
// they wait for the answer.
const moveTimeout = 30 * time.Minute

// Result is a finished move.
type Result struct {
	TenantID string `json:"tenant_id"`
	From     string `json:"from"`
	To       string `json:"to"`
	Epoch    int64  `json:"epoch"`
	// FencedMS is how long the tenant's requests got 503 tenant_moving;
	// TotalMS how long the move took, in milliseconds.
	FencedMS int64 `json:"fenced_ms"`
	TotalMS  int64 `json:"total_ms"`
}

// Mover moves tenants; every node of a cluster has one, and a move runs
// on the tenant's home node, whichever node it was asked of.
type Mover struct {
	Self    string // this node's id
	Engine  Engine
	Control Control
	Usage   Usage
	Peers   *Peers
	// Forget drops every node's cached home (and keys) of a tenant.
	Forget func(tenantID string)
	Logger *slog.Logger // nil: discard
}

// Move moves tenantID to the node to. It runs here when the tenant's home
// is this node and is passed to the home node otherwise. On failure the
// tenant stays at home where it was, served again.
func (m *Mover) Move(ctx context.Context, tenantID, to string) (Result, error) {
	home, err := m.Control.HomeOf(ctx, tenantID)
	if err != nil {
		return Result{}, err
	}
	if home.Node.ID != m.Self {
		return m.Peers.Move(ctx, home.Node, tenantID, to)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), moveTimeout)
	defer cancel()
	return m.moveFromHere(ctx, tenantID, to)
}

// moveFromHere moves tenantID, homed here, to the node to: fence, pull
// by the target, switch of the home, then the copy here is dropped.
func (m *Mover) moveFromHere(ctx context.Context, tenantID, to string) (Result, error) {
	start := time.Now()
	target, err := m.liveNode(ctx, to)
	if err != nil {
		return Result{}, err
	}
	mv, err := m.Control.BeginMove(ctx, tenantID, to)
	if err != nil {
		return Result{}, err
	}
	// Usage committed from now on travels in the database's outbox and is
	// shipped by the target; shipping first leaves it little to do.
	if err := m.Usage.Ship(ctx, tenantID); err != nil {
		m.logger().WarnContext(ctx, "move: usage not shipped before the copy; the target ships it", "tenant", tenantID, "error", err)
	}
	release, err := m.Engine.Fence(ctx, tenantID)
	if err != nil {
		return Result{}, m.abort(ctx, mv, target, nil, err)
	}
	fenced := time.Now()
	if err := m.Peers.Install(ctx, target, tenantID); err != nil {
		return Result{}, m.abort(ctx, mv, target, release, err)
	}
	if err := m.complete(ctx, mv); err != nil {
		return Result{}, m.abort(ctx, mv, target, release, err)
	}
	m.Forget(tenantID)
	if err := m.Engine.Drop(ctx, tenantID); err != nil {
		m.logger().ErrorContext(ctx, "move: the old copy was not removed; delete its directory", "tenant", tenantID, "error", err)
	}
	m.Usage.Left(tenantID)
	time.AfterFunc(lateRequests, release)
	end := time.Now()
	m.logger().InfoContext(ctx, "tenant moved", "tenant", tenantID, "from", m.Self, "to", to,
		"fenced", end.Sub(fenced), "took", end.Sub(start))
	return Result{TenantID: tenantID, From: m.Self, To: to, Epoch: mv.Epoch + 1,
		FencedMS: end.Sub(fenced).Milliseconds(), TotalMS: end.Sub(start).Milliseconds()}, nil
}

// complete switches the tenant's home to the move's target. When the
// answer is lost, the home read back tells whether it happened.
func (m *Mover) complete(ctx context.Context, mv cluster.Move) error {
	err := m.Control.CompleteMove(ctx, mv)
	if err == nil || errors.Is(err, cluster.ErrMoveStale) {
		return err
	}
	if home, herr := m.Control.HomeOf(ctx, mv.TenantID); herr == nil && home.Node.ID == mv.To && home.Epoch == mv.Epoch+1 {
		return nil
	}
	return err
}

// abort undoes a failed move: the target's copy is removed, the move is
// forgotten in the control plane and the fence lifted (release may be
// nil). It returns cause.
func (m *Mover) abort(ctx context.Context, mv cluster.Move, target cluster.Node, release func(), cause error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	log := m.logger()
	if err := m.Peers.Remove(ctx, target, mv.TenantID); err != nil {
		log.ErrorContext(ctx, "move aborted: the target's partial copy was not removed", "tenant", mv.TenantID, "target", target.ID, "error", err)
	}
	if err := m.Control.AbortMove(ctx, mv); err != nil {
		log.ErrorContext(ctx, "move aborted: not recorded in the control plane", "tenant", mv.TenantID, "error", err)
	}
	if release != nil {
		release()
	}
	log.WarnContext(ctx, "tenant move aborted; it stays here", "tenant", mv.TenantID, "target", target.ID, "error", cause)
	return fmt.Errorf("move %s to %s: %w", mv.TenantID, mv.To, cause)
}

// lateRequests is how long the fence stays on the old home after a move:
// a request that found the tenant at home there just before the move
// completed gets 503 tenant_moving, and its retry goes to the new home,
// rather than 404 for the copy that is gone.
const lateRequests = 2 * time.Second

// cleanupTimeout bounds undoing a failed move.
const cleanupTimeout = 30 * time.Second

// liveNode returns the live node id.
func (m *Mover) liveNode(ctx context.Context, id string) (cluster.Node, error) {
	nodes, err := m.Control.LiveNodes(ctx)
	if err != nil {
		return cluster.Node{}, err
	}
	for _, n := range nodes {
		if n.ID == id {
			return n, nil
		}
	}
	return cluster.Node{}, fmt.Errorf("move to %s: %w", id, cluster.ErrMoveTarget)
}

// Report is what a drain did: the moves made and the tenants that failed
// to move, which stay at home on the drained node.
type Report struct {
	Node   string    `json:"node"`
	Moves  []Result  `json:"moves"`
	Failed []Failure `json:"failed"`
}

// Failure is a tenant a drain did not move, and why.
type Failure struct {
	TenantID string `json:"tenant_id"`
	Error    string `json:"error"`
}

// Drain marks node as draining, so it gets no new tenant, and moves each
// of its tenants to the live node taking tenants that has the fewest. It
// goes on past a failed move; it fails only when it cannot go on.
func (m *Mover) Drain(ctx context.Context, node string) (Report, error) {
	rep := Report{Node: node, Moves: []Result{}, Failed: []Failure{}}
	if err := m.Control.SetDraining(ctx, node, true); err != nil {
		return rep, err
	}
	tenants, err := m.Control.TenantsOn(ctx, node)
	if err != nil {
		return rep, err
	}
	for _, id := range tenants {
		to, err := m.leastLoaded(ctx, node)
		if err != nil {
			return rep, err
		}
		res, err := m.Move(ctx, id, to)
		if err != nil {
			rep.Failed = append(rep.Failed, Failure{TenantID: id, Error: err.Error()})
			continue
		}
		rep.Moves = append(rep.Moves, res)
	}
	return rep, nil
}

// leastLoaded returns the live node taking tenants, other than but, that
// is the home of the fewest tenants.
func (m *Mover) leastLoaded(ctx context.Context, but string) (string, error) {
	nodes, err := m.Control.LiveNodes(ctx)
	if err != nil {
		return "", err
	}
	best, fewest := "", 0
	for _, n := range nodes {
		if n.ID == but || n.Draining {
			continue
		}
		ids, err := m.Control.TenantsOn(ctx, n.ID)
		if err != nil {
			return "", err
		}
		if best == "" || len(ids) < fewest {
			best, fewest = n.ID, len(ids)
		}
	}
	if best == "" {
		return "", fmt.Errorf("drain %s: %w", but, cluster.ErrNoLiveNode)
	}
	return best, nil
}

func (m *Mover) logger() *slog.Logger {
	if m.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return m.Logger
}
