package tenancy

import (
	"context"
	"errors"
	"io/fs"
	"reflect"
	"testing"
	"time"

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
