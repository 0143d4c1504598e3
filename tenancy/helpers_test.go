package tenancy

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/contextlite/cloud/internal/pgtest"
)

// eachBackend runs test against SQLite in a temporary directory and
// against PostgreSQL in a schema of its own; dsn and dir are Open's.
func eachBackend(t *testing.T, test func(t *testing.T, dsn, dir string)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		test(t, "", t.TempDir())
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		test(t, pgtest.DSN(t), "")
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
