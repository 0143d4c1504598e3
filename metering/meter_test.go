package metering

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/contextlite/cloud/contextengine"
)

// fakeSource serves fixed period usage and counts its loads.
type fakeSource struct {
	mu    sync.Mutex
	sums  map[string]int64
	last  int64
	loads int
	err   error
	// during runs inside PeriodUsage, as a write committing mid-load would.
	during func()
}

func (f *fakeSource) PeriodUsage(_ context.Context, _ string, _ Period) (map[string]int64, int64, error) {
	f.mu.Lock()
	f.loads++
	sums, last, err, during := f.sums, f.last, f.err, f.during
	f.mu.Unlock()
	if during != nil {
		during()
	}
	out := make(map[string]int64)
	for k, v := range sums {
		out[k] = v
	}
	return out, last, err
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTestMeter(src Source, c *clock) (*Meter, *[]Notice) {
	var notices []Notice
	m := New(Options{Source: src, Now: c.now, OnNotice: func(n Notice) { notices = append(notices, n) }})
	return m, &notices
}

var freeQuota = Quota{Tier: "free", NextTier: "starter", Queries: 10, Documents: 5}

// query admits one query and records it as the engine would.
func query(t *testing.T, m *Meter, c *clock, seq *int64) error {
	t.Helper()
	adm, err := m.Admit(context.Background(), "acme", time.Time{}, freeQuota, true)
	if err != nil {
		return err
	}
	defer adm.Release()
	*seq++
	m.Observe("acme", []contextengine.UsageEvent{{Seq: *seq, Meter: Queries, Quantity: 1, At: c.t}}, contextengine.Totals{})
	return nil
}

func TestAdmitEnforcesTheQueryQuota(t *testing.T) {
	c := &clock{date("2026-11-29T10:00:00Z")}
	src := &fakeSource{sums: map[string]int64{Queries: 7}, last: 40}
	m, notices := newTestMeter(src, c)
	seq := int64(40)
	for i := 0; i < 3; i++ {
		if err := query(t, m, c, &seq); err != nil {
			t.Fatalf("query %d: %v", 8+i, err)
		}
	}
	err := query(t, m, c, &seq)
	var qe *QuotaError
	if !errors.As(err, &qe) || qe.Meter != Queries || qe.Limit != 10 || qe.NextTier != "starter" ||
		!qe.Reset.Equal(date("2026-12-01T00:00:00Z")) {
		t.Fatalf("11th query: %v (%+v)", err, qe)
	}
	adm, err := m.Admit(context.Background(), "acme", time.Time{}, freeQuota, false)
	if err != nil || adm.Remaining != 0 || adm.Limit != 10 {
		t.Fatalf("non-query admission at the limit = %+v, %v; want it through with 0 remaining", adm, err)
	}
	if src.loads != 1 {
		t.Errorf("source loaded %d times, want once", src.loads)
	}
	if len(*notices) != 2 || (*notices)[0].Threshold != 80 || (*notices)[1].Threshold != 100 {
		t.Errorf("notices = %+v, want 80 then 100 once each", *notices)
	}
	r, err := m.Report(context.Background(), "acme", time.Time{}, freeQuota, contextengine.Totals{Documents: 4})
	if err != nil {
		t.Fatal(err)
	}
	if q := r.Meters.Queries; q.Used != 10 || q.Limit-q.Used != 0 || r.Rejected.Quota != 1 || r.Upgrade != "starter" {
		t.Errorf("report = %+v, queries %+v", r, q)
	}
	if d := r.Meters.Documents; d.Used != 4 || d.Percent() != 80 {
		t.Errorf("documents = %+v", d)
	}
}

func TestOverageLetsPaidTiersRunPastTheLimit(t *testing.T) {
	c := &clock{date("2026-11-29T10:00:00Z")}
	m, _ := newTestMeter(&fakeSource{sums: map[string]int64{Queries: 100}}, c)
	q := Quota{Tier: "starter", Queries: 100, OveragePercent: 10}
	for i := 0; i < 10; i++ {
		adm, err := m.Admit(context.Background(), "acme", time.Time{}, q, true)
		if err != nil {
			t.Fatalf("overage query %d: %v", i, err)
		}
		// Admitted but never recorded (a failed call): the reservation
		// stays until Release.
		defer adm.Release()
	}
	if _, err := m.Admit(context.Background(), "acme", time.Time{}, q, true); err == nil {
		t.Fatal("query past 110% admitted")
	}
}

func TestReleaseFreesUnrecordedQueries(t *testing.T) {
	c := &clock{date("2026-11-29T10:00:00Z")}
	m, _ := newTestMeter(&fakeSource{sums: map[string]int64{Queries: 9}}, c)
	for i := 0; i < 5; i++ {
		adm, err := m.Admit(context.Background(), "acme", time.Time{}, freeQuota, true)
		if err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
		adm.Release()
	}
}

func TestANewPeriodReloadsAndResets(t *testing.T) {
	c := &clock{date("2026-11-30T23:59:00Z")}
	src := &fakeSource{sums: map[string]int64{Queries: 10}}
	m, notices := newTestMeter(src, c)
	seq := int64(0)
	if err := query(t, m, c, &seq); err == nil {
		t.Fatal("query past the quota admitted")
	}
	c.t = date("2026-12-01T00:00:01Z")
	src.sums = map[string]int64{}
	if err := query(t, m, c, &seq); err != nil {
		t.Fatalf("first query of December: %v", err)
	}
	if src.loads != 2 {
		t.Errorf("loads = %d, want 2", src.loads)
	}
	r, _ := m.Report(context.Background(), "acme", time.Time{}, freeQuota, contextengine.Totals{})
	if r.Meters.Queries.Used != 1 || !r.Period.Start.Equal(date("2026-12-01T00:00:00Z")) || r.Rejected != (Rejected{}) {
		t.Errorf("December report = %+v", r)
	}
	if len(*notices) != 0 {
		t.Errorf("notices = %+v; the seeded usage raises none by itself", *notices)
	}
}

func TestEventsCommittedDuringALoadAreCountedOnce(t *testing.T) {
	c := &clock{date("2026-11-29T10:00:00Z")}
	src := &fakeSource{sums: map[string]int64{Queries: 3}, last: 3}
	m, _ := newTestMeter(src, c)
	at := c.t
	src.during = func() {
		// Seq 3 is in the source's sums already; 4 committed after it read.
		m.Observe("acme", []contextengine.UsageEvent{
			{Seq: 3, Meter: Queries, Quantity: 1, At: at},
			{Seq: 4, Meter: Queries, Quantity: 1, At: at},
		}, contextengine.Totals{})
	}
	if _, err := m.Admit(context.Background(), "acme", time.Time{}, freeQuota, false); err != nil {
		t.Fatal(err)
	}
	r, _ := m.Report(context.Background(), "acme", time.Time{}, freeQuota, contextengine.Totals{})
	if got := r.Meters.Queries.Used; got != 4 {
		t.Errorf("queries = %d, want 4", got)
	}
}

func TestLoadFailureIsReturnedAndRetried(t *testing.T) {
	c := &clock{date("2026-11-29T10:00:00Z")}
	src := &fakeSource{err: errors.New("disk on fire")}
	m, _ := newTestMeter(src, c)
	if _, err := m.Admit(context.Background(), "acme", time.Time{}, freeQuota, true); err == nil {
		t.Fatal("admitted without usage")
	}
	src.err = nil
	if _, err := m.Admit(context.Background(), "acme", time.Time{}, freeQuota, true); err != nil {
		t.Fatalf("after the source recovered: %v", err)
	}
}

// BenchmarkAdmit measures the per-request quota check and meter update:
// admit a query, count its recorded event, release the reservation.
func BenchmarkAdmit(b *testing.B) {
	m := New(Options{Source: &fakeSource{}})
	ctx := context.Background()
	q := Quota{Tier: "pro", Queries: 1 << 40}
	at := time.Now()
	var seq int64
	b.ReportAllocs()
	for b.Loop() {
		adm, err := m.Admit(ctx, "acme", time.Time{}, q, true)
		if err != nil {
			b.Fatal(err)
		}
		seq++
		m.Observe("acme", []contextengine.UsageEvent{{Seq: seq, Meter: Queries, Quantity: 1, At: at}}, contextengine.Totals{})
		adm.Release()
	}
}

func TestReportJSON(t *testing.T) {
	end := date("2026-12-01T00:00:00Z")
	r := Report{
		Tier:   "free",
		Period: Period{date("2026-11-01T00:00:00Z"), end},
		Meters: Meters{
			Queries:      MeterUsage{Used: 800, Limit: 1000, Reset: end},
			Tokens:       MeterUsage{Used: 12345, Reset: end},
			Documents:    MeterUsage{Used: 3, Limit: 1000},
			Workspaces:   MeterUsage{Used: 1, Limit: 1},
			StorageBytes: MeterUsage{Used: 2048},
		},
		Rejected: Rejected{Quota: 2, RateLimit: 1},
		Upgrade:  "starter",
	}
	got, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"tier":"free","period":{"start":"2026-11-01T00:00:00Z","end":"2026-12-01T00:00:00Z"},"meters":{` +
		`"queries":{"used":800,"limit":1000,"remaining":200,"percent":80,"reset":"2026-12-01T00:00:00Z"},` +
		`"tokens":{"used":12345,"limit":null,"reset":"2026-12-01T00:00:00Z"},` +
		`"documents":{"used":3,"limit":1000,"remaining":997,"percent":0.3},` +
		`"workspaces":{"used":1,"limit":1,"remaining":0,"percent":100},` +
		`"storage_bytes":{"used":2048,"limit":null}},` +
		`"rejected":{"quota":2,"rate_limit":1},"upgrade_to":"starter"}`
	if string(got) != want {
		t.Errorf("JSON:\n got %s\nwant %s", got, want)
	}
}

func TestANewBillingAnchorStartsItsPeriod(t *testing.T) {
	c := &clock{date("2026-11-29T10:00:00Z")}
	src := &fakeSource{sums: map[string]int64{Queries: 9}}
	m, _ := newTestMeter(src, c)
	if _, err := m.Admit(context.Background(), "acme", time.Time{}, freeQuota, false); err != nil {
		t.Fatal(err)
	}
	// Stripe anchors the tenant's periods on the 20th: its period is now
	// Nov 20 to Dec 20, loaded afresh.
	src.sums = map[string]int64{Queries: 2}
	anchor := date("2026-10-20T00:00:00Z")
	r, err := m.Report(context.Background(), "acme", anchor, freeQuota, contextengine.Totals{})
	if err != nil {
		t.Fatal(err)
	}
	if src.loads != 2 || r.Meters.Queries.Used != 2 || !r.Period.Start.Equal(date("2026-11-20T00:00:00Z")) {
		t.Fatalf("after the anchor: %d loads, report %+v", src.loads, r)
	}
}
