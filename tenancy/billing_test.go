package tenancy

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"reflect"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/contextlite/cloud/migrations"
)

func TestStoreStripeTenant(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		acme := mustTenant(t, s, "acme", t0)
		other := mustTenant(t, s, "other", t0.Add(time.Hour))
		if !acme.PaymentFailedAt.IsZero() {
			t.Fatalf("new tenant has payment_failed_at %v", acme.PaymentFailedAt)
		}
		if _, err := s.TenantByStripeCustomer(ctx, "cus_acme"); !errors.Is(err, ErrNotFound) {
			t.Errorf("TenantByStripeCustomer before any = %v, want ErrNotFound", err)
		}
		// "" is the customer of every tenant without one, so of none.
		if _, err := s.TenantByStripeCustomer(ctx, ""); !errors.Is(err, ErrNotFound) {
			t.Errorf(`TenantByStripeCustomer("") = %v, want ErrNotFound`, err)
		}

		failed := t0.Add(-48 * time.Hour)
		for _, err := range []error{
			s.SetStripeCustomer(ctx, acme.ID, "cus_acme"),
			s.SetSubscription(ctx, acme.ID, "sub_acme"),
			s.SetPaymentFailed(ctx, acme.ID, failed),
			s.SetStripeCustomer(ctx, other.ID, "cus_other"),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
		for name, get := range map[string]func() (Tenant, error){
			"Tenant":                 func() (Tenant, error) { return s.Tenant(ctx, acme.ID) },
			"TenantBySlug":           func() (Tenant, error) { return s.TenantBySlug(ctx, "acme") },
			"TenantByStripeCustomer": func() (Tenant, error) { return s.TenantByStripeCustomer(ctx, "cus_acme") },
			"Tenants": func() (Tenant, error) {
				all, err := s.Tenants(ctx)
				if err != nil || len(all) != 2 {
					return Tenant{}, fmt.Errorf("%d tenants, %v", len(all), err)
				}
				return all[0], nil
			},
		} {
			got, err := get()
			if err != nil || got.ID != acme.ID || got.StripeCustomerID != "cus_acme" || got.StripeSubscriptionID != "sub_acme" ||
				!got.PaymentFailedAt.Equal(failed) || !got.UpdatedAt.After(acme.UpdatedAt) {
				t.Errorf("%s after the Stripe setters: %+v, %v", name, got, err)
			}
		}
		if got, err := s.TenantByStripeCustomer(ctx, "cus_other"); err != nil || got.ID != other.ID || !got.PaymentFailedAt.IsZero() {
			t.Errorf("TenantByStripeCustomer(cus_other) = %+v, %v", got, err)
		}

		// "" and zero clear.
		for _, err := range []error{
			s.SetStripeCustomer(ctx, acme.ID, ""),
			s.SetSubscription(ctx, acme.ID, ""),
			s.SetPaymentFailed(ctx, acme.ID, time.Time{}),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.Tenant(ctx, acme.ID)
		if err != nil || got.StripeCustomerID != "" || got.StripeSubscriptionID != "" || !got.PaymentFailedAt.IsZero() {
			t.Errorf("after clearing: %+v, %v", got, err)
		}
		if _, err := s.TenantByStripeCustomer(ctx, "cus_acme"); !errors.Is(err, ErrNotFound) {
			t.Errorf("TenantByStripeCustomer of a cleared customer = %v, want ErrNotFound", err)
		}
		if _, err := s.TenantByStripeCustomer(ctx, ""); !errors.Is(err, ErrNotFound) {
			t.Errorf(`TenantByStripeCustomer("") with customerless tenants = %v, want ErrNotFound`, err)
		}

		missing := NewTenantID()
		for name, err := range map[string]error{
			"SetStripeCustomer": s.SetStripeCustomer(ctx, missing, "cus_x"),
			"SetSubscription":   s.SetSubscription(ctx, missing, "sub_x"),
			"SetPaymentFailed":  s.SetPaymentFailed(ctx, missing, failed),
		} {
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("%s of nobody = %v, want ErrNotFound", name, err)
			}
		}

		// CreateTenant stores all of them.
		tn := Tenant{ID: NewTenantID(), Slug: "billed", Tier: "pro", Status: StatusActive,
			StripeCustomerID: "cus_billed", StripeSubscriptionID: "sub_billed",
			CreatedAt: t0, UpdatedAt: t0, BillingAnchor: t0.Add(-time.Hour), PaymentFailedAt: failed}
		if err := s.CreateTenant(ctx, tn); err != nil {
			t.Fatal(err)
		}
		if got, err := s.TenantByStripeCustomer(ctx, "cus_billed"); err != nil || !reflect.DeepEqual(got, tn) {
			t.Errorf("TenantByStripeCustomer = %+v, %v; want %+v", got, err, tn)
		}
	})
}

func TestTenantJSONPaymentFailed(t *testing.T) {
	for _, tt := range []struct {
		at   time.Time
		want any
	}{
		{time.Time{}, nil}, // omitted when paid up
		{t0, "2026-03-01T12:00:00.123456Z"},
	} {
		b, err := json.Marshal(Tenant{ID: "t", PaymentFailedAt: tt.at})
		var m map[string]any
		if err == nil {
			err = json.Unmarshal(b, &m)
		}
		if err != nil || m["payment_failed_at"] != tt.want {
			t.Errorf("JSON of a tenant with PaymentFailedAt %v = %s, %v; want payment_failed_at %v", tt.at, b, err, tt.want)
		}
	}
}

func TestStoreBillingEvents(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		db := s.(*sqlStore).db
		payload := []byte(`{"id": "evt_1", "type": "invoice.paid", "data": {"object": {"amount_paid": 1900}}}`)

		processed, err := s.RecordBillingEvent(ctx, "evt_1", "invoice.paid", payload, t0)
		if err != nil || processed {
			t.Fatalf("RecordBillingEvent of a new event = %v, %v; want false", processed, err)
		}
		// Redelivered before it was processed (its processing failed): processed again.
		if processed, err := s.RecordBillingEvent(ctx, "evt_1", "invoice.paid", []byte(`{"id": "evt_1", "other": true}`), t0.Add(time.Minute)); err != nil || processed {
			t.Fatalf("RecordBillingEvent of an unprocessed event = %v, %v; want false", processed, err)
		}
		if err := s.MarkBillingEventProcessed(ctx, "evt_1", t0.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if processed, err := s.RecordBillingEvent(ctx, "evt_1", "invoice.paid", payload, t0.Add(time.Hour)); err != nil || !processed {
			t.Fatalf("RecordBillingEvent of a processed event = %v, %v; want true", processed, err)
		}

		// The first delivery is what is stored.
		var typ, stored string
		var received, at timeCol
		err = db.queryRow(ctx, "SELECT type, CAST(payload AS TEXT), received_at, processed_at FROM billing_events WHERE stripe_event_id = $1", "evt_1").
			Scan(&typ, &stored, &received, &at)
		if err != nil {
			t.Fatal(err)
		}
		var gotJSON, wantJSON any
		json.Unmarshal([]byte(stored), &gotJSON)
		json.Unmarshal(payload, &wantJSON)
		if typ != "invoice.paid" || !reflect.DeepEqual(gotJSON, wantJSON) || !received.T.Equal(t0) || !at.T.Equal(t0.Add(2*time.Minute)) {
			t.Errorf("stored event: %s %s received %v processed %v", typ, stored, received.T, at.T)
		}

		// Events are independent.
		if processed, err := s.RecordBillingEvent(ctx, "evt_2", "customer.deleted", []byte(`{}`), time.Time{}); err != nil || processed {
			t.Errorf("RecordBillingEvent of another event = %v, %v; want false", processed, err)
		}
		var n int
		if err := db.queryRow(ctx, "SELECT count(*) FROM billing_events WHERE received_at IS NOT NULL AND processed_at IS NULL").Scan(&n); err != nil || n != 1 {
			t.Errorf("%d unprocessed events (%v), want 1 (evt_2, received now)", n, err)
		}

		if err := s.MarkBillingEventProcessed(ctx, "evt_missing", t0); !errors.Is(err, ErrNotFound) {
			t.Errorf("MarkBillingEventProcessed of a missing event = %v, want ErrNotFound", err)
		}
		for name, p := range map[string][]byte{"nil": nil, "empty": {}, "not JSON": []byte("{nope")} {
			if _, err := s.RecordBillingEvent(ctx, "evt_bad", "invoice.paid", p, t0); err == nil {
				t.Errorf("RecordBillingEvent with a %s payload succeeded", name)
			}
		}
		if _, err := s.RecordBillingEvent(ctx, "", "invoice.paid", payload, t0); err == nil {
			t.Error("RecordBillingEvent without an id succeeded")
		}
	})
}

func TestStoreUsageReceived(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		db := s.(*sqlStore).db
		acme := mustTenant(t, s, "acme", t0)
		other := mustTenant(t, s, "other", t0)
		h := t0.Truncate(time.Hour)

		// Events stored at chosen times; occurred_at is far off, to show it is not what counts.
		for i, e := range []struct {
			tenant, meter string
			qty           int64
			created       time.Time
		}{
			{acme.ID, "queries", 1, h.Add(-time.Nanosecond * 1000)}, // before the hour
			{acme.ID, "queries", 2, h},                              // at its start
			{acme.ID, "queries", 4, h.Add(59 * time.Minute)},
			{acme.ID, "queries", 8, h.Add(time.Hour)}, // at its end: the next hour's
			{acme.ID, "tokens", 16, h.Add(time.Minute)},
			{other.ID, "queries", 32, h.Add(time.Minute)},
			{acme.ID, "storage_bytes", 100, h.Add(time.Minute)},
			{acme.ID, "storage_bytes", -130, h.Add(2 * time.Minute)},
		} {
			_, err := db.exec(ctx, "INSERT INTO usage_events (tenant_id, meter, quantity, idempotency_key, occurred_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
				e.tenant, e.meter, e.qty, fmt.Sprintf("k%d", i), h.AddDate(0, -1, 0), e.created)
			if err != nil {
				t.Fatal(err)
			}
		}
		for _, tt := range []struct {
			tenant, meter string
			from, to      time.Time
			want          int64
		}{
			{acme.ID, "queries", h, h.Add(time.Hour), 6},
			{acme.ID, "queries", h.Add(time.Hour), h.Add(2 * time.Hour), 8},
			{acme.ID, "queries", h.Add(-time.Hour), h.Add(2 * time.Hour), 15},
			{acme.ID, "tokens", h, h.Add(time.Hour), 16},
			{acme.ID, "storage_bytes", h, h.Add(time.Hour), -30},
			{other.ID, "queries", h, h.Add(time.Hour), 32},
			{acme.ID, "documents_added", h, h.Add(time.Hour), 0},
			{acme.ID, "queries", h.Add(2 * time.Hour), h.Add(3 * time.Hour), 0},
			{NewTenantID(), "queries", h, h.Add(time.Hour), 0},
		} {
			if got, err := s.UsageReceived(ctx, tt.tenant, tt.meter, tt.from, tt.to); err != nil || got != tt.want {
				t.Errorf("UsageReceived(%s, %s, %v, %v) = %d, %v; want %d", tt.tenant[:4], tt.meter, tt.from, tt.to, got, err, tt.want)
			}
		}

		// AddUsage stamps created_at with the time it stores the events.
		before := time.Now()
		if _, err := s.AddUsage(ctx, usageEvents(other.ID, "tokens", "now", 3, h.AddDate(-1, 0, 0))); err != nil {
			t.Fatal(err)
		}
		after := time.Now()
		if got, err := s.UsageReceived(ctx, other.ID, "tokens", before, after.Add(time.Microsecond)); err != nil || got != 3 {
			t.Errorf("UsageReceived of events just added = %d, %v; want 3", got, err)
		}
		if got, err := s.UsageReceived(ctx, other.ID, "tokens", h.AddDate(-1, 0, 0), h.AddDate(-1, 0, 1)); err != nil || got != 0 {
			t.Errorf("UsageReceived by occurrence = %d, %v; want 0", got, err)
		}
	})
}

func TestStoreUsageReports(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		acme := mustTenant(t, s, "acme", t0)
		other := mustTenant(t, s, "other", t0)
		h := t0.Truncate(time.Hour)
		report := func(tn Tenant, meter string, hour time.Time, value int64, status string) UsageReport {
			return UsageReport{Identifier: fmt.Sprintf("%s:%s:%d", tn.ID, meter, hour.Unix()), TenantID: tn.ID, Meter: meter,
				HourStart: hour, Value: value, Status: status, CreatedAt: t0, UpdatedAt: t0}
		}

		if _, err := s.LastUsageReport(ctx, acme.ID, "queries"); !errors.Is(err, ErrNotFound) {
			t.Errorf("LastUsageReport before any = %v, want ErrNotFound", err)
		}
		if got, err := s.PendingUsageReports(ctx, 10); err != nil || got == nil || len(got) != 0 {
			t.Errorf("PendingUsageReports before any = %#v, %v; want empty", got, err)
		}

		// Added out of order.
		q2 := report(acme, "queries", h.Add(-1*time.Hour), 20, ReportPending)
		q1 := report(acme, "queries", h.Add(-2*time.Hour), 10, ReportPending)
		q3 := report(acme, "queries", h, 0, ReportSent)
		tok := report(acme, "tokens", h.Add(-3*time.Hour), 300, ReportPending)
		old := report(other, "queries", h.Add(-40*24*time.Hour), 5, ReportSkipped)
		o1 := report(other, "queries", h.Add(-2*time.Hour), 7, ReportPending)
		for _, r := range []UsageReport{q2, q1, q3, tok, old, o1} {
			if added, err := s.AddUsageReport(ctx, r); err != nil || !added {
				t.Fatalf("AddUsageReport(%s) = %v, %v", r.Identifier, added, err)
			}
		}
		again := q2
		again.Value, again.Status = 999, ReportSent
		if added, err := s.AddUsageReport(ctx, again); err != nil || added {
			t.Errorf("AddUsageReport twice = %v, %v; want false", added, err)
		}

		if got, err := s.LastUsageReport(ctx, acme.ID, "queries"); err != nil || !reflect.DeepEqual(got, q3) {
			t.Errorf("LastUsageReport(acme, queries) = %+v, %v; want %+v", got, err, q3)
		}
		if got, err := s.LastUsageReport(ctx, other.ID, "queries"); err != nil || got.Identifier != o1.Identifier {
			t.Errorf("LastUsageReport(other, queries) = %+v, %v; want %s", got, err, o1.Identifier)
		}
		if got, err := s.LastUsageReport(ctx, acme.ID, "tokens"); err != nil || got.Identifier != tok.Identifier {
			t.Errorf("LastUsageReport(acme, tokens) = %+v, %v; want %s", got, err, tok.Identifier)
		}
		if _, err := s.LastUsageReport(ctx, other.ID, "tokens"); !errors.Is(err, ErrNotFound) {
			t.Errorf("LastUsageReport(other, tokens) = %v, want ErrNotFound", err)
		}

		pending, err := s.PendingUsageReports(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		// q1 and o1 share an hour; the identifier breaks the tie.
		first, second := q1, o1
		if o1.Identifier < q1.Identifier {
			first, second = o1, q1
		}
		if want := []UsageReport{tok, first, second, q2}; !reflect.DeepEqual(pending, want) {
			t.Errorf("PendingUsageReports = %+v\nwant %+v", pending, want)
		}
		if got, err := s.PendingUsageReports(ctx, 2); err != nil || len(got) != 2 || got[0].Identifier != tok.Identifier || got[1].Identifier != first.Identifier {
			t.Errorf("PendingUsageReports(2) = %+v, %v; want the two oldest", got, err)
		}
		if got, err := s.PendingUsageReports(ctx, 0); err != nil || got == nil || len(got) != 0 {
			t.Errorf("PendingUsageReports(0) = %#v, %v; want empty", got, err)
		}

		// A failed send stays pending; a sent one leaves the queue. The value never changes.
		failed := q2
		failed.Attempts, failed.LastError, failed.Value = 1, "stripe: 500", 12345
		if err := s.UpdateUsageReport(ctx, failed); err != nil {
			t.Fatal(err)
		}
		sent := tok
		sent.Status, sent.Attempts = ReportSent, 2
		if err := s.UpdateUsageReport(ctx, sent); err != nil {
			t.Fatal(err)
		}
		pending, err = s.PendingUsageReports(ctx, 10)
		if err != nil || len(pending) != 3 || pending[2].Identifier != q2.Identifier {
			t.Fatalf("PendingUsageReports after updates = %+v, %v; want q1, o1, q2", pending, err)
		}
		if g := pending[2]; g.Attempts != 1 || g.LastError != "stripe: 500" || g.Value != 20 || !g.CreatedAt.Equal(t0) || !g.UpdatedAt.After(t0) {
			t.Errorf("after a failed send: %+v", g)
		}
		if g, err := s.LastUsageReport(ctx, acme.ID, "tokens"); err != nil || g.Status != ReportSent || g.Attempts != 2 || g.Value != 300 {
			t.Errorf("after sending: %+v, %v", g, err)
		}

		missing := q2
		missing.Identifier = "nobody:queries:0"
		if err := s.UpdateUsageReport(ctx, missing); !errors.Is(err, ErrNotFound) {
			t.Errorf("UpdateUsageReport of a missing report = %v, want ErrNotFound", err)
		}
		bad := q2
		bad.Status = "lost"
		if err := s.UpdateUsageReport(ctx, bad); err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("UpdateUsageReport with an unknown status = %v", err)
		}
		bad.Identifier += "-new"
		if _, err := s.AddUsageReport(ctx, bad); err == nil {
			t.Error("AddUsageReport with an unknown status succeeded")
		}
		if _, err := s.AddUsageReport(ctx, UsageReport{TenantID: acme.ID, Meter: "queries", HourStart: h}); err == nil {
			t.Error("AddUsageReport without an identifier succeeded")
		}
		if _, err := s.AddUsageReport(ctx, report(Tenant{ID: NewTenantID()}, "queries", h, 1, ReportPending)); err == nil {
			t.Error("AddUsageReport of an unknown tenant succeeded")
		}

		// Defaults: pending, created and updated now.
		before := time.Now().Add(-time.Second)
		d := UsageReport{Identifier: "d", TenantID: other.ID, Meter: "tokens", HourStart: h, Value: 3}
		if added, err := s.AddUsageReport(ctx, d); err != nil || !added {
			t.Fatalf("AddUsageReport with defaults = %v, %v", added, err)
		}
		if g, err := s.LastUsageReport(ctx, other.ID, "tokens"); err != nil || g.Status != ReportPending || g.CreatedAt.Before(before) || !g.UpdatedAt.Equal(g.CreatedAt) {
			t.Errorf("report with defaults: %+v, %v", g, err)
		}

		// Reports go with their tenant.
		if err := s.(tenantDeleter).DeleteTenant(ctx, acme.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.LastUsageReport(ctx, acme.ID, "queries"); !errors.Is(err, ErrNotFound) {
			t.Errorf("LastUsageReport of a deleted tenant = %v, want ErrNotFound", err)
		}
		if got, err := s.PendingUsageReports(ctx, 10); err != nil || len(got) != 2 {
			t.Errorf("PendingUsageReports after deleting acme = %+v, %v; want other's two", got, err)
		}
	})
}

// TestMigrate0003 upgrades a database at 0002 that holds a tenant and
// usage: the tenant reads back paid up, and the new tables work.
func TestMigrate0003(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn, dir string) {
		ctx := context.Background()
		var db database
		var set migrationSet
		var closeDB func()
		if dsn != "" {
			pool, err := pgxpool.New(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			db, set, closeDB = pgDB{pgQuerier{pool}, pool}, migrationSet{filesBefore(t, migrations.Postgres, "0003"), pgMigrationLock, pgVersionTable}, pool.Close
		} else {
			path := filepath.Join(dir, "control.db")
			w, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=rwc&"+sqlitePragmas)
			if err != nil {
				t.Fatal(err)
			}
			w.SetMaxOpenConns(1)
			db, set, closeDB = sqliteDB{sqliteQuerier{w, w}, w, nil}, migrationSet{filesBefore(t, migrations.SQLite, "0003"), "", sqliteVersionTable}, func() { w.Close() }
		}
		err := migrate(ctx, db, set)
		id := NewTenantID()
		if err == nil {
			_, err = db.exec(ctx, "INSERT INTO tenants (id, slug, tier, status, stripe_customer_id, created_at, updated_at) VALUES ($1, 'acme', 'pro', 'active', 'cus_acme', $2, $2)", id, t0)
		}
		if err == nil {
			_, err = db.exec(ctx, "INSERT INTO usage_events (tenant_id, meter, quantity, idempotency_key, occurred_at, created_at) VALUES ($1, 'queries', 5, 'k', $2, $2)", id, t0)
		}
		if err == nil {
			if _, perr := db.exec(ctx, "UPDATE tenants SET payment_failed_at = NULL"); perr == nil {
				err = errors.New("tenants.payment_failed_at exists before 0003")
			}
		}
		closeDB()
		if err != nil {
			t.Fatal(err)
		}

		s := openTestStore(t, dsn, dir)
		got, err := s.TenantByStripeCustomer(ctx, "cus_acme")
		if err != nil || got.ID != id || !got.PaymentFailedAt.IsZero() || !got.CreatedAt.Equal(t0) {
			t.Fatalf("tenant after 0003 = %+v, %v", got, err)
		}
		if n, err := s.UsageReceived(ctx, id, "queries", t0, t0.Add(time.Hour)); err != nil || n != 5 {
			t.Errorf("UsageReceived after 0003 = %d, %v; want 5", n, err)
		}
		r := UsageReport{Identifier: "r", TenantID: id, Meter: "queries", HourStart: t0.Truncate(time.Hour), Value: 5}
		if added, err := s.AddUsageReport(ctx, r); err != nil || !added {
			t.Errorf("AddUsageReport after 0003 = %v, %v", added, err)
		}
	})
}

// filesBefore returns the files of fsys named before the version prefix.
func filesBefore(t *testing.T, fsys fs.FS, version string) fs.FS {
	t.Helper()
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	out := fstest.MapFS{}
	for _, name := range names {
		if name >= version {
			continue
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = &fstest.MapFile{Data: body}
	}
	if len(out) == 0 {
		t.Fatal("no migrations before " + version)
	}
	return out
}

func TestStorePruneUsage(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		acme := mustTenant(t, s, "acme", t0)
		other := mustTenant(t, s, "other", t0)
		var events []UsageEvent
		for i, at := range []time.Time{t0.AddDate(0, 0, -40), t0.AddDate(0, 0, -31), t0.AddDate(0, 0, -1)} {
			for _, tn := range []Tenant{acme, other} {
				events = append(events, UsageEvent{TenantID: tn.ID, Meter: "queries", Quantity: 1,
					IdempotencyKey: fmt.Sprintf("%s/%d", tn.ID, i), OccurredAt: at})
			}
		}
		if _, err := s.AddUsage(ctx, events); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddNotice(ctx, Notice{TenantID: acme.ID, Meter: "queries", PeriodStart: t0.AddDate(0, -2, 0), Threshold: 80,
			Payload: []byte(`{}`), CreatedAt: t0.AddDate(0, 0, -50)}); err != nil {
			t.Fatal(err)
		}
		if err := s.AddAudit(ctx, AuditEvent{TenantID: acme.ID, Actor: ActorSystem, Action: AuditTierChange, Target: "pro",
			CreatedAt: t0.AddDate(0, 0, -45)}); err != nil {
			t.Fatal(err)
		}
		n, err := s.PruneUsage(ctx, acme.ID, t0.AddDate(0, 0, -30))
		if err != nil || n != 4 {
			t.Fatalf("PruneUsage = %d, %v; want 2 events, 1 notice and 1 audit entry", n, err)
		}
		all := t0.AddDate(-1, 0, 0)
		if got, _ := s.UsageTotals(ctx, acme.ID, all, t0); got["queries"] != 1 {
			t.Errorf("acme keeps %v, want the last day's event", got)
		}
		if got, _ := s.DailyUsage(ctx, acme.ID, all, t0); len(got) != 1 || got[0].Day != utcDay(t0.AddDate(0, 0, -1)) {
			t.Errorf("acme keeps the days %v, want the last one", got)
		}
		if got, _ := s.UsageTotals(ctx, other.ID, all, t0); got["queries"] != 3 {
			t.Errorf("other tenant lost events: %v", got)
		}
	})
}

func TestStoreDomains(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		acme := mustTenant(t, s, "acme", t0)
		other := mustTenant(t, s, "other", t0)
		d := Domain{Name: "docs.acme.test", TenantID: acme.ID, Token: "tok"}
		for range 2 { // claiming again is a no-op
			if err := s.AddDomain(ctx, d, t0); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.AddDomain(ctx, Domain{Name: d.Name, TenantID: other.ID, Token: "x"}, t0); !errors.Is(err, ErrDomainTaken) {
			t.Fatalf("claimed by another: %v", err)
		}
		if err := s.VerifyDomain(ctx, other.ID, d.Name, t0); !errors.Is(err, ErrNotFound) {
			t.Fatalf("verify by another tenant: %v", err)
		}
		if err := s.VerifyDomain(ctx, acme.ID, d.Name, t0); err != nil {
			t.Fatal(err)
		}
		got, err := s.Domain(ctx, d.Name)
		if err != nil || got.TenantID != acme.ID || got.Token != "tok" || !got.VerifiedAt.Equal(t0) {
			t.Fatalf("Domain = %+v, %v", got, err)
		}
		if ds, err := s.Domains(ctx, acme.ID); err != nil || len(ds) != 1 || !ds[0].Verified() {
			t.Fatalf("Domains = %+v, %v", ds, err)
		}
		if err := s.DeleteDomain(ctx, acme.ID, d.Name); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Domain(ctx, d.Name); !errors.Is(err, ErrNotFound) {
			t.Fatalf("after delete: %v", err)
		}
	})
}

// An unverified claim made before staleBefore is taken over by another
// tenant, with the new token, or renewed by its own, with its token; a
// verified one never is.
func TestStoreStaleDomainClaims(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		acme := mustTenant(t, s, "acme", t0)
		other := mustTenant(t, s, "other", t0)
		claimed := t0.Add(-8 * 24 * time.Hour)
		if err := s.AddDomain(ctx, Domain{Name: "docs.acme.test", TenantID: acme.ID, Token: "old", CreatedAt: claimed}, t0); err != nil {
			t.Fatal(err)
		}
		// Not yet stale: the claim stands.
		if err := s.AddDomain(ctx, Domain{Name: "docs.acme.test", TenantID: other.ID, Token: "new", CreatedAt: t0}, claimed); !errors.Is(err, ErrDomainTaken) {
			t.Fatalf("claim over a standing claim: %v, want ErrDomainTaken", err)
		}
		// Renewed by its own tenant: new time, same token.
		renewed := t0.Add(-7 * 24 * time.Hour)
		if err := s.AddDomain(ctx, Domain{Name: "docs.acme.test", TenantID: acme.ID, Token: "other-token", CreatedAt: renewed}, renewed); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Domain(ctx, "docs.acme.test"); err != nil || got.TenantID != acme.ID || got.Token != "old" || !got.CreatedAt.Equal(renewed) {
			t.Fatalf("renewed claim = %+v, %v; want acme's, token old, created %v", got, err, renewed)
		}
		// Stale: another tenant takes it over.
		if err := s.AddDomain(ctx, Domain{Name: "docs.acme.test", TenantID: other.ID, Token: "new", CreatedAt: t0}, t0); err != nil {
			t.Fatalf("claim over a stale claim: %v", err)
		}
		got, err := s.Domain(ctx, "docs.acme.test")
		if err != nil || got.TenantID != other.ID || got.Token != "new" || !got.CreatedAt.Equal(t0) || got.Verified() {
			t.Fatalf("taken over claim = %+v, %v", got, err)
		}
		if ds, err := s.Domains(ctx, acme.ID); err != nil || len(ds) != 0 {
			t.Fatalf("acme's domains = %+v, %v; want none", ds, err)
		}
		// Verified: never stale.
		if err := s.VerifyDomain(ctx, other.ID, "docs.acme.test", t0); err != nil {
			t.Fatal(err)
		}
		if err := s.AddDomain(ctx, Domain{Name: "docs.acme.test", TenantID: acme.ID, Token: "x", CreatedAt: t0}, t0.Add(time.Hour)); !errors.Is(err, ErrDomainTaken) {
			t.Fatalf("claim over a verified domain: %v, want ErrDomainTaken", err)
		}
	})
}
