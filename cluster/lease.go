package cluster

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Lease settings: how often a node that does not hold a lease tries to
// take it, and how often the holder checks that its connection (and so
// its lock) is alive.
const (
	DefaultAcquireEvery = 5 * time.Second
	DefaultCheckEvery   = 2 * time.Second
)

// Leases runs singleton jobs: each named job runs on at most one node of
// the cluster at a time, the one holding a PostgreSQL session advisory
// lock on the job's name. The lock lives as long as the holder's
// connection: when the holder stops or its node dies, PostgreSQL drops
// it and another node takes the job over. A holder checks its connection
// every CheckEvery and stops its job when the check fails; a new holder
// waits two and a half checks before starting, so the old one has
// stopped, as long as jobs return when their context ends.
type Leases struct {
	pool         *pgxpool.Pool
	schema       string // names the control plane's locks among others'
	logger       *slog.Logger
	AcquireEvery time.Duration // default DefaultAcquireEvery
	CheckEvery   time.Duration // default DefaultCheckEvery

	mu   sync.Mutex
	held map[string]bool // the leases taken and not yet released
}

// NewLeases returns the Leases of the control plane pool connects to;
// logger may be nil.
func NewLeases(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) (*Leases, error) {
	schema, err := schemaOf(ctx, pool)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Leases{pool: pool, schema: schema, logger: logger,
		AcquireEvery: DefaultAcquireEvery, CheckEvery: DefaultCheckEvery}, nil
}

// Run runs job while this node holds the lease of name, until ctx ends.
// job must return soon after its context ends, which happens when the
// lease is lost. Between holdings Run tries to take the lease every
// AcquireEvery.
func (l *Leases) Run(ctx context.Context, name string, job func(context.Context)) {
	for {
		held, err := l.hold(ctx, name, job)
		if err != nil && ctx.Err() == nil {
			l.logger.WarnContext(ctx, "cluster lease lost or not taken", "job", name, "error", err)
		}
		if held {
			continue // try again at once: the lease may be free
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(l.AcquireEvery):
		}
	}
}

// Held returns the names of the leases this node holds now, sorted: from
// taking the lock (before the start delay) until releasing it.
func (l *Leases) Held() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	names := slices.AppendSeq([]string{}, maps.Keys(l.held)) // [] rather than nil for none
	slices.Sort(names)
	return names
}

// setHeld records whether this node holds the lease of name.
func (l *Leases) setHeld(name string, held bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !held {
		delete(l.held, name)
		return
	}
	if l.held == nil {
		l.held = make(map[string]bool)
	}
	l.held[name] = true
}

// hold takes the lease of name on a connection of its own if it is free
// and runs job until ctx ends or the connection fails. It reports whether
// it held the lease.
func (l *Leases) hold(ctx context.Context, name string, job func(context.Context)) (bool, error) {
	pooled, err := l.pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	// The lock belongs to this session: the connection leaves the pool
	// and closing it releases the lock.
	conn := pooled.Hijack()
	defer conn.Close(context.WithoutCancel(ctx))
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", lockID(l.schema, name)).Scan(&got); err != nil || !got {
		return false, err
	}
	l.setHeld(name, true)
	defer l.setHeld(name, false) // before the connection closes
	// A holder whose connection died stops its job within two checks of
	// it (a failed ping, or one that timed out); wait that long before
	// starting, so the job never runs on two nodes at once.
	select {
	case <-ctx.Done():
		return true, nil
	case <-time.After(2*l.CheckEvery + l.CheckEvery/2):
	}
	jobCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		job(jobCtx)
	}()
	err = l.watch(jobCtx, conn)
	cancel()
	<-done
	return true, err
}

// watch returns when ctx ends (nil) or conn stops answering (its error).
func (l *Leases) watch(ctx context.Context, conn *pgx.Conn) error {
	t := time.NewTicker(l.CheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, l.CheckEvery)
		err := conn.Ping(pctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("cluster: lease connection: %w", err)
		}
	}
}

// lockID is the advisory lock key of a job of the control plane in
// schema: 63 bits of an FNV-1a hash of both.
func lockID(schema, name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("contextlite job\x00" + schema + "\x00" + name))
	return int64(h.Sum64() >> 1)
}
