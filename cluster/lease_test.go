package cluster

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// node is one test node's leases and the context its jobs run in.
type node struct {
	leases *Leases
	ctx    context.Context
	stop   context.CancelFunc
	wg     *sync.WaitGroup
}

// run runs job under the lease of name on n until n stops.
func (n node) run(name string, job func(context.Context)) {
	n.wg.Go(func() { n.leases.Run(n.ctx, name, job) })
}

// leaseNodes returns a node on each pool, with leases that check and
// retry every 100 ms; the nodes stop, and their jobs end, with the test.
func leaseNodes(t *testing.T, ps []*pgxpool.Pool) []node {
	t.Helper()
	wg := new(sync.WaitGroup)
	t.Cleanup(wg.Wait)
	nodes := make([]node, len(ps))
	for i, p := range ps {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		l, err := NewLeases(ctx, p, nil)
		if err != nil {
			t.Fatal(err)
		}
		l.AcquireEvery, l.CheckEvery = 100*time.Millisecond, 100*time.Millisecond
		nodes[i] = node{leases: l, ctx: ctx, stop: cancel, wg: wg}
	}
	return nodes
}

func TestLeasesHeld(t *testing.T) {
	nodes := leaseNodes(t, pools(t, 2))
	wait := func(ctx context.Context) { <-ctx.Done() }
	for i, n := range nodes {
		if held := n.leases.Held(); held == nil || len(held) != 0 {
			t.Fatalf("Held() before Run = %#v, want an empty list", held)
		}
		for _, name := range []string{"notices", "billing"} {
			n.run(name, wait)
			if i == 0 {
				// The first node takes both before the second starts.
				waitFor(t, "node 0 holding "+name, func() bool { return slices.Contains(n.leases.Held(), name) })
			}
		}
	}
	time.Sleep(300 * time.Millisecond) // three acquire rounds of node 1
	if got, other := nodes[0].leases.Held(), nodes[1].leases.Held(); !slices.Equal(got, []string{"billing", "notices"}) || len(other) != 0 {
		t.Fatalf("node 0 holds %v and node 1 %v; want [billing notices] and none", got, other)
	}
	nodes[0].stop()
	waitFor(t, "node 1 holding both", func() bool { return slices.Equal(nodes[1].leases.Held(), []string{"billing", "notices"}) })
	if got := nodes[0].leases.Held(); len(got) != 0 {
		t.Errorf("node 0 still holds %v after stopping", got)
	}
}
