package billing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	_ "modernc.org/sqlite" // the control plane's SQLite driver, to set receipt times

	"github.com/contextlite/cloud/internal/stripefake"
	"github.com/contextlite/cloud/tenancy"
)

// The tests run on the real SQLite control plane and the fake Stripe API,
// with Billing's clock injected.
//
// UsageReceived sums usage_events by created_at, which AddUsage sets from
// the wall clock. To put events in hours of the test's choosing, receive
// stores an event with AddUsage and then sets its created_at in the
// SQLite file directly (unix nanoseconds, as the tenancy package stores
// times). Every hour is then fixed, whatever the wall clock does while
// the test runs. The hours are those of the day before yesterday (UTC),
// so that they are recent for the fake, which checks meter-event
// timestamps against the real time like Stripe.

// reportClock is a settable clock.
type reportClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *reportClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *reportClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// reportFixture is a Billing over a SQLite control plane and a fake Stripe.
type reportFixture struct {
	ctx   context.Context
	store tenancy.Store
	raw   *sql.DB // the control plane's SQLite file
	fake  *stripefake.Server
	b     *Billing
	clock *reportClock
	day   time.Time // 00:00 UTC of the day the test's hours are in
	seq   int
}

// newReportFixture returns a fixture whose Stripe client gives up after
// 2 s and does not retry; the clock is at 12:10 of the fixture's day.
func newReportFixture(t *testing.T) *reportFixture {
	t.Helper()
	return newReportFixtureRetrying(t, -1)
}

// newReportFixtureRetrying is newReportFixture with stripe-go retrying a
// failed call retries times (-1: none).
func newReportFixtureRetrying(t *testing.T, retries int64) *reportFixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	store, err := tenancy.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	raw, err := sql.Open("sqlite", filepath.Join(dir, "control.db")+"?mode=rw&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	fake := stripefake.New(t)
	b, err := New(Config{
		SecretKey:         "sk_test_x",
		APIURL:            fake.URL,
		MeterEvents:       map[string]string{"queries": "contextlite_queries", "tokens": "contextlite_tokens"},
		Timeout:           2 * time.Second,
		MaxNetworkRetries: retries,
	}, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &reportFixture{ctx: ctx, store: store, raw: raw, fake: fake, b: b, clock: &reportClock{},
		day: time.Now().UTC().Truncate(24 * time.Hour).Add(-48 * time.Hour)}
	f.clock.Set(f.at(12, 10))
	b.now = f.clock.Now
	return f
}

// at returns hh:mm of the fixture's day.
func (f *reportFixture) at(hh, mm int) time.Time {
	return f.day.Add(time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute)
}

// tenant creates a tenant created at created and, if withCustomer, gives
// it a Stripe customer at the fake.
func (f *reportFixture) tenant(t *testing.T, slug string, created time.Time, withCustomer bool) tenancy.Tenant {
	t.Helper()
	tn := tenancy.Tenant{ID: tenancy.NewTenantID(), Slug: slug, Name: slug + " Inc", Email: slug + "@example.com",
		Tier: "free", Status: tenancy.StatusActive, CreatedAt: created, UpdatedAt: created}
	if err := f.store.CreateTenant(f.ctx, tn); err != nil {
		t.Fatal(err)
	}
	if withCustomer {
		return f.giveCustomer(t, tn)
	}
	return tn
}

// giveCustomer creates the tenant's Stripe customer.
func (f *reportFixture) giveCustomer(t *testing.T, tn tenancy.Tenant) tenancy.Tenant {
	t.Helper()
	id, err := f.b.EnsureCustomer(f.ctx, tn)
	if err != nil {
		t.Fatal(err)
	}
	tn.StripeCustomerID = id
	return tn
}

// receive stores a usage event of the tenant's meter as received by the
// control plane at receivedAt (having occurred at occurredAt).
func (f *reportFixture) receive(t *testing.T, tenantID, meter string, quantity int64, occurredAt, receivedAt time.Time) {
	t.Helper()
	f.seq++
	key := "report-test-" + strconv.Itoa(f.seq)
	ev := tenancy.UsageEvent{TenantID: tenantID, Meter: meter, Quantity: quantity, IdempotencyKey: key, OccurredAt: occurredAt}
	if n, err := f.store.AddUsage(f.ctx, []tenancy.UsageEvent{ev}); err != nil || n != 1 {
		t.Fatalf("add usage: %d, %v", n, err)
	}
	res, err := f.raw.ExecContext(f.ctx, "UPDATE usage_events SET created_at = ? WHERE idempotency_key = ?", receivedAt.UnixNano(), key)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("set receipt time of %s: %d rows", key, n)
	}
}

// use is receive of an event received when it occurred.
func (f *reportFixture) use(t *testing.T, tenantID, meter string, quantity int64, at time.Time) {
	t.Helper()
	f.receive(t, tenantID, meter, quantity, at, at)
}

// report runs ReportUsage at now and fails the test on an error.
func (f *reportFixture) report(t *testing.T, now time.Time) {
	t.Helper()
	f.clock.Set(now)
	if err := f.b.ReportUsage(f.ctx); err != nil {
		t.Fatalf("ReportUsage at %s: %v", now.Format(time.TimeOnly), err)
	}
}

// events returns the meter events the fake recorded by identifier,
// failing the test if an identifier was recorded twice.
func (f *reportFixture) events(t *testing.T) map[string]stripefake.MeterEvent {
	t.Helper()
	byID := make(map[string]stripefake.MeterEvent)
	for _, e := range f.fake.MeterEvents() {
		if _, dup := byID[e.Identifier]; dup {
			t.Errorf("meter event %s recorded twice", e.Identifier)
		}
		byID[e.Identifier] = e
	}
	return byID
}

// row returns the ledger row with identifier id.
func (f *reportFixture) row(t *testing.T, id string) tenancy.UsageReport {
	t.Helper()
	r := tenancy.UsageReport{Identifier: id}
	var hour int64
	err := f.raw.QueryRowContext(f.ctx, "SELECT tenant_id, meter, hour_start, value, status, attempts, last_error FROM usage_reports WHERE identifier = ?", id).
		Scan(&r.TenantID, &r.Meter, &hour, &r.Value, &r.Status, &r.Attempts, &r.LastError)
	if err != nil {
		t.Fatalf("ledger row %s: %v", id, err)
	}
	r.HourStart = time.Unix(0, hour).UTC()
	return r
}

// pending returns the identifiers of the pending ledger rows, oldest first.
func (f *reportFixture) pending(t *testing.T) []string {
	t.Helper()
	rows, err := f.store.PendingUsageReports(f.ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.Identifier
	}
	return ids
}

// wantEvents checks that the fake recorded exactly want, by identifier.
func (f *reportFixture) wantEvents(t *testing.T, want ...stripefake.MeterEvent) {
	t.Helper()
	got := f.events(t)
	for _, w := range want {
		g, ok := got[w.Identifier]
		switch {
		case !ok:
			t.Errorf("no meter event %s", w.Identifier)
		case g != w:
			t.Errorf("meter event %s:\n got %+v\nwant %+v", w.Identifier, g, w)
		}
		delete(got, w.Identifier)
	}
	for id, g := range got {
		t.Errorf("unexpected meter event %s: %+v", id, g)
	}
}

// event is the meter event expected for a tenant's meter and hour.
func event(tn tenancy.Tenant, meter string, hour time.Time, value int64) stripefake.MeterEvent {
	return stripefake.MeterEvent{
		EventName:  "contextlite_" + meter,
		Identifier: fmt.Sprintf("%s:%s:%d", tn.ID, meter, hour.Unix()),
		Customer:   tn.StripeCustomerID,
		Value:      value,
		Timestamp:  hour.Unix(),
	}
}

func TestReportUsageSendsHourlyRollups(t *testing.T) {
	f := newReportFixture(t)
	a := f.tenant(t, "alpha", f.at(9, 30), true)
	b := f.tenant(t, "bravo", f.at(9, 45), true)
	f.use(t, a.ID, "queries", 3, f.at(10, 5))
	f.use(t, a.ID, "queries", 4, f.at(10, 59))
	f.use(t, a.ID, "queries", 5, f.at(11, 0))
	f.use(t, a.ID, "tokens", 100, f.at(10, 30))
	f.use(t, a.ID, "documents_added", 2, f.at(10, 30)) // not a Stripe meter
	f.use(t, b.ID, "queries", 7, f.at(11, 59))
	f.use(t, a.ID, "queries", 1, f.at(12, 1)) // the current hour: not yet

	// Five minutes after 11:00 ends, the hour is not rolled up yet: late
	// commits of batches received before 12:00 may still come in.
	f.report(t, f.at(12, 3))
	f.wantEvents(t, event(a, "queries", f.at(10, 0), 7), event(a, "tokens", f.at(10, 0), 100))

	f.report(t, f.at(12, 10))
	f.wantEvents(t,
		event(a, "queries", f.at(10, 0), 7),
		event(a, "queries", f.at(11, 0), 5),
		event(a, "tokens", f.at(10, 0), 100),
		event(b, "queries", f.at(11, 0), 7),
	)
	if p := f.pending(t); len(p) != 0 {
		t.Errorf("pending after the pass: %v", p)
	}
	// The ledger is contiguous from the creation hour; empty hours are
	// recorded as sent without a call to Stripe.
	for _, tn := range []tenancy.Tenant{a, b} {
		for _, meter := range []string{"queries", "tokens"} {
			for h := 9; h <= 11; h++ {
				r := f.row(t, ReportIdentifier(tn.ID, meter, f.at(h, 0)))
				if r.Status != tenancy.ReportSent || !r.HourStart.Equal(f.at(h, 0)) || r.Meter != meter {
					t.Errorf("row %s: %+v", ReportIdentifier(tn.ID, meter, f.at(h, 0)), r)
				}
			}
			last, err := f.store.LastUsageReport(f.ctx, tn.ID, meter)
			if err != nil || !last.HourStart.Equal(f.at(11, 0)) {
				t.Errorf("last %s report of %s: %+v, %v", meter, tn.Slug, last, err)
			}
		}
	}
	for _, r := range f.fake.Requests() {
		if r.Path == "/v1/billing/meter_events" && r.IdempotencyKey != r.Params.Get("identifier") {
			t.Errorf("meter event %s sent with idempotency key %q", r.Params.Get("identifier"), r.IdempotencyKey)
		}
	}
}

func TestReportUsageIsIdempotentAndReportsLateEventsLater(t *testing.T) {
	f := newReportFixture(t)
	a := f.tenant(t, "alpha", f.at(9, 30), true)
	f.use(t, a.ID, "queries", 3, f.at(10, 5))
	f.use(t, a.ID, "queries", 5, f.at(11, 20))
	f.use(t, a.ID, "queries", 1, f.at(12, 1))
	f.report(t, f.at(12, 10))
	sent := len(f.fake.Requests())

	f.report(t, f.at(12, 10))
	f.report(t, f.at(12, 50))
	if n := len(f.fake.Requests()); n != sent {
		t.Errorf("passes with nothing new made %d more requests", n-sent)
	}

	// An event of 10:30 reaches the control plane at 12:20, after an
	// outage: it counts in the 12:00 hour, not in the one reported already.
	f.receive(t, a.ID, "queries", 2, f.at(10, 30), f.at(12, 20))
	f.report(t, f.at(13, 10))
	f.wantEvents(t,
		event(a, "queries", f.at(10, 0), 3),
		event(a, "queries", f.at(11, 0), 5),
		event(a, "queries", f.at(12, 0), 1+2),
	)
	var total int64
	for _, e := range f.fake.MeterEvents() {
		total += e.Value
	}
	if total != 3+5+1+2 {
		t.Errorf("reported %d queries in all, want %d", total, 3+5+1+2)
	}
}

func TestReportUsageRetriesAfterTimeoutWithoutDoubles(t *testing.T) {
	f := newReportFixture(t)
	a := f.tenant(t, "alpha", f.at(10, 0), true)
	f.use(t, a.ID, "queries", 3, f.at(10, 5))
	f.use(t, a.ID, "tokens", 40, f.at(10, 6))
	first := ReportIdentifier(a.ID, "queries", f.at(10, 0))

	// Stripe records the first event, but the answer never comes back.
	f.fake.TimeoutNext(1)
	f.clock.Set(f.at(11, 10))
	if err := f.b.ReportUsage(f.ctx); err == nil {
		t.Fatal("ReportUsage after a timeout: no error")
	}
	r := f.row(t, first)
	if r.Status != tenancy.ReportPending || r.Attempts != 1 || r.LastError == "" {
		t.Fatalf("row after the timeout: %+v", r)
	}
	if p := f.pending(t); len(p) != 2 {
		t.Errorf("pending after the timeout: %v (the pass should stop at it)", p)
	}

	f.report(t, f.at(11, 11))
	f.wantEvents(t, event(a, "queries", f.at(10, 0), 3), event(a, "tokens", f.at(10, 0), 40))
	if r := f.row(t, first); r.Status != tenancy.ReportSent {
		t.Errorf("row after the retry: %+v", r)
	}
	var replayed bool
	for _, req := range f.fake.Requests() {
		replayed = replayed || (req.IdempotencyKey == first && req.Replayed)
	}
	if !replayed {
		t.Error("the retry was not answered from Stripe's idempotency layer")
	}
}

func TestReportUsageStripeGoRetriesATimeout(t *testing.T) {
	f := newReportFixtureRetrying(t, 1)
	a := f.tenant(t, "alpha", f.at(10, 0), true)
	f.use(t, a.ID, "queries", 3, f.at(10, 5))
	f.fake.TimeoutNext(1)
	f.report(t, f.at(11, 10))
	f.wantEvents(t, event(a, "queries", f.at(10, 0), 3))
	if p := f.pending(t); len(p) != 0 {
		t.Errorf("pending: %v", p)
	}
}

func TestReportUsageKeepsRowsPendingOnServerErrors(t *testing.T) {
	f := newReportFixture(t)
	a := f.tenant(t, "alpha", f.at(10, 0), true)
	f.use(t, a.ID, "queries", 3, f.at(10, 5))
	f.use(t, a.ID, "queries", 4, f.at(11, 5))
	f.use(t, a.ID, "tokens", 40, f.at(10, 6))

	f.fake.FailNext(1, http.StatusServiceUnavailable)
	f.clock.Set(f.at(12, 10))
	err := f.b.ReportUsage(f.ctx)
	if err == nil {
		t.Fatal("ReportUsage with Stripe failing: no error")
	}
	if len(f.fake.MeterEvents()) != 0 {
		t.Errorf("meter events recorded: %+v", f.fake.MeterEvents())
	}
	if n := len(f.fake.Requests()) - 1; n != 1 { // the customer's creation is one
		t.Errorf("%d meter-event requests after a 503; the pass should stop at the first", n)
	}
	p := f.pending(t)
	if len(p) != 3 {
		t.Fatalf("pending: %v", p)
	}
	if r := f.row(t, p[0]); r.Attempts != 1 || r.LastError == "" {
		t.Errorf("failed row: %+v", r)
	}
	if r := f.row(t, p[1]); r.Attempts != 0 {
		t.Errorf("row not tried: %+v", r)
	}

	f.report(t, f.at(12, 11))
	f.wantEvents(t,
		event(a, "queries", f.at(10, 0), 3),
		event(a, "queries", f.at(11, 0), 4),
		event(a, "tokens", f.at(10, 0), 40),
	)
	if r := f.row(t, p[0]); r.Status != tenancy.ReportSent || r.Attempts != 1 {
		t.Errorf("row failed once, then sent: %+v", r)
	}
}

func TestReportUsageGoesOnAfterARowIsRefused(t *testing.T) {
	f := newReportFixture(t)
	a := f.tenant(t, "alpha", f.at(10, 0), true)
	f.use(t, a.ID, "queries", 3, f.at(10, 5))
	f.use(t, a.ID, "tokens", 40, f.at(10, 6))
	refused := ReportIdentifier(a.ID, "queries", f.at(10, 0))

	f.fake.FailNext(1, http.StatusBadRequest)
	f.report(t, f.at(11, 10)) // a refused row is logged, not an error of the pass
	f.wantEvents(t, event(a, "tokens", f.at(10, 0), 40))
	if r := f.row(t, refused); r.Status != tenancy.ReportPending || r.Attempts != 1 || r.LastError == "" {
		t.Errorf("refused row: %+v", r)
	}

	f.report(t, f.at(11, 11))
	f.wantEvents(t, event(a, "queries", f.at(10, 0), 3), event(a, "tokens", f.at(10, 0), 40))
}

func TestReportUsageHoldsRowsOfUnconfiguredMeters(t *testing.T) {
	f := newReportFixture(t)
	a := f.tenant(t, "alpha", f.at(10, 0), true)
	f.use(t, a.ID, "queries", 3, f.at(10, 5))
	// A row of a meter whose Stripe meter event was since unconfigured.
	orphan := tenancy.UsageReport{Identifier: ReportIdentifier(a.ID, "documents", f.at(9, 0)), TenantID: a.ID,
		Meter: "documents", HourStart: f.at(9, 0), Value: 5}
	if _, err := f.store.AddUsageReport(f.ctx, orphan); err != nil {
		t.Fatal(err)
	}

	f.report(t, f.at(11, 10))
	f.wantEvents(t, event(a, "queries", f.at(10, 0), 3))
	if r := f.row(t, orphan.Identifier); r.Status != tenancy.ReportPending || r.Attempts != 1 {
		t.Errorf("row of an unconfigured meter: %+v", r)
	}
}

func TestReportUsageMarksDuplicatesSent(t *testing.T) {
	f := newReportFixture(t)
	a := f.tenant(t, "alpha", f.at(10, 0), true)
	f.use(t, a.ID, "queries", 3, f.at(10, 5))
	id := ReportIdentifier(a.ID, "queries", f.at(10, 0))

	// Stripe has the event already, from a request with another
	// idempotency key: as if the ledger had lost the row's update after
	// a send, or another instance had sent it.
	params := &stripe.BillingMeterEventParams{
		EventName:  stripe.String("contextlite_queries"),
		Identifier: stripe.String(id),
		Payload:    map[string]string{"stripe_customer_id": a.StripeCustomerID, "value": "3"},
		Timestamp:  stripe.Int64(f.at(10, 0).Unix()),
	}
	if _, err := f.fake.Client().BillingMeterEvents.New(params); err != nil {
		t.Fatal(err)
	}

	f.report(t, f.at(11, 10))
	f.wantEvents(t, event(a, "queries", f.at(10, 0), 3))
	if r := f.row(t, id); r.Status != tenancy.ReportSent || r.Attempts != 0 {
		t.Errorf("row of a duplicate: %+v", r)
	}
	reqs := f.fake.Requests()
	if last := reqs[len(reqs)-1]; last.Params.Get("identifier") != id || last.Status != http.StatusBadRequest {
		t.Errorf("last request: %+v, want the duplicate refused", last)
	}
}

func TestReportUsageSkipsRowsOlderThan35Days(t *testing.T) {
	f := newReportFixture(t)
	now := time.Now().UTC() // the fake checks timestamps against the real time
	old := f.tenant(t, "oldie", now.Add(-40*24*time.Hour), true)
	f.use(t, old.ID, "queries", 9, now.Add(-36*24*time.Hour))  // too old for Stripe
	f.use(t, old.ID, "queries", 11, now.Add(-34*24*time.Hour)) // not yet

	// A row left pending (Stripe was down) until it was too old to send.
	stale := tenancy.UsageReport{Identifier: ReportIdentifier(old.ID, "tokens", now.Add(-36*24*time.Hour).Truncate(time.Hour)),
		TenantID: old.ID, Meter: "tokens", HourStart: now.Add(-36 * 24 * time.Hour).Truncate(time.Hour), Value: 5}
	if _, err := f.store.AddUsageReport(f.ctx, stale); err != nil {
		t.Fatal(err)
	}

	f.report(t, now)
	hour34 := now.Add(-34 * 24 * time.Hour).Truncate(time.Hour)
	f.wantEvents(t, event(old, "queries", hour34, 11))
	if r := f.row(t, stale.Identifier); r.Status != tenancy.ReportSkipped {
		t.Errorf("stale row: %+v", r)
	}
	if p := f.pending(t); len(p) != 0 {
		t.Errorf("pending: %v", p)
	}
	// The roll-ups start no earlier than 35 days ago.
	var first int64
	if err := f.raw.QueryRowContext(f.ctx, "SELECT MIN(hour_start) FROM usage_reports WHERE tenant_id = ? AND meter = 'queries'", old.ID).Scan(&first); err != nil {
		t.Fatal(err)
	}
	if h := time.Unix(0, first); h.Before(now.Add(-35 * 24 * time.Hour)) {
		t.Errorf("first queries roll-up at %s, more than 35 days before %s", h, now)
	}
}

func TestReportUsageSkipsTenantsWithoutCustomer(t *testing.T) {
	f := newReportFixture(t)
	c := f.tenant(t, "charlie", f.at(9, 30), false)
	f.use(t, c.ID, "queries", 9, f.at(10, 10))

	f.report(t, f.at(12, 10))
	f.wantEvents(t)
	if _, err := f.store.LastUsageReport(f.ctx, c.ID, "queries"); !errors.Is(err, tenancy.ErrNotFound) {
		t.Errorf("report of a tenant without a customer: %v", err)
	}

	// Once it has a customer, its usage is reported from its creation hour.
	c = f.giveCustomer(t, c)
	f.report(t, f.at(12, 11))
	f.wantEvents(t, event(c, "queries", f.at(10, 0), 9))
	if r := f.row(t, ReportIdentifier(c.ID, "queries", f.at(9, 0))); r.Status != tenancy.ReportSent || r.Value != 0 {
		t.Errorf("creation hour's row: %+v", r)
	}
}
