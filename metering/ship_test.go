package metering

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contextlite/cloud/contextengine"
	"github.com/contextlite/cloud/tenancy"
)

// flakySink is a real control plane that fails while down is set.
type flakySink struct {
	tenancy.Store
	down atomic.Bool
}

var errDown = errors.New("control plane unreachable")

func (f *flakySink) AddUsage(ctx context.Context, evs []tenancy.UsageEvent) (int, error) {
	if f.down.Load() {
		return 0, errDown
	}
	return f.Store.AddUsage(ctx, evs)
}

func (f *flakySink) UsageTotals(ctx context.Context, id string, from, to time.Time) (map[string]int64, error) {
	if f.down.Load() {
		return nil, errDown
	}
	return f.Store.UsageTotals(ctx, id, from, to)
}

// shipFixture is an engine with one tenant, a SQLite control plane and a
// Shipper and Meter over them, wired as the app wires them.
type shipFixture struct {
	engine  *contextengine.Manager
	sink    *flakySink
	shipper *Shipper
	meter   *Meter
	tenant  string
}

func newShipFixture(t *testing.T) *shipFixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	store, err := tenancy.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	f := &shipFixture{sink: &flakySink{Store: store}}
	svc := &tenancy.Service{Store: store, Hasher: tenancy.Hasher{}, Tiers: tenancy.DefaultTiers(), Now: time.Now}
	f.engine, err = contextengine.NewManager(contextengine.Options{DataDir: dir, OnUsage: func(id string, evs []contextengine.UsageEvent, tot contextengine.Totals) {
		f.shipper.Mark(id)
		f.meter.Observe(id, evs, tot)
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.engine.Close() })
	svc.Storage = f.engine
	res, err := svc.Signup(ctx, "ops@ship.test", "Ship")
	if err != nil {
		t.Fatal(err)
	}
	f.tenant = res.Tenant.ID
	f.shipper = NewShipper(f.engine, f.sink, nil)
	f.meter = New(Options{Source: f.shipper})
	return f
}

// use records n queries of 10 tokens and one document.
func (f *shipFixture) use(t *testing.T, n int) {
	t.Helper()
	ctx := context.Background()
	tn, err := f.engine.Open(ctx, f.tenant)
	if err != nil {
		t.Fatal(err)
	}
	defer tn.Close()
	for range n {
		if _, err := tn.RecordQuery(ctx, "", 10); err != nil {
			t.Fatal(err)
		}
	}
	// A new path of 20 bytes: each document stores 32 bytes.
	path := fmt.Sprintf("%020d", time.Now().UnixNano())
	if _, err := tn.Add(ctx, contextengine.NewDocument{Path: path, Content: "package ship"}); err != nil {
		t.Fatal(err)
	}
}

func (f *shipFixture) shipped(t *testing.T) map[string]int64 {
	t.Helper()
	got, err := f.sink.Store.UsageTotals(context.Background(), f.tenant, time.Now().AddDate(0, -2, 0), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestShipperSurvivesOutagesWithoutLossOrDoubles(t *testing.T) {
	f := newShipFixture(t)
	ctx := context.Background()
	f.use(t, 3)
	f.sink.down.Store(true)
	if err := f.shipper.Flush(ctx); !errors.Is(err, errDown) {
		t.Fatalf("flush while down = %v", err)
	}
	f.use(t, 2)
	if f.shipper.Backlog() != 1 || len(f.shipped(t)) != 0 {
		t.Fatalf("while down: backlog %d, shipped %v", f.shipper.Backlog(), f.shipped(t))
	}
	f.sink.down.Store(false)
	if err := f.shipper.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"queries": 5, "tokens": 50, "documents_added": 2, "storage_bytes": 64}
	if got := f.shipped(t); !maps.Equal(got, want) {
		t.Fatalf("shipped = %v, want %v", got, want)
	}

	// A crash after the control plane stored a batch but before the
	// outbox marked it: the batch is sent again and ignored.
	f.use(t, 1)
	tn, err := f.engine.Open(ctx, f.tenant)
	if err != nil {
		t.Fatal(err)
	}
	defer tn.Close()
	evs, err := tn.Unshipped(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	batch := make([]tenancy.UsageEvent, len(evs))
	for i, ev := range evs {
		batch[i] = tenancy.UsageEvent{TenantID: f.tenant, Meter: ev.Meter, Quantity: ev.Quantity, IdempotencyKey: f.tenant + "/" + ev.ID, OccurredAt: ev.At}
	}
	if _, err := f.sink.AddUsage(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if err := f.shipper.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	want = map[string]int64{"queries": 6, "tokens": 60, "documents_added": 3, "storage_bytes": 96}
	if got := f.shipped(t); !maps.Equal(got, want) {
		t.Fatalf("after a resend: shipped = %v, want %v", got, want)
	}
}

func TestMeterSeedsFromControlPlaneAndOutbox(t *testing.T) {
	f := newShipFixture(t)
	ctx := context.Background()
	f.use(t, 4)
	if err := f.shipper.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	f.use(t, 3) // unshipped
	q := Quota{Tier: "free", Queries: 100}
	r, err := f.meter.Report(ctx, f.tenant, time.Time{}, q, contextengine.Totals{})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Meters.Queries.Used; got != 7 {
		t.Fatalf("seeded queries = %d, want 4 shipped + 3 in the outbox", got)
	}
	// Counted from here on in memory.
	f.use(t, 2)
	r, _ = f.meter.Report(ctx, f.tenant, time.Time{}, q, contextengine.Totals{})
	if got := r.Meters.Queries.Used; got != 9 {
		t.Fatalf("queries = %d, want 9", got)
	}

	// A fresh meter while the control plane is down counts from the
	// outbox alone, which keeps shipped events.
	f.sink.down.Store(true)
	m2 := New(Options{Source: f.shipper})
	r, err = m2.Report(ctx, f.tenant, time.Time{}, q, contextengine.Totals{})
	if err != nil || r.Meters.Queries.Used != 9 {
		t.Fatalf("seeded during an outage: %v, %v; want 9", r.Meters.Queries, err)
	}
}
