package cluster

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
)

// nodesUp registers nodes a, b and c and places t1 on a and t2 on b.
func nodesUp(t *testing.T, c *Coordinator) {
	t.Helper()
	ctx := context.Background()
	for _, id := range []string{"a", "b", "c"} {
		if err := c.Register(ctx, Node{ID: id, Advertise: "https://" + id + ":8443"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []struct{ tenant, want string }{{"t1", "a"}, {"t2", "b"}} { // in this order
		if h, err := c.HomeOf(ctx, p.tenant); err != nil || h.Node.ID != p.want {
			t.Fatalf("%s placed on %+v (%v), want %s", p.tenant, h.Node, err, p.want)
		}
	}
}

func TestMoveLifecycle(t *testing.T) {
	ctx := context.Background()
	c := controlPlane(t, "t1", "t2", "t3")
	if err := c.Register(ctx, Node{ID: "a", Advertise: "https://a:8443"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.HomeOf(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	if err := c.Register(ctx, Node{ID: "b", Advertise: "https://b:8443"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Register(ctx, Node{ID: "c", Advertise: "https://c:8443"}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetDraining(ctx, "c", true); err != nil {
		t.Fatal(err)
	}
	if _, err := c.pool.Exec(ctx, "INSERT INTO cluster_nodes (id, advertise, started_at, heartbeat_at) VALUES ('gone', 'x', now(), now() - interval '1 minute')"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		tenant, to string
		want       error
	}{
		{"t1", "a", ErrAlreadyHome},
		{"t1", "c", ErrMoveTarget},      // draining
		{"t1", "gone", ErrMoveTarget},   // silent
		{"t1", "nobody", ErrMoveTarget}, // unknown
		{"t3", "b", ErrNoHome},
	} {
		if _, err := c.BeginMove(ctx, tc.tenant, tc.to); !errors.Is(err, tc.want) {
			t.Errorf("BeginMove(%s, %s) = %v, want %v", tc.tenant, tc.to, err, tc.want)
		}
	}

	m, err := c.BeginMove(ctx, "t1", "b")
	if err != nil {
		t.Fatal(err)
	}
	if m.From != "a" || m.To != "b" || m.Epoch != 1 || m.StartedAt.IsZero() {
		t.Fatalf("move %+v, want a to b at epoch 1", m)
	}
	if _, err := c.BeginMove(ctx, "t1", "b"); !errors.Is(err, ErrMoveInProgress) {
		t.Errorf("a second BeginMove = %v, want ErrMoveInProgress", err)
	}
	if h, _ := c.HomeOf(ctx, "t1"); h.Node.ID != "a" || h.Epoch != 1 {
		t.Errorf("during the move t1 is at %s, epoch %d; want a, 1", h.Node.ID, h.Epoch)
	}
	if err := c.CompleteMove(ctx, m); err != nil {
		t.Fatal(err)
	}
	if h, _ := c.HomeOf(ctx, "t1"); h.Node.ID != "b" || h.Epoch != 2 || h.Node.Advertise != "https://b:8443" {
		t.Errorf("after the move t1 is at %+v, epoch %d; want b, 2", h.Node, h.Epoch)
	}
	if err := c.CompleteMove(ctx, m); !errors.Is(err, ErrMoveStale) {
		t.Errorf("completing the move again = %v, want ErrMoveStale", err)
	}

	// An aborted move leaves the home, and another may begin.
	back, err := c.BeginMove(ctx, "t1", "a")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AbortMove(ctx, back); err != nil {
		t.Fatal(err)
	}
	if err := c.AbortMove(ctx, back); !errors.Is(err, ErrMoveStale) {
		t.Errorf("aborting twice = %v, want ErrMoveStale", err)
	}
	if err := c.CompleteMove(ctx, back); !errors.Is(err, ErrMoveStale) {
		t.Errorf("completing an aborted move = %v, want ErrMoveStale", err)
	}
	if h, _ := c.HomeOf(ctx, "t1"); h.Node.ID != "b" || h.Epoch != 2 {
		t.Errorf("after the abort t1 is at %s, epoch %d; want b, 2", h.Node.ID, h.Epoch)
	}
	again, err := c.BeginMove(ctx, "t1", "a")
	if err != nil {
		t.Fatalf("BeginMove after an abort: %v", err)
	}
	// The aborted move, though at the same epoch and to the same node,
	// does not complete the new one.
	if err := c.CompleteMove(ctx, back); !errors.Is(err, ErrMoveStale) {
		t.Errorf("completing the aborted move during a new one = %v, want ErrMoveStale", err)
	}
	if err := c.CompleteMove(ctx, again); err != nil {
		t.Fatal(err)
	}
	if h, _ := c.HomeOf(ctx, "t1"); h.Node.ID != "a" || h.Epoch != 3 {
		t.Errorf("t1 moved back to %s, epoch %d; want a, 3", h.Node.ID, h.Epoch)
	}
}

func TestCompleteMoveRefusesStaleEpoch(t *testing.T) {
	ctx := context.Background()
	c := controlPlane(t, "t1", "t2")
	nodesUp(t, c)
	m, err := c.BeginMove(ctx, "t1", "c")
	if err != nil {
		t.Fatal(err)
	}
	// The home changes under the move, as a repair by hand would.
	if _, err := c.pool.Exec(ctx, "UPDATE tenant_homes SET epoch = epoch + 1 WHERE tenant_id = 't1'"); err != nil {
		t.Fatal(err)
	}
	if err := c.CompleteMove(ctx, m); !errors.Is(err, ErrMoveStale) {
		t.Fatalf("CompleteMove at a stale epoch = %v, want ErrMoveStale", err)
	}
	if h, _ := c.HomeOf(ctx, "t1"); h.Node.ID != "a" || h.Epoch != 2 {
		t.Errorf("t1 at %s, epoch %d; want a, 2: a stale move changes nothing", h.Node.ID, h.Epoch)
	}
}

func TestBeginMoveOnce(t *testing.T) {
	ctx := context.Background()
	c := controlPlane(t, "t1", "t2")
	nodesUp(t, c)
	const callers = 8
	var wg sync.WaitGroup
	start := make(chan struct{})
	moves := make(chan Move, callers)
	errs := make(chan error, callers)
	for i := range callers {
		to := []string{"b", "c"}[i%2]
		wg.Go(func() {
			<-start
			m, err := c.BeginMove(ctx, "t1", to)
			if err != nil {
				errs <- err
				return
			}
			moves <- m
		})
	}
	close(start)
	wg.Wait()
	close(moves)
	close(errs)
	if len(moves) != 1 {
		t.Fatalf("%d of %d concurrent BeginMove calls won, want 1", len(moves), callers)
	}
	for err := range errs {
		if !errors.Is(err, ErrMoveInProgress) {
			t.Errorf("a losing BeginMove: %v, want ErrMoveInProgress", err)
		}
	}
	if err := c.CompleteMove(ctx, <-moves); err != nil {
		t.Fatal(err)
	}
}

func TestDrainListsTenants(t *testing.T) {
	ctx := context.Background()
	c := controlPlane(t, "t1", "t2", "t3")
	nodesUp(t, c)
	if h, err := c.HomeOf(ctx, "t3"); err != nil || h.Node.ID != "c" {
		t.Fatalf("t3 placed on %+v (%v), want c", h.Node, err)
	}
	if err := c.SetDraining(ctx, "nobody", true); !errors.Is(err, ErrUnknownNode) {
		t.Errorf("draining an unknown node = %v, want ErrUnknownNode", err)
	}
	if err := c.SetDraining(ctx, "a", true); err != nil {
		t.Fatal(err)
	}
	m, err := c.BeginMove(ctx, "t1", "b")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CompleteMove(ctx, m); err != nil {
		t.Fatal(err)
	}
	if _, err := c.BeginMove(ctx, "t2", "a"); !errors.Is(err, ErrMoveTarget) {
		t.Errorf("a move to a draining node = %v, want ErrMoveTarget", err)
	}
	for node, want := range map[string][]string{"a": nil, "b": {"t1", "t2"}, "c": {"t3"}} {
		got, err := c.TenantsOn(ctx, node)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("tenants on %s: %v, want %v", node, got, want)
		}
	}
	if err := c.SetDraining(ctx, "a", false); err != nil {
		t.Fatal(err)
	}
	if _, err := c.BeginMove(ctx, "t2", "a"); err != nil {
		t.Errorf("a move to a node taking tenants again: %v", err)
	}
}
