package cluster

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestLeasesHeld(t *testing.T) {
	ps := pools(t, 2)
	leases := make([]*Leases, len(ps))
	cancels := make([]context.CancelFunc, len(ps))
	var wg sync.WaitGroup
	defer wg.Wait()
	for i, p := range ps {
		ctx, cancel := context.WithCancel(context.Background())
		cancels[i] = cancel
		defer cancel()
		l, err := NewLeases(ctx, p, nil)
		if err != nil {
			t.Fatal(err)
		}
		l.AcquireEvery, l.CheckEvery = 100*time.Millisecond, 100*time.Millisecond
		leases[i] = l
		if held := l.Held(); held == nil || len(held) != 0 {
			t.Fatalf("Held() before Run = %#v, want an empty list", held)
		}
		wait := func(ctx context.Context) { <-ctx.Done() }
		for _, name := range []string{"notices", "billing"} {
			wg.Go(func() { l.Run(ctx, name, wait) })
			if i == 0 {
				// The first node takes both before the second starts.
				waitFor(t, "node 0 holding "+name, func() bool { return slices.Contains(l.Held(), name) })
			}
		}
	}
	time.Sleep(300 * time.Millisecond) // three acquire rounds of node 1
	if got, other := leases[0].Held(), leases[1].Held(); !slices.Equal(got, []string{"billing", "notices"}) || len(other) != 0 {
		t.Fatalf("node 0 holds %v and node 1 %v; want [billing notices] and none", got, other)
	}
	cancels[0]()
	waitFor(t, "node 1 holding both", func() bool { return slices.Equal(leases[1].Held(), []string{"billing", "notices"}) })
	if got := leases[0].Held(); len(got) != 0 {
		t.Errorf("node 0 still holds %v after stopping", got)
	}
}
