package console

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/contextlite/cloud/metering"
	"github.com/contextlite/cloud/tenancy"
)

// TestDailyCharts checks the bars of a period that starts mid-day: one
// per UTC day up to today, the first counting from the period's start.
func TestDailyCharts(t *testing.T) {
	ctx := context.Background()
	store, err := tenancy.Open(ctx, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	svc := &tenancy.Service{Store: store, Storage: noStorage{}, Tiers: tenancy.DefaultTiers(), Now: time.Now}
	res, err := svc.Signup(ctx, "ops@acme.test", "Acme")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		ts, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	id := res.Tenant.ID
	var events []tenancy.UsageEvent
	for i, e := range []struct {
		meter string
		n     int64
		at    string
	}{
		{metering.Queries, 7, "2026-11-20T09:00:00Z"}, // the previous period
		{metering.Queries, 2, "2026-11-20T16:00:00Z"},
		{metering.Tokens, 50, "2026-11-20T16:00:00Z"},
		{metering.Queries, 3, "2026-11-21T00:30:00Z"},
		{metering.Queries, 4, "2026-11-22T09:00:00Z"},
	} {
		events = append(events, tenancy.UsageEvent{TenantID: id, Meter: e.meter, Quantity: e.n,
			IdempotencyKey: string(rune('a' + i)), OccurredAt: at(e.at)})
	}
	if _, err := store.AddUsage(ctx, events); err != nil {
		t.Fatal(err)
	}
	c := &Console{cfg: Config{Store: store, Now: func() time.Time { return at("2026-11-22T10:00:00Z") }}}
	p := metering.Period{Start: at("2026-11-20T15:00:00Z"), End: at("2026-12-20T15:00:00Z")}
	queries, tokens, err := c.daily(ctx, id, p)
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, b := range queries.Bars {
		labels = append(labels, b.Label)
	}
	if got := strings.Join(labels, "; "); got != "Nov 20: 2; Nov 21: 3; Nov 22: 4" {
		t.Errorf("query bars %s", got)
	}
	if tokens.Total != "50" || len(tokens.Bars) != 3 {
		t.Errorf("tokens: total %s in %d bars, want 50 in 3", tokens.Total, len(tokens.Bars))
	}
}
