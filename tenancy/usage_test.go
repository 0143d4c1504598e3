package tenancy

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/contextlite/cloud/migrations"
)

// TestStoreDailyUsage checks that AddUsage keeps the daily sums of the
// events it stores, once each, and DailyUsage's range.
func TestStoreDailyUsage(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		acme := mustTenant(t, s, "acme", t0)
		other := mustTenant(t, s, "other", t0)
		day1 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC) // t0's day
		day2, day3 := day1.AddDate(0, 0, 1), day1.AddDate(0, 0, 2)

		// Two chunks' worth on day 1, across midnight into day 2 (in
		// another zone than UTC), and a key twice.
		batch := usageEvents(acme.ID, "queries", "q", 150, t0)
		batch = append(batch,
			UsageEvent{acme.ID, "tokens", 40, "t-1", day2.Add(-time.Nanosecond)},
			UsageEvent{acme.ID, "tokens", 2, "t-2", day2.In(time.FixedZone("UTC-5", -5*3600))},
			UsageEvent{acme.ID, "storage_bytes", -300, "s-1", day3.Add(time.Hour)},
			UsageEvent{other.ID, "queries", 5, "o-1", t0})
		batch = append(batch, batch[len(batch)-1])
		if n, err := s.AddUsage(ctx, batch); err != nil || n != len(batch)-1 {
			t.Fatalf("AddUsage = %d, %v; want %d", n, err, len(batch)-1)
		}
		// A retry, and a batch with one new event, count the new one only.
		if _, err := s.AddUsage(ctx, batch); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddUsage(ctx, append(batch[:3:3], UsageEvent{acme.ID, "queries", 1, "q-new", day2})); err != nil {
			t.Fatal(err)
		}

		want := []UsageDay{
			{day1, "queries", 150}, {day1, "tokens", 40},
			{day2, "queries", 1}, {day2, "tokens", 2},
			{day3, "storage_bytes", -300},
		}
		if got, err := s.DailyUsage(ctx, acme.ID, day1.Add(time.Hour), day3.Add(23*time.Hour)); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("DailyUsage = %v, %v;\nwant %v", got, err, want)
		}
		if got, err := s.DailyUsage(ctx, acme.ID, day2, day2); err != nil || !reflect.DeepEqual(got, want[2:4]) {
			t.Errorf("DailyUsage of day 2 = %v, %v; want %v", got, err, want[2:4])
		}
		if got, err := s.DailyUsage(ctx, other.ID, day1, day3); err != nil || !reflect.DeepEqual(got, []UsageDay{{day1, "queries", 5}}) {
			t.Errorf("DailyUsage of other = %v, %v", got, err)
		}
		if got, err := s.DailyUsage(ctx, acme.ID, day3.AddDate(0, 0, 1), day3.AddDate(0, 0, 9)); err != nil || got == nil || len(got) != 0 {
			t.Errorf("DailyUsage of days without usage = %#v, %v; want an empty slice", got, err)
		}

		// A failed batch adds nothing to the sums either.
		unknown := append(usageEvents(acme.ID, "queries", "tx", 2, t0), usageEvents(NewTenantID(), "queries", "tx-unknown", 1, t0)...)
		if _, err := s.AddUsage(ctx, unknown); err == nil {
			t.Fatal("AddUsage with an unknown tenant succeeded")
		}
		if got, _ := s.DailyUsage(ctx, acme.ID, day1, day1); !reflect.DeepEqual(got, want[:2]) {
			t.Errorf("DailyUsage after a failed batch = %v, want %v", got, want[:2])
		}
	})
}

// TestDailyUsageMigration checks that the migration creating usage_daily
// sums the events stored before it, on each backend.
func TestDailyUsageMigration(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		acme := mustTenant(t, s, "acme", t0)
		events := usageEvents(acme.ID, "queries", "q", 3, t0)
		events = append(events, UsageEvent{acme.ID, "tokens", 9, "t", t0.AddDate(0, 0, 1)})
		if _, err := s.AddUsage(ctx, events); err != nil {
			t.Fatal(err)
		}
		want, err := s.DailyUsage(ctx, acme.ID, t0, t0.AddDate(0, 0, 1))
		if err != nil || len(want) != 2 {
			t.Fatalf("DailyUsage = %v, %v; want 2 days", want, err)
		}

		// Back to the schema before the migration, then migrate again.
		db := s.(*sqlStore).db
		set := migrationSet{migrations.SQLite, "", sqliteVersionTable}
		if _, ok := db.(pgDB); ok {
			set = migrationSet{migrations.Postgres, pgMigrationLock, pgVersionTable}
		}
		for _, stmt := range []string{"DROP TABLE usage_daily", "DELETE FROM schema_migrations WHERE version = '0009_usage_daily'"} {
			if _, err := db.exec(ctx, stmt); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
		if err := migrate(ctx, db, set); err != nil {
			t.Fatal(err)
		}
		if got, err := s.DailyUsage(ctx, acme.ID, t0, t0.AddDate(0, 0, 1)); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("DailyUsage after the migration = %v, %v; want %v", got, err, want)
		}
	})
}
