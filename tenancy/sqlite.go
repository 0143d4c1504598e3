package tenancy

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/contextlite/cloud/migrations"
)

// sqlitePragmas are set on every connection through the DSN.
const sqlitePragmas = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)"

// sqliteReaders is the number of read connections.
const sqliteReaders = 4

// sqliteVersionTable records the applied migrations.
const sqliteVersionTable = "CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)"

// openSQLite opens or creates the control database file and migrates it:
// one writer connection, so writers queue in Go instead of failing with
// SQLITE_BUSY, and a pool of read-only connections beside it (WAL).
func openSQLite(ctx context.Context, path string) (Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("control plane: %w", err)
	}
	file := "file:" + (&url.URL{Path: path}).EscapedPath()
	w, err := sql.Open("sqlite", file+"?mode=rwc&_txlock=immediate&"+sqlitePragmas)
	if err != nil {
		return nil, fmt.Errorf("control plane: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	// The writer's immediate transactions lock the database while migrating.
	if err := migrate(ctx, sqliteDB{sqliteQuerier{w, w}, w, nil}, migrationSet{migrations.SQLite, "", sqliteVersionTable}); err != nil {
		w.Close()
		return nil, fmt.Errorf("control plane: %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", file+"?mode=rw&"+sqlitePragmas+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("control plane: open %s readers: %w", path, err)
	}
	r.SetMaxOpenConns(sqliteReaders)
	r.SetMaxIdleConns(sqliteReaders)
	return &sqlStore{sqliteDB{sqliteQuerier{w, r}, w, r}}, nil
}

// sqlConn is what a *sql.DB and a *sql.Tx have in common.
type sqlConn interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// sqliteQuerier writes through w and reads through r; in a transaction
// both are the transaction.
type sqliteQuerier struct{ w, r sqlConn }

func (q sqliteQuerier) exec(ctx context.Context, query string, args ...any) (int64, error) {
	args, err := sqliteArgs(args)
	if err != nil {
		return 0, err
	}
	res, err := q.w.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (q sqliteQuerier) queryRow(ctx context.Context, query string, args ...any) scanner {
	args, err := sqliteArgs(args)
	if err != nil {
		return errScanner{err}
	}
	return q.r.QueryRowContext(ctx, query, args...)
}

// errScanner is a row that failed before its query ran.
type errScanner struct{ err error }

func (s errScanner) Scan(...any) error { return s.err }

func (q sqliteQuerier) query(ctx context.Context, each func(scanner) error, query string, args ...any) error {
	args, err := sqliteArgs(args)
	if err != nil {
		return err
	}
	rows, err := q.r.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// sqliteArgs converts times to the unix nanoseconds SQLite stores. A time
// whose nanoseconds do not fit in an int64 (before 1678 or after 2262) is
// refused with ErrTimeOutOfRange rather than stored wrapped around.
func sqliteArgs(args []any) ([]any, error) {
	out := make([]any, len(args))
	for i, a := range args {
		t, ok := a.(time.Time)
		if p, isPtr := a.(*time.Time); isPtr && p != nil {
			t, ok = *p, true
		}
		switch {
		case ok:
			ns, err := unixNano(t)
			if err != nil {
				return nil, err
			}
			out[i] = ns
		case a == (*time.Time)(nil):
			out[i] = nil
		default:
			out[i] = a
		}
	}
	return out, nil
}

// Bounds of the times sqliteArgs stores.
var (
	minSQLiteTime = time.Unix(0, math.MinInt64)
	maxSQLiteTime = time.Unix(0, math.MaxInt64)
)

// unixNano returns t in unix nanoseconds, or ErrTimeOutOfRange.
func unixNano(t time.Time) (int64, error) {
	if t.Before(minSQLiteTime) || t.After(maxSQLiteTime) {
		return 0, fmt.Errorf("%w: %s", ErrTimeOutOfRange, t.UTC().Format(time.RFC3339))
	}
	return t.UnixNano(), nil
}

// sqliteDB is the SQLite writer and reader pools; r is nil while migrating.
type sqliteDB struct {
	sqliteQuerier
	w, r *sql.DB
}

func (db sqliteDB) tx(ctx context.Context, fn func(querier) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(sqliteQuerier{tx, tx}); err != nil {
		return err
	}
	return tx.Commit()
}

func (db sqliteDB) close() error {
	rerr := db.r.Close()
	if err := db.w.Close(); err != nil {
		return err
	}
	return rerr
}
