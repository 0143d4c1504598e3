package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// forgetChannel names the PostgreSQL channel of cache invalidations
// (with the control plane's schema): its payload is a tenant id, or empty
// for every tenant.
const forgetChannel = "contextlite_forget"

// retryDelay is how long a listener waits after losing its connection.
const retryDelay = time.Second

// Bus sends and receives cache invalidations through PostgreSQL, among
// the nodes of one control plane (one database schema).
type Bus struct {
	pool    *pgxpool.Pool
	channel string
	logger  *slog.Logger
}

// NewBus returns the Bus of the control plane pool connects to; logger
// may be nil.
func NewBus(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) (*Bus, error) {
	schema, err := schemaOf(ctx, pool)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Bus{pool: pool, channel: forgetChannel + "." + schema, logger: logger}, nil
}

// schemaOf returns the schema pool's connections work in, which names
// the control plane among others in the same database.
func schemaOf(ctx context.Context, pool *pgxpool.Pool) (string, error) {
	var schema string
	if err := pool.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return "", fmt.Errorf("cluster: control plane schema: %w", err)
	}
	return schema, nil
}

// Forget tells every node, this one included, to drop what it caches of
// tenantID ("" for every tenant).
func (b *Bus) Forget(ctx context.Context, tenantID string) error {
	if _, err := b.pool.Exec(ctx, "SELECT pg_notify($1, $2)", b.channel, tenantID); err != nil {
		return fmt.Errorf("cluster: notify %s: %w", b.channel, err)
	}
	return nil
}

// Listen calls forget with the tenant of each invalidation until ctx
// ends. Whenever it (re)connects it calls forget(""), since it may have
// missed invalidations while it was not listening; ready, if not nil, is
// called once it first listens.
func (b *Bus) Listen(ctx context.Context, forget func(tenantID string), ready func()) {
	for ctx.Err() == nil {
		err := b.listen(ctx, forget, ready)
		ready = nil
		if ctx.Err() != nil {
			return
		}
		b.logger.WarnContext(ctx, "cluster invalidations: listener lost its connection; retrying", "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(retryDelay):
		}
	}
}

// listen holds one connection listening on the bus's channel.
func (b *Bus) listen(ctx context.Context, forget func(string), ready func()) error {
	pooled, err := b.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// A listening connection must not go back to the pool.
	conn := pooled.Hijack()
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{b.channel}.Sanitize()); err != nil {
		return err
	}
	forget("")
	if ready != nil {
		ready()
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return errors.Join(err, ctx.Err())
		}
		forget(n.Payload)
	}
}
