package cluster

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
)

// maxConns bounds the coordinator's pooled connections; the listener and
// each held lease take one more of their own.
const maxConns = 4

// Coordinator is a node's link to the other nodes of its control plane.
type Coordinator struct {
	Bus    *Bus
	Leases *Leases
	pool   *pgxpool.Pool
	logger *slog.Logger
}

// Open connects to the PostgreSQL control plane of dsn; logger may be nil.
func Open(ctx context.Context, dsn string, logger *slog.Logger) (*Coordinator, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	cfg.MaxConns = maxConns
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	bus, err := NewBus(ctx, pool, logger)
	if err != nil {
		pool.Close()
		return nil, err
	}
	leases, err := NewLeases(ctx, pool, logger)
	if err != nil {
		pool.Close()
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Coordinator{Bus: bus, Leases: leases, pool: pool, logger: logger}, nil
}

// Close closes the connections; stop the listeners and leases first.
func (c *Coordinator) Close() { c.pool.Close() }
