package tenancy

import (
	"context"
	"fmt"
	"time"
)

// querier runs SQL on a pool or in a transaction. Statements use $1, $2 ...
// placeholders, which PostgreSQL and SQLite both accept, and pass times as
// time.Time or *time.Time (nil for NULL).
type querier interface {
	// exec runs a statement and returns the number of rows it matched.
	exec(ctx context.Context, query string, args ...any) (int64, error)
	// queryRow runs a query expected to return at most one row.
	queryRow(ctx context.Context, query string, args ...any) scanner
	// query runs a query and calls each for every row it returns.
	query(ctx context.Context, each func(scanner) error, query string, args ...any) error
}

// scanner reads the columns of one row.
type scanner interface {
	Scan(dest ...any) error
}

// database is a connection pool of one SQL dialect.
type database interface {
	querier
	// tx runs fn in a transaction and commits if fn returns nil.
	tx(ctx context.Context, fn func(querier) error) error
	close() error
}

// timeCol scans a timestamp column of either dialect: a time.Time from
// PostgreSQL or unix nanoseconds from SQLite. NULL leaves Valid false.
type timeCol struct {
	T     time.Time
	Valid bool
}

// Scan implements sql.Scanner, which pgx honors too.
func (c *timeCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c = timeCol{}
	case time.Time:
		*c = timeCol{v.UTC(), true}
	case int64:
		*c = timeCol{time.Unix(0, v).UTC(), true}
	default:
		return fmt.Errorf("scan timestamp: unexpected %T", src)
	}
	return nil
}

// ptr returns the time, or nil for NULL.
func (c timeCol) ptr() *time.Time {
	if !c.Valid {
		return nil
	}
	t := c.T
	return &t
}
