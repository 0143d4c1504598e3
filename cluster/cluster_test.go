package cluster

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/contextlite/cloud/internal/pgtest"
)

// pools returns n pools on one fresh control-plane schema, as n nodes hold.
func pools(t *testing.T, n int) []*pgxpool.Pool {
	t.Helper()
	dsn := pgtest.DSN(t)
	out := make([]*pgxpool.Pool, n)
	for i := range out {
		p, err := pgxpool.New(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		out[i] = p
	}
	return out
}

// received collects the invalidations a listener gets.
type received struct {
	mu  sync.Mutex
	ids []string
	got chan string
}

func (r *received) forget(id string) {
	r.mu.Lock()
	r.ids = append(r.ids, id)
	r.mu.Unlock()
	r.got <- id
}

func TestBusReachesOtherNodes(t *testing.T) {
	ps := pools(t, 3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	buses := make([]*Bus, len(ps))
	listeners := make([]*received, len(ps))
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for i, p := range ps {
		b, err := NewBus(ctx, p, nil)
		if err != nil {
			t.Fatal(err)
		}
		buses[i], listeners[i] = b, &received{got: make(chan string, 16)}
		ready := make(chan struct{})
		wg.Go(func() { b.Listen(ctx, listeners[i].forget, func() { close(ready) }) })
		<-ready
		if id := <-listeners[i].got; id != "" {
			t.Fatalf("node %d: first call %q, want a forget-all", i, id)
		}
	}
	if err := buses[0].Forget(ctx, "tenant_a"); err != nil {
		t.Fatal(err)
	}
	for i, l := range listeners {
		select {
		case id := <-l.got:
			if id != "tenant_a" {
				t.Errorf("node %d forgot %q, want tenant_a", i, id)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("node %d: no invalidation", i)
		}
	}
}

func TestBusSeparatesControlPlanes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := NewBus(ctx, pools(t, 1)[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBus(ctx, pools(t, 1)[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	got := &received{got: make(chan string, 16)}
	ready := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() { b.Listen(ctx, got.forget, func() { close(ready) }) })
	<-ready
	<-got.got // the forget-all of listening
	if err := a.Forget(ctx, "tenant_a"); err != nil {
		t.Fatal(err)
	}
	if err := b.Forget(ctx, "tenant_b"); err != nil {
		t.Fatal(err)
	}
	if id := <-got.got; id != "tenant_b" {
		t.Errorf("control plane b heard %q, want only its own tenant_b", id)
	}
}

func TestBusListenerReconnects(t *testing.T) {
	ps := pools(t, 2)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sender, err := NewBus(ctx, ps[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	listener, err := NewBus(ctx, ps[1], nil)
	if err != nil {
		t.Fatal(err)
	}
	got := &received{got: make(chan string, 16)}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() { listener.Listen(ctx, got.forget, nil) })
	<-got.got
	// Another session ends the listener's, as a failover or a restart would.
	if _, err := ps[0].Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE pid <> pg_backend_pid() AND query LIKE 'LISTEN %' AND datname = current_database()
		AND query LIKE '%'||current_schema()||'%'`); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-got.got:
		if id != "" {
			t.Fatalf("after reconnecting: %q, want a forget-all", id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the listener did not reconnect")
	}
	if err := sender.Forget(ctx, "tenant_c"); err != nil {
		t.Fatal(err)
	}
	if id := <-got.got; id != "tenant_c" {
		t.Errorf("after reconnecting heard %q, want tenant_c", id)
	}
}

// jobRecord counts the runs of a job and how many ran at once.
type jobRecord struct {
	running, most, starts atomic.Int32
	holder                atomic.Int32 // the node running it, -1 for none
}

func (j *jobRecord) job(node int) func(context.Context) {
	return func(ctx context.Context) {
		j.starts.Add(1)
		j.holder.Store(int32(node))
		n := j.running.Add(1)
		for m := j.most.Load(); n > m && !j.most.CompareAndSwap(m, n); m = j.most.Load() {
		}
		<-ctx.Done()
		j.running.Add(-1)
	}
}

func TestLeaseRunsOnceAndMovesOn(t *testing.T) {
	ps := pools(t, 3)
	rec := &jobRecord{}
	rec.holder.Store(-1)
	nodes := leaseNodes(t, ps)
	for i, n := range nodes {
		n.run("notices", rec.job(i))
	}
	waitFor(t, "a first holder", func() bool { return rec.running.Load() == 1 })
	time.Sleep(500 * time.Millisecond) // five acquire rounds of the others
	if rec.starts.Load() != 1 || rec.most.Load() != 1 {
		t.Fatalf("%d starts, %d at once with three nodes up; want 1 and 1", rec.starts.Load(), rec.most.Load())
	}
	// The holder stops (a node shut down): another node takes over.
	first := rec.holder.Load()
	nodes[first].stop()
	waitFor(t, "a second holder", func() bool { return rec.starts.Load() == 2 && rec.running.Load() == 1 })
	second := rec.holder.Load()
	if second == first {
		t.Fatalf("node %d held the lease again after stopping", first)
	}
	// The second holder's connection dies (its node was killed): a third takes over.
	if _, err := ps[(second+1)%3].Exec(context.Background(), `SELECT pg_terminate_backend(pid) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()
		AND (classid::bigint << 32 | objid::bigint) = $1`, lockID(schemaName(t, ps[0]), "notices")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a third holding", func() bool { return rec.starts.Load() >= 3 && rec.running.Load() == 1 })
	if rec.most.Load() != 1 {
		t.Errorf("%d ran at once", rec.most.Load())
	}
}

func schemaName(t *testing.T, p *pgxpool.Pool) string {
	s, err := schemaOf(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 10 s", what)
		}
	}
}
