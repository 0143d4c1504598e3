package tenancy

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/contextlite/cloud/migrations"
)

// pgMigrationLock keeps two processes that start together from both
// migrating; the number is arbitrary and shared by all ContextLite nodes.
const pgMigrationLock = "SELECT pg_advisory_xact_lock(7438720137246917712)"

// pgVersionTable records the applied migrations.
const pgVersionTable = "CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL)"

// openPostgres connects to PostgreSQL and migrates its schema.
func openPostgres(ctx context.Context, dsn string) (Store, error) {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("control plane: postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("control plane: postgres: %w", err)
	}
	db := pgDB{pgQuerier{pool}, pool}
	if err := migrate(ctx, db, migrationSet{migrations.Postgres, pgMigrationLock, pgVersionTable}); err != nil {
		pool.Close()
		return nil, fmt.Errorf("control plane: postgres: %w", err)
	}
	return &sqlStore{db}, nil
}

// pgConn is what a pool and a transaction have in common.
type pgConn interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// pgQuerier is a querier on a pool or a transaction.
type pgQuerier struct{ c pgConn }

func (q pgQuerier) exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := q.c.Exec(ctx, query, args...)
	return tag.RowsAffected(), err
}

func (q pgQuerier) queryRow(ctx context.Context, query string, args ...any) scanner {
	return q.c.QueryRow(ctx, query, args...)
}

func (q pgQuerier) query(ctx context.Context, each func(scanner) error, query string, args ...any) error {
	rows, err := q.c.Query(ctx, query, args...)
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

// pgDB is a PostgreSQL connection pool.
type pgDB struct {
	pgQuerier
	pool *pgxpool.Pool
}

func (db pgDB) tx(ctx context.Context, fn func(querier) error) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error { return fn(pgQuerier{tx}) })
}

func (db pgDB) close() error {
	db.pool.Close()
	return nil
}
