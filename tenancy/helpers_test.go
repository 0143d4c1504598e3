package tenancy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgTestDSN returns a DSN for a fresh schema of the database named by
// CONTEXTLITE_TEST_DATABASE_URL, dropped when the test ends, so tests can
// share the database with others. Without the variable the test is
// skipped, or fails under CI=true.
func pgTestDSN(t *testing.T) string {
	t.Helper()
	base := os.Getenv("CONTEXTLITE_TEST_DATABASE_URL")
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CONTEXTLITE_TEST_DATABASE_URL not set; CI needs the PostgreSQL tests")
		}
		t.Skip("CONTEXTLITE_TEST_DATABASE_URL not set; skipping the PostgreSQL tests")
	}
	var b [8]byte
	rand.Read(b[:])
	schema := "schema_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to the test database: %v", err)
	}
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		conn.Close(ctx)
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop test schema: %v", err)
		}
		conn.Close(ctx)
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// eachBackend runs test against SQLite in a temporary directory and
// against PostgreSQL in a schema of its own; dsn and dir are Open's.
func eachBackend(t *testing.T, test func(t *testing.T, dsn, dir string)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		test(t, "", t.TempDir())
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		test(t, pgTestDSN(t), "")
	})
}

// eachStore runs test on a fresh store of each backend.
func eachStore(t *testing.T, test func(t *testing.T, s Store)) {
	eachBackend(t, func(t *testing.T, dsn, dir string) {
		test(t, openTestStore(t, dsn, dir))
	})
}

// openTestStore opens a store that is closed when the test ends.
func openTestStore(t *testing.T, dsn, dir string) Store {
	t.Helper()
	s, err := Open(context.Background(), dsn, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// mustTenant creates a tenant with slug, created at.
func mustTenant(t *testing.T, s Store, slug string, at time.Time) Tenant {
	t.Helper()
	tn := Tenant{ID: NewTenantID(), Slug: slug, Name: slug + " Inc", Email: slug + "@example.com",
		Tier: "free", Status: StatusActive, CreatedAt: at, UpdatedAt: at}
	if err := s.CreateTenant(context.Background(), tn); err != nil {
		t.Fatal(err)
	}
	return tn
}

func ptr[T any](v T) *T { return &v }
