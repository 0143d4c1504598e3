package tenancy

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"testing"
	"time"

	"github.com/contextlite/cloud/internal/pgtest"
	"github.com/contextlite/cloud/migrations"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)

func TestStoreTenants(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		// Created out of order: Tenants sorts by created_at.
		b := mustTenant(t, s, "bravo", t0.Add(time.Hour))
		a := mustTenant(t, s, "alpha", t0)

		got, err := s.Tenant(ctx, a.ID)
		if err != nil || !reflect.DeepEqual(got, a) {
			t.Fatalf("Tenant = %+v, %v; want %+v", got, err, a)
		}
		if got, err = s.TenantBySlug(ctx, "bravo"); err != nil || !reflect.DeepEqual(got, b) {
			t.Fatalf("TenantBySlug = %+v, %v; want %+v", got, err, b)
		}
		all, err := s.Tenants(ctx)
		if err != nil || !reflect.DeepEqual(all, []Tenant{a, b}) {
			t.Fatalf("Tenants = %+v, %v; want alpha, bravo", all, err)
		}

		dup := Tenant{ID: NewTenantID(), Slug: "alpha", Tier: "free", Status: StatusActive}
		if err := s.CreateTenant(ctx, dup); !errors.Is(err, ErrSlugTaken) {
			t.Errorf("CreateTenant with a taken slug = %v, want ErrSlugTaken", err)
		}
		if err := s.CreateTenant(ctx, Tenant{ID: a.ID, Slug: "other", Tier: "free", Status: StatusActive}); err == nil || errors.Is(err, ErrSlugTaken) {
			t.Errorf("CreateTenant with a taken id = %v, want a non-slug error", err)
		}
		// Tenants made outside Signup can have ids of any shape.
		odd := Tenant{ID: "legacy-7", Slug: "legacy", Tier: "free", Status: StatusActive}
		if err := s.CreateTenant(ctx, odd); err != nil {
			t.Fatal(err)
		}
		for _, slug := range []string{odd.ID, a.ID} {
			if err := s.CreateTenant(ctx, Tenant{ID: NewTenantID(), Slug: slug, Tier: "free", Status: StatusActive}); !errors.Is(err, ErrSlugTaken) {
				t.Errorf("CreateTenant with another tenant's id %q as slug = %v, want ErrSlugTaken", slug, err)
			}
		}
		if err := s.SetStatus(ctx, odd.ID, StatusDeleted); err != nil {
			t.Fatal(err)
		}

		if err := s.SetTier(ctx, a.ID, "pro"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetStatus(ctx, a.ID, StatusSuspended); err != nil {
			t.Fatal(err)
		}
		got, err = s.Tenant(ctx, a.ID)
		if err != nil || got.Tier != "pro" || got.Status != StatusSuspended || !got.UpdatedAt.After(a.UpdatedAt) {
			t.Errorf("after SetTier, SetStatus: %+v, %v", got, err)
		}
		if err := s.SetStatus(ctx, a.ID, "gone"); err == nil {
			t.Error("SetStatus accepted an unknown status")
		}
	})
}

func TestStoreTenantDefaults(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		before := time.Now().Add(-time.Second)
		tn := Tenant{ID: NewTenantID(), Slug: "zero", Tier: "free", Status: StatusActive}
		if err := s.CreateTenant(ctx, tn); err != nil {
			t.Fatal(err)
		}
		got, err := s.Tenant(ctx, tn.ID)
		if err != nil || got.CreatedAt.Before(before) || !got.UpdatedAt.Equal(got.CreatedAt) {
			t.Errorf("zero timestamps stored as %v, %v (%v)", got.CreatedAt, got.UpdatedAt, err)
		}
	})
}

func TestStoreNotFound(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		tn := mustTenant(t, s, "acme", t0)
		key := APIKey{ID: NewTenantID(), TenantID: tn.ID, Prefix: "clc_live_abcd", Hash: []byte("h1"), Scopes: []string{ScopeRead}, CreatedAt: t0}
		if err := s.CreateKey(ctx, key); err != nil {
			t.Fatal(err)
		}
		other := mustTenant(t, s, "other", t0)
		missing := NewTenantID()
		tests := []struct {
			name string
			call func() error
		}{
			{"Tenant", func() error { _, err := s.Tenant(ctx, missing); return err }},
			{"TenantBySlug", func() error { _, err := s.TenantBySlug(ctx, "nobody"); return err }},
			{"SetTier", func() error { return s.SetTier(ctx, missing, "pro") }},
			{"SetStatus", func() error { return s.SetStatus(ctx, missing, StatusDeleted) }},
			{"KeyByHash", func() error { _, err := s.KeyByHash(ctx, []byte("nope")); return err }},
			{"RevokeKey/missing", func() error { return s.RevokeKey(ctx, tn.ID, missing, t0) }},
			{"RevokeKey/other tenant", func() error { return s.RevokeKey(ctx, other.ID, key.ID, t0) }},
			{"ExpireKey/missing", func() error { return s.ExpireKey(ctx, tn.ID, missing, t0) }},
			{"ExpireKey/other tenant", func() error { return s.ExpireKey(ctx, other.ID, key.ID, t0) }},
		}
		for _, tt := range tests {
			if err := tt.call(); !errors.Is(err, ErrNotFound) {
				t.Errorf("%s = %v, want ErrNotFound", tt.name, err)
			}
		}
		if got, err := s.KeyByHash(ctx, key.Hash); err != nil || got.RevokedAt != nil || got.ExpiresAt != nil {
			t.Errorf("another tenant changed the key: %+v, %v", got, err)
		}
	})
}

func TestStoreKeys(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		acme := mustTenant(t, s, "acme", t0)
		other := mustTenant(t, s, "other", t0)
		h := Hasher{}
		k1 := APIKey{ID: "k1", TenantID: acme.ID, Prefix: "clc_live_0001", Name: "ci", Hash: h.Hash("one"),
			Scopes: []string{ScopeRead, ScopeWrite}, CreatedAt: t0}
		k2 := APIKey{ID: "k2", TenantID: acme.ID, Prefix: "clc_live_0002", Hash: h.Hash("two"),
			Scopes: []string{ScopeAdmin}, CreatedAt: t0.Add(time.Minute), ExpiresAt: ptr(t0.Add(48 * time.Hour))}
		k3 := APIKey{ID: "k3", TenantID: other.ID, Prefix: "clc_live_0003", Hash: h.Hash("three"), CreatedAt: t0}
		for _, k := range []APIKey{k2, k1, k3} {
			if err := s.CreateKey(ctx, k); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.CreateKey(ctx, APIKey{ID: "k4", TenantID: acme.ID, Hash: k1.Hash, CreatedAt: t0}); err == nil {
			t.Error("CreateKey accepted a duplicate hash")
		}
		for _, want := range []APIKey{k1, k2, k3} {
			if got, err := s.KeyByHash(ctx, want.Hash); err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("KeyByHash = %+v, %v; want %+v", got, err, want)
			}
		}
		if got, err := s.Keys(ctx, acme.ID); err != nil || !reflect.DeepEqual(got, []APIKey{k1, k2}) {
			t.Errorf("Keys = %+v, %v; want k1, k2", got, err)
		}
		if got, err := s.Keys(ctx, NewTenantID()); err != nil || len(got) != 0 {
			t.Errorf("Keys of nobody = %+v, %v", got, err)
		}
	})
}

// TestStoreTimeRange: a time is stored as it is or refused, never wrapped
// around (SQLite keeps unix nanoseconds, which end in 2262).
func TestStoreTimeRange(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		acme := mustTenant(t, s, "acme", t0)
		for i, at := range []time.Time{
			time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC),
			time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC),
			time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC),
		} {
			hash := []byte(fmt.Sprintf("k%d", i))
			k := APIKey{ID: NewTenantID(), TenantID: acme.ID, Prefix: "clc_live_0001", Hash: hash, CreatedAt: t0, ExpiresAt: &at}
			err := s.CreateKey(ctx, k)
			got, gerr := s.KeyByHash(ctx, hash)
			switch {
			case err == nil && (gerr != nil || got.ExpiresAt == nil || !got.ExpiresAt.Equal(at)):
				t.Errorf("expiry %v stored as %v (%v)", at, got.ExpiresAt, gerr)
			case err != nil && !errors.Is(err, ErrTimeOutOfRange):
				t.Errorf("expiry %v: %v, want ErrTimeOutOfRange", at, err)
			case err != nil && !errors.Is(gerr, ErrNotFound):
				t.Errorf("refused expiry %v: key %+v, %v; want none stored", at, got, gerr)
			}
			if at.Year() == 2262 && err != nil {
				t.Errorf("expiry %v refused: %v", at, err)
			}
		}
	})
}

func TestStoreRevokeExpire(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		acme := mustTenant(t, s, "acme", t0)
		expiry := t0.Add(48 * time.Hour)
		k := APIKey{ID: "k", TenantID: acme.ID, Prefix: "clc_live_0001", Hash: []byte("k"), CreatedAt: t0, ExpiresAt: &expiry}
		if err := s.CreateKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			name        string
			do          func() error
			wantExpires time.Time
			wantRevoked *time.Time
		}{
			{"later expiry is ignored", func() error { return s.ExpireKey(ctx, acme.ID, "k", expiry.Add(time.Hour)) }, expiry, nil},
			{"earlier expiry wins", func() error { return s.ExpireKey(ctx, acme.ID, "k", t0.Add(time.Hour)) }, t0.Add(time.Hour), nil},
			{"revoke", func() error { return s.RevokeKey(ctx, acme.ID, "k", t0.Add(time.Minute)) }, t0.Add(time.Hour), ptr(t0.Add(time.Minute))},
			{"revoke again keeps the first time", func() error { return s.RevokeKey(ctx, acme.ID, "k", t0.Add(2*time.Minute)) }, t0.Add(time.Hour), ptr(t0.Add(time.Minute))},
		}
		for _, step := range steps {
			if err := step.do(); err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
			got, err := s.KeyByHash(ctx, k.Hash)
			if err != nil || got.ExpiresAt == nil || !got.ExpiresAt.Equal(step.wantExpires) || !reflect.DeepEqual(got.RevokedAt, step.wantRevoked) {
				t.Fatalf("%s: key %+v, %v; want expiry %v, revoked %v", step.name, got, err, step.wantExpires, step.wantRevoked)
			}
		}

		// A key without expiry gets one.
		k2 := APIKey{ID: "k2", TenantID: acme.ID, Prefix: "clc_live_0002", Hash: []byte("k2"), CreatedAt: t0}
		if err := s.CreateKey(ctx, k2); err != nil {
			t.Fatal(err)
		}
		if err := s.ExpireKey(ctx, acme.ID, "k2", expiry); err != nil {
			t.Fatal(err)
		}
		if got, err := s.KeyByHash(ctx, k2.Hash); err != nil || got.ExpiresAt == nil || !got.ExpiresAt.Equal(expiry) {
			t.Errorf("ExpireKey on a key without expiry: %+v, %v", got, err)
		}
	})
}

func TestStoreTouchKeys(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		acme := mustTenant(t, s, "acme", t0)
		for _, id := range []string{"a", "b", "c"} {
			if err := s.CreateKey(ctx, APIKey{ID: id, TenantID: acme.ID, Prefix: "p", Hash: []byte(id), CreatedAt: t0}); err != nil {
				t.Fatal(err)
			}
		}
		steps := []struct {
			touch map[string]time.Time
			want  map[string]*time.Time
		}{
			{nil, map[string]*time.Time{"a": nil, "b": nil, "c": nil}},
			{map[string]time.Time{"a": t0.Add(time.Hour), "b": t0.Add(2 * time.Hour), "unknown": t0},
				map[string]*time.Time{"a": ptr(t0.Add(time.Hour)), "b": ptr(t0.Add(2 * time.Hour)), "c": nil}},
			// Never backwards: an older time from a slower node is ignored.
			{map[string]time.Time{"a": t0.Add(3 * time.Hour), "b": t0},
				map[string]*time.Time{"a": ptr(t0.Add(3 * time.Hour)), "b": ptr(t0.Add(2 * time.Hour)), "c": nil}},
		}
		for i, step := range steps {
			if err := s.TouchKeys(ctx, step.touch); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			for id, want := range step.want {
				got, err := s.KeyByHash(ctx, []byte(id))
				if err != nil || !reflect.DeepEqual(got.LastUsedAt, want) {
					t.Errorf("step %d: key %s last used %v (%v), want %v", i, id, got.LastUsedAt, err, want)
				}
			}
		}
	})
}

func TestDeleteTenantCascades(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		acme := mustTenant(t, s, "acme", t0)
		if err := s.CreateKey(ctx, APIKey{ID: "k", TenantID: acme.ID, Prefix: "p", Hash: []byte("k"), CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		d := s.(tenantDeleter)
		if err := d.DeleteTenant(ctx, acme.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.KeyByHash(ctx, []byte("k")); !errors.Is(err, ErrNotFound) {
			t.Errorf("key of a deleted tenant: %v", err)
		}
		if err := d.DeleteTenant(ctx, acme.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("DeleteTenant twice = %v, want ErrNotFound", err)
		}
		mustTenant(t, s, "acme", t0) // the slug is free again
	})
}

// TestOpenTwice checks that migrations run once: a second Open of the
// same database applies nothing and keeps the data.
func TestOpenTwice(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn, dir string) {
		ctx := context.Background()
		s := openTestStore(t, dsn, dir)
		tn := mustTenant(t, s, "acme", t0)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = openTestStore(t, dsn, dir)
		if got, err := s.Tenant(ctx, tn.ID); err != nil || got.Slug != "acme" {
			t.Fatalf("after reopening: %+v, %v", got, err)
		}
		files := migrations.SQLite
		if dsn != "" {
			files = migrations.Postgres
		}
		names, _ := fs.Glob(files, "*.sql")
		var n int
		db := s.(*sqlStore).db
		if err := db.queryRow(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil || n != len(names) || n == 0 {
			t.Errorf("schema_migrations has %d rows (%v), want %d", n, err, len(names))
		}
		if dsn != "" {
			// The tables are in the test's own schema, not in public.
			var tables int
			err := db.queryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename IN ('tenants', 'api_keys', 'usage_events', 'billing_events', 'schema_migrations')").Scan(&tables)
			if err != nil || tables != 5 {
				t.Errorf("%d tables in the current schema (%v), want 5", tables, err)
			}
		}
	})
}

func TestOpenRejects(t *testing.T) {
	tests := []struct{ dsn, dir string }{
		{"mysql://user@localhost/db", t.TempDir()},
		{"host=localhost user=postgres", t.TempDir()},
		{"", ""},
	}
	for _, tt := range tests {
		if s, err := Open(context.Background(), tt.dsn, tt.dir); err == nil {
			s.Close()
			t.Errorf("Open(%q, %q) succeeded", tt.dsn, tt.dir)
		}
	}
}

func TestStoreBillingAnchor(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		acme := mustTenant(t, s, "acme", t0)
		if acme.BillingAnchor != (time.Time{}) {
			t.Fatalf("new tenant has anchor %v", acme.BillingAnchor)
		}
		anchor := t0.Add(-72 * time.Hour)
		if err := s.SetBillingAnchor(ctx, acme.ID, anchor); err != nil {
			t.Fatal(err)
		}
		for name, get := range map[string]func() (Tenant, error){
			"Tenant":       func() (Tenant, error) { return s.Tenant(ctx, acme.ID) },
			"TenantBySlug": func() (Tenant, error) { return s.TenantBySlug(ctx, "acme") },
			"Tenants": func() (Tenant, error) {
				all, err := s.Tenants(ctx)
				if err != nil || len(all) != 1 {
					return Tenant{}, fmt.Errorf("%d tenants, %v", len(all), err)
				}
				return all[0], nil
			},
		} {
			if got, err := get(); err != nil || !got.BillingAnchor.Equal(anchor) || !got.UpdatedAt.After(acme.UpdatedAt) {
				t.Errorf("%s after SetBillingAnchor: %+v, %v", name, got, err)
			}
		}
		if err := s.SetBillingAnchor(ctx, acme.ID, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Tenant(ctx, acme.ID); err != nil || !got.BillingAnchor.IsZero() {
			t.Errorf("after clearing the anchor: %v, %v", got.BillingAnchor, err)
		}
		if err := s.SetBillingAnchor(ctx, NewTenantID(), anchor); !errors.Is(err, ErrNotFound) {
			t.Errorf("SetBillingAnchor of nobody = %v, want ErrNotFound", err)
		}

		// CreateTenant stores an anchor too.
		tn := Tenant{ID: NewTenantID(), Slug: "anchored", Tier: "free", Status: StatusActive,
			CreatedAt: t0, UpdatedAt: t0, BillingAnchor: anchor}
		if err := s.CreateTenant(ctx, tn); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Tenant(ctx, tn.ID); err != nil || !reflect.DeepEqual(got, tn) {
			t.Errorf("Tenant = %+v, %v; want %+v", got, err, tn)
		}
	})
}

// usageEvents returns n events of tenant, one quantity each, keyed prefix-i.
func usageEvents(tenant, meter, prefix string, n int, at time.Time) []UsageEvent {
	events := make([]UsageEvent, n)
	for i := range events {
		events[i] = UsageEvent{TenantID: tenant, Meter: meter, Quantity: 1,
			IdempotencyKey: fmt.Sprintf("%s-%d", prefix, i), OccurredAt: at.Add(time.Duration(i) * time.Millisecond)}
	}
	return events
}

func TestStoreUsage(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		acme := mustTenant(t, s, "acme", t0)
		other := mustTenant(t, s, "other", t0)
		from, to := t0, t0.Add(time.Hour)

		// More than one statement's worth, to cross a chunk boundary.
		batch := usageEvents(acme.ID, "queries", "q", 1201, t0)
		batch = append(batch,
			UsageEvent{acme.ID, "storage_bytes", 1000, "s-1", t0},
			UsageEvent{acme.ID, "storage_bytes", -300, "s-2", t0.Add(time.Minute)},
			UsageEvent{acme.ID, "tokens", 7, "t-before", from.Add(-time.Nanosecond * 1000)},
			UsageEvent{acme.ID, "tokens", 9, "t-at-end", to},
			UsageEvent{other.ID, "queries", 5, "o-1", t0})
		if n, err := s.AddUsage(ctx, batch); err != nil || n != len(batch) {
			t.Fatalf("AddUsage = %d, %v; want %d", n, err, len(batch))
		}
		if n, err := s.AddUsage(ctx, batch); err != nil || n != 0 {
			t.Fatalf("AddUsage retried = %d, %v; want 0", n, err)
		}
		// A batch with old and new keys, and a key twice, adds the new ones once.
		mixed := append(usageEvents(acme.ID, "queries", "q", 3, t0), usageEvents(acme.ID, "queries", "new", 2, t0)...)
		mixed = append(mixed, mixed[len(mixed)-1])
		if n, err := s.AddUsage(ctx, mixed); err != nil || n != 2 {
			t.Fatalf("AddUsage of a mixed batch = %d, %v; want 2", n, err)
		}
		if n, err := s.AddUsage(ctx, nil); err != nil || n != 0 {
			t.Errorf("AddUsage(nil) = %d, %v", n, err)
		}

		want := map[string]int64{"queries": 1203, "storage_bytes": 700}
		if got, err := s.UsageTotals(ctx, acme.ID, from, to); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("UsageTotals = %v, %v; want %v", got, err, want)
		}
		if got, err := s.UsageTotals(ctx, other.ID, from, to); err != nil || !reflect.DeepEqual(got, map[string]int64{"queries": 5}) {
			t.Errorf("UsageTotals of other = %v, %v", got, err)
		}
		if got, err := s.UsageTotals(ctx, acme.ID, to.Add(time.Hour), to.Add(2*time.Hour)); err != nil || got == nil || len(got) != 0 {
			t.Errorf("UsageTotals of an empty range = %#v, %v; want an empty map", got, err)
		}

		// An invalid event fails the whole batch.
		bad := append(usageEvents(acme.ID, "queries", "bad", 2, t0), UsageEvent{TenantID: acme.ID, Meter: "queries", Quantity: 1, OccurredAt: t0})
		if n, err := s.AddUsage(ctx, bad); err == nil || n != 0 {
			t.Errorf("AddUsage with an event without key = %d, %v; want an error", n, err)
		}
		// So does an unknown tenant, in one transaction.
		unknown := append(usageEvents(acme.ID, "queries", "tx", 2, t0), usageEvents(NewTenantID(), "queries", "tx-unknown", 1, t0)...)
		if _, err := s.AddUsage(ctx, unknown); err == nil {
			t.Error("AddUsage with an unknown tenant succeeded")
		}
		if got, err := s.UsageTotals(ctx, acme.ID, from, to); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("UsageTotals after failed batches = %v, %v; want %v", got, err, want)
		}
	})
}

func TestStoreNotices(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		acme := mustTenant(t, s, "acme", t0)
		other := mustTenant(t, s, "other", t0)
		period := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		notice := func(tn Tenant, meter string, threshold int, created time.Time) Notice {
			return Notice{TenantID: tn.ID, Meter: meter, PeriodStart: period, Threshold: threshold,
				Payload: []byte(`{"meter":"` + meter + `"}`), CreatedAt: created}
		}
		n80 := notice(acme, "queries", 80, t0.Add(time.Minute))
		n100 := notice(acme, "queries", 100, t0)
		tok := notice(acme, "tokens", 80, t0.Add(2*time.Minute))
		tok.NextAttempt = t0.Add(time.Hour)
		for _, n := range []Notice{n80, n100, tok, notice(other, "queries", 80, t0)} {
			if added, err := s.AddNotice(ctx, n); err != nil || !added {
				t.Fatalf("AddNotice(%s %d) = %v, %v", n.Meter, n.Threshold, added, err)
			}
		}
		again := n80
		again.Payload, again.CreatedAt = []byte(`{}`), t0.Add(time.Hour)
		if added, err := s.AddNotice(ctx, again); err != nil || added {
			t.Errorf("AddNotice twice = %v, %v; want false", added, err)
		}
		nextPeriod := notice(acme, "queries", 80, t0)
		nextPeriod.PeriodStart = period.AddDate(0, 1, 0)
		if added, err := s.AddNotice(ctx, nextPeriod); err != nil || !added {
			t.Errorf("AddNotice of the next period = %v, %v", added, err)
		}

		got, err := s.Notices(ctx, acme.ID, period)
		if err != nil || len(got) != 3 {
			t.Fatalf("Notices = %+v, %v; want 3", got, err)
		}
		wantN100 := n100
		wantN100.ID = NoticeID(acme.ID, "queries", period, 100)
		wantN100.Status, wantN100.NextAttempt, wantN100.UpdatedAt = NoticePending, t0, t0
		if !reflect.DeepEqual(got[0], wantN100) {
			t.Errorf("Notices[0] = %+v, want %+v", got[0], wantN100)
		}
		if got[1].Threshold != 80 || got[1].Meter != "queries" || string(got[1].Payload) != `{"meter":"queries"}` || got[2].Meter != "tokens" {
			t.Errorf("Notices = %+v; want queries 100, queries 80 (first payload), tokens 80", got)
		}
		if got, err := s.Notices(ctx, acme.ID, period.Add(time.Hour)); err != nil || got == nil || len(got) != 0 {
			t.Errorf("Notices of another period = %#v, %v; want empty", got, err)
		}

		due, err := s.DueNotices(ctx, t0.Add(30*time.Minute), 10)
		if err != nil || len(due) != 4 {
			t.Fatalf("DueNotices = %+v, %v; want 4 (not tokens)", due, err)
		}
		for _, n := range due {
			if n.Meter == "tokens" {
				t.Errorf("DueNotices returned a notice due later: %+v", n)
			}
		}
		if due, err := s.DueNotices(ctx, t0.Add(time.Hour), 2); err != nil || len(due) != 2 || !due[0].CreatedAt.Equal(t0) || !due[1].CreatedAt.Equal(t0) {
			t.Errorf("DueNotices with limit 2 = %+v, %v; want the two oldest", due, err)
		}

		// A failed attempt moves the next one later; delivery takes it off the queue.
		retry := wantN100
		retry.Attempts, retry.NextAttempt, retry.LastError = 1, t0.Add(2*time.Hour), "503 Service Unavailable"
		if err := s.UpdateNotice(ctx, retry); err != nil {
			t.Fatal(err)
		}
		delivered := got[1]
		delivered.Status, delivered.Attempts, delivered.NextAttempt = NoticeDelivered, 1, time.Time{}
		if err := s.UpdateNotice(ctx, delivered); err != nil {
			t.Fatal(err)
		}
		due, err = s.DueNotices(ctx, t0.Add(time.Hour), 10)
		if err != nil || len(due) != 3 {
			t.Fatalf("DueNotices after updates = %+v, %v; want other's, next period's and tokens", due, err)
		}
		for _, n := range due {
			if n.ID == retry.ID || n.ID == delivered.ID {
				t.Errorf("DueNotices returned %s", n.ID)
			}
		}
		got, err = s.Notices(ctx, acme.ID, period)
		if err != nil || len(got) != 3 {
			t.Fatalf("Notices = %+v, %v", got, err)
		}
		if g := got[0]; g.Status != NoticePending || g.Attempts != 1 || !g.NextAttempt.Equal(retry.NextAttempt) ||
			g.LastError != retry.LastError || !g.UpdatedAt.After(t0) || !g.CreatedAt.Equal(t0) {
			t.Errorf("after a failed attempt: %+v", g)
		}
		if g := got[1]; g.Status != NoticeDelivered || g.Attempts != 1 || !g.NextAttempt.IsZero() {
			t.Errorf("after delivery: %+v", g)
		}
		if due, err := s.DueNotices(ctx, t0.Add(2*time.Hour), 10); err != nil || len(due) != 4 {
			t.Errorf("DueNotices at the retry = %d notices, %v; want 4", len(due), err)
		}

		missing := retry
		missing.ID = "nobody/queries/x/80"
		if err := s.UpdateNotice(ctx, missing); !errors.Is(err, ErrNotFound) {
			t.Errorf("UpdateNotice of a missing notice = %v, want ErrNotFound", err)
		}
		retry.Status = "lost"
		if err := s.UpdateNotice(ctx, retry); err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("UpdateNotice with an unknown status = %v", err)
		}

		// Notices go with their tenant.
		if err := s.(tenantDeleter).DeleteTenant(ctx, acme.ID); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Notices(ctx, acme.ID, period); err != nil || len(got) != 0 {
			t.Errorf("notices of a deleted tenant: %+v, %v", got, err)
		}
	})
}

func TestStoreWebhooks(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		acme := mustTenant(t, s, "acme", t0)
		if _, err := s.Webhook(ctx, acme.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("Webhook before any = %v, want ErrNotFound", err)
		}
		w := Webhook{TenantID: acme.ID, URL: "https://hooks.acme.test/a", Secret: "whsec_1", UpdatedAt: t0}
		if err := s.SetWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Webhook(ctx, acme.ID); err != nil || !reflect.DeepEqual(got, w) {
			t.Errorf("Webhook = %+v, %v; want %+v", got, err, w)
		}
		w2 := Webhook{TenantID: acme.ID, URL: "https://hooks.acme.test/b", Secret: "whsec_2", UpdatedAt: t0.Add(time.Hour)}
		if err := s.SetWebhook(ctx, w2); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Webhook(ctx, acme.ID); err != nil || !reflect.DeepEqual(got, w2) {
			t.Errorf("Webhook after replacing = %+v, %v; want %+v", got, err, w2)
		}
		if err := s.SetWebhook(ctx, Webhook{TenantID: NewTenantID(), URL: "https://x.test", Secret: "s"}); !errors.Is(err, ErrNotFound) {
			t.Errorf("SetWebhook of nobody = %v, want ErrNotFound", err)
		}
		if err := s.DeleteWebhook(ctx, acme.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteWebhook(ctx, acme.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("DeleteWebhook twice = %v, want ErrNotFound", err)
		}
		if _, err := s.Webhook(ctx, acme.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("Webhook after delete = %v, want ErrNotFound", err)
		}

		// A webhook goes with its tenant.
		if err := s.SetWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		if err := s.(tenantDeleter).DeleteTenant(ctx, acme.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Webhook(ctx, acme.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("Webhook of a deleted tenant = %v, want ErrNotFound", err)
		}
	})
}

// BenchmarkAddUsage measures a full outbox batch of 500 events.
func BenchmarkAddUsage(b *testing.B) {
	for _, backend := range []struct{ name, dsn string }{{"sqlite", ""}, {"postgres", "pg"}} {
		b.Run(backend.name, func(b *testing.B) {
			dsn, dir := "", b.TempDir()
			if backend.dsn != "" {
				dsn, dir = pgtest.DSN(b), ""
			}
			s, err := Open(context.Background(), dsn, dir)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			tn := Tenant{ID: NewTenantID(), Slug: "bench", Tier: "free", Status: StatusActive}
			if err := s.CreateTenant(context.Background(), tn); err != nil {
				b.Fatal(err)
			}
			for i := 0; b.Loop(); i++ {
				if _, err := s.AddUsage(context.Background(), usageEvents(tn.ID, "queries", fmt.Sprintf("b%d", i), 500, t0)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestStoreSSO(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		acme := mustTenant(t, s, "acme", t0)
		globex := mustTenant(t, s, "globex", t0)
		if _, err := s.SSO(ctx, acme.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("SSO before any = %v, want ErrNotFound", err)
		}
		c := SSOConfig{TenantID: acme.ID, Issuer: "https://idp.test", ClientID: "cl", ClientSecret: "sec",
			Audience: "cl", Enabled: true, UpdatedAt: t0}
		if err := s.SetSSO(ctx, c); err != nil {
			t.Fatal(err)
		}
		if got, err := s.SSO(ctx, acme.ID); err != nil || !reflect.DeepEqual(got, c) {
			t.Errorf("SSO = %+v, %v; want %+v", got, err, c)
		}
		c2 := SSOConfig{TenantID: acme.ID, Issuer: "https://idp2.test", ClientID: "cl2", ClientSecret: "sec2",
			Audience: "api", Enabled: true, UpdatedAt: t0.Add(time.Hour)}
		if err := s.SetSSO(ctx, c2); err != nil {
			t.Fatal(err)
		}
		if got, err := s.SSO(ctx, acme.ID); err != nil || !reflect.DeepEqual(got, c2) {
			t.Errorf("SSO after replacing = %+v, %v; want %+v", got, err, c2)
		}
		// Two tenants may trust one issuer; a disabled one is not listed.
		g := SSOConfig{TenantID: globex.ID, Issuer: "https://idp2.test", ClientID: "g", ClientSecret: "s", Audience: "g", UpdatedAt: t0}
		if err := s.SetSSO(ctx, g); err != nil {
			t.Fatal(err)
		}
		if got, err := s.SSOByIssuer(ctx, "https://idp2.test"); err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], c2) {
			t.Errorf("SSOByIssuer = %+v, %v; want only acme's", got, err)
		}
		g.Enabled = true
		if err := s.SetSSO(ctx, g); err != nil {
			t.Fatal(err)
		}
		if got, err := s.SSOByIssuer(ctx, "https://idp2.test"); err != nil || len(got) != 2 {
			t.Errorf("SSOByIssuer with both enabled = %+v, %v", got, err)
		}
		if got, err := s.SSOByIssuer(ctx, "https://idp.test"); err != nil || got == nil || len(got) != 0 {
			t.Errorf("SSOByIssuer of a replaced issuer = %#v, %v; want empty", got, err)
		}
		if err := s.SetSSO(ctx, SSOConfig{TenantID: NewTenantID(), Issuer: "https://x.test"}); !errors.Is(err, ErrNotFound) {
			t.Errorf("SetSSO of nobody = %v, want ErrNotFound", err)
		}
		if err := s.DeleteSSO(ctx, acme.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteSSO(ctx, acme.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("DeleteSSO twice = %v, want ErrNotFound", err)
		}
		if _, err := s.SSO(ctx, acme.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("SSO after delete = %v, want ErrNotFound", err)
		}

		// The configuration goes with its tenant.
		if err := s.(tenantDeleter).DeleteTenant(ctx, globex.ID); err != nil {
			t.Fatal(err)
		}
		if got, err := s.SSOByIssuer(ctx, "https://idp2.test"); err != nil || len(got) != 0 {
			t.Errorf("SSOByIssuer after the tenant is deleted = %+v, %v", got, err)
		}
	})
}
