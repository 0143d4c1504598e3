package retention

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/contextlite/cloud/contextengine"
	"github.com/contextlite/cloud/tenancy"
)

func TestRetentionPass(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, err := tenancy.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	engine, err := contextengine.NewManager(contextengine.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	now := time.Now().UTC()
	for _, tn := range []tenancy.Tenant{
		{ID: "t-free", Slug: "free", Tier: "free", Status: tenancy.StatusActive},
		{ID: "t-ent", Slug: "ent", Tier: "enterprise", Status: tenancy.StatusActive},
		{ID: "t-gone", Slug: "gone", Tier: "free", Status: tenancy.StatusActive},
	} {
		if err := store.CreateTenant(ctx, tn); err != nil {
			t.Fatal(err)
		}
		if err := engine.Create(ctx, tn.ID); err != nil {
			t.Fatal(err)
		}
		var events []tenancy.UsageEvent
		for i, age := range []int{40, 35, 2} {
			events = append(events, tenancy.UsageEvent{TenantID: tn.ID, Meter: "queries", Quantity: 1,
				IdempotencyKey: fmt.Sprintf("%s/%d", tn.ID, i), OccurredAt: now.AddDate(0, 0, -age)})
		}
		if _, err := store.AddUsage(ctx, events); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.SetStatus(ctx, "t-gone", tenancy.StatusDeleted); err != nil {
		t.Fatal(err)
	}
	job := &Job{Store: store, Files: engine, Tiers: tenancy.DefaultTiers(), Now: func() time.Time { return now }}

	res, err := job.Once(ctx)
	if err != nil || res.Rows != 2 || res.Purged != 0 {
		t.Fatalf("first pass = %+v, %v; want the free tenant's 2 old events, nothing purged", res, err)
	}
	year := now.AddDate(-1, 0, 0)
	for id, want := range map[string]int64{"t-free": 1, "t-ent": 3} {
		if got, _ := store.UsageTotals(ctx, id, year, now.Add(time.Hour)); got["queries"] != want {
			t.Errorf("%s keeps %d events, want %d", id, got["queries"], want)
		}
	}
	if !engine.Exists("t-gone") {
		t.Fatal("a tenant deleted just now was purged")
	}

	later := func() time.Time { return now.Add(tenancy.DeletionGrace + time.Hour) }
	// A cluster runs the rows' part once and the files' part on every node.
	rows := &Job{Store: store, Files: engine, Tiers: tenancy.DefaultTiers(), Now: later, Work: PruneRows}
	if res, err := rows.Once(ctx); err != nil || res.Purged != 0 || !engine.Exists("t-gone") {
		t.Fatalf("pruning rows only: %+v, %v; t-gone exists %t", res, err, engine.Exists("t-gone"))
	}
	files := &Job{Store: store, Files: engine, Tiers: tenancy.DefaultTiers(), Now: later, Work: PurgeFiles}
	res, err = files.Once(ctx)
	if err != nil || res.Rows != 0 || res.Purged != 1 || engine.Exists("t-gone") || !engine.Exists("t-free") {
		t.Fatalf("purging files only, after the grace period: %+v, %v; t-gone exists %t", res, err, engine.Exists("t-gone"))
	}
	job.Now = later
	if res, err = job.Once(ctx); err != nil || res.Purged != 0 {
		t.Fatalf("a second purge: %+v, %v", res, err)
	}
}
