// Package pgtest gives tests a PostgreSQL schema of their own in the
// database named by CONTEXTLITE_TEST_DATABASE_URL.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// DSN returns a DSN for a fresh schema of the database named by
// CONTEXTLITE_TEST_DATABASE_URL, dropped when the test ends, so tests can
// share the database with others. Without the variable the test is
// skipped, or fails under CI=true.
func DSN(t testing.TB) string {
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
