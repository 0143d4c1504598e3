package metering

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/contextlite/cloud/contextengine"
	"github.com/contextlite/cloud/tenancy"
)

// Sink is the control plane's store of shipped usage.
type Sink interface {
	AddUsage(ctx context.Context, events []tenancy.UsageEvent) (int, error)
	UsageTotals(ctx context.Context, tenantID string, from, to time.Time) (map[string]int64, error)
}

// Shipper defaults.
const (
	DefaultShipInterval = 2 * time.Second
	shipBatch           = 500
	// outboxRetention is how long shipped events stay in a tenant's outbox:
	// past any period they could still count in.
	outboxRetention = 62 * 24 * time.Hour
	pruneEvery      = 24 * time.Hour
)

// Shipper moves usage events from the tenants' outboxes to the control
// plane in batches. An event is marked shipped only after the control
// plane stored it, and the control plane ignores an event it has (by
// idempotency key), so a crash or an outage delays events but never loses
// or doubles them. It is safe for concurrent use.
type Shipper struct {
	engine *contextengine.Manager
	sink   Sink
	log    *slog.Logger
	now    func() time.Time
	seed   maphash.Seed
	locks  [64]sync.Mutex // per tenant, by hash: one shipment or load at a time

	mu          sync.Mutex
	dirty       map[string]struct{} // tenants that may have unshipped events
	lastPruned  map[string]time.Time
	lastShipped time.Time // when a Flush last completed without error
}

// NewShipper returns a Shipper from engine's outboxes to sink.
func NewShipper(engine *contextengine.Manager, sink Sink, log *slog.Logger) *Shipper {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Shipper{engine: engine, sink: sink, log: log, now: time.Now, seed: maphash.MakeSeed(),
		dirty: make(map[string]struct{}), lastPruned: make(map[string]time.Time)}
}

// Mark notes that tenantID has events to ship.
func (s *Shipper) Mark(tenantID string) {
	s.mu.Lock()
	s.dirty[tenantID] = struct{}{}
	s.mu.Unlock()
}

// Backlog returns how many tenants have events waiting to ship.
func (s *Shipper) Backlog() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.dirty)
}

// Run ships marked tenants every interval until ctx is done. It first
// marks every tenant on disk, so events a crash left behind are shipped.
func (s *Shipper) Run(ctx context.Context, interval time.Duration) {
	if ids, err := s.engine.TenantIDs(); err != nil {
		s.log.Error("usage shipper: list tenants", "error", err)
	} else {
		for _, id := range ids {
			s.Mark(id)
		}
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if err := s.Flush(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("usage shipper: events wait in the outboxes", "error", err, "tenants", s.Backlog())
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Flush ships every marked tenant once; tenants that fail stay marked.
func (s *Shipper) Flush(ctx context.Context) error {
	s.mu.Lock()
	ids := slices.Collect(maps.Keys(s.dirty))
	s.mu.Unlock()
	var errs []error
	for _, id := range ids {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		err := s.Ship(ctx, id)
		switch {
		case errors.Is(err, contextengine.ErrTenantNotFound):
			s.unmark(id)
		case err != nil:
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		s.mu.Lock()
		s.lastShipped = s.now()
		s.mu.Unlock()
	}
	return errors.Join(errs...)
}

// LastShipped returns when a Flush last completed without error; zero if never.
func (s *Shipper) LastShipped() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastShipped
}

func (s *Shipper) unmark(id string) {
	s.mu.Lock()
	delete(s.dirty, id)
	s.mu.Unlock()
}

// Ship sends all of a tenant's unshipped events to the control plane.
func (s *Shipper) Ship(ctx context.Context, tenantID string) error {
	lock := s.lock(tenantID)
	lock.Lock()
	defer lock.Unlock()
	t, err := s.engine.Open(ctx, tenantID)
	if err != nil {
		return err
	}
	defer t.Close()
	// Unmark before reading: events committed from now on mark it again.
	s.unmark(tenantID)
	for {
		n, err := s.shipBatch(ctx, t)
		if err != nil {
			s.Mark(tenantID)
			return fmt.Errorf("ship usage of tenant %s: %w", tenantID, err)
		}
		if n < shipBatch {
			break
		}
	}
	return s.prune(ctx, t)
}

// shipBatch ships up to shipBatch events and returns how many it read.
func (s *Shipper) shipBatch(ctx context.Context, t *contextengine.Tenant) (int, error) {
	evs, err := t.Unshipped(ctx, shipBatch)
	if err != nil || len(evs) == 0 {
		return 0, err
	}
	batch := make([]tenancy.UsageEvent, len(evs))
	seqs := make([]int64, len(evs))
	for i, ev := range evs {
		batch[i] = tenancy.UsageEvent{TenantID: t.ID(), Meter: ev.Meter, Quantity: ev.Quantity,
			IdempotencyKey: t.ID() + "/" + ev.ID, OccurredAt: ev.At}
		seqs[i] = ev.Seq
	}
	if _, err := s.sink.AddUsage(ctx, batch); err != nil {
		return 0, err
	}
	if err := t.MarkShipped(ctx, seqs, s.now()); err != nil {
		return 0, err
	}
	return len(evs), nil
}

// prune drops long-shipped events, at most once a day per tenant.
func (s *Shipper) prune(ctx context.Context, t *contextengine.Tenant) error {
	now := s.now()
	s.mu.Lock()
	due := now.Sub(s.lastPruned[t.ID()]) >= pruneEvery
	if due {
		s.lastPruned[t.ID()] = now
	}
	s.mu.Unlock()
	if !due {
		return nil
	}
	return t.PruneOutbox(ctx, now.Add(-outboxRetention))
}

func (s *Shipper) lock(tenantID string) *sync.Mutex {
	return &s.locks[maphash.String(s.seed, tenantID)%uint64(len(s.locks))]
}

// PeriodUsage returns what a tenant used in p: the control plane's totals
// plus the events still in its outbox, read while no shipment of it runs.
// When the control plane is unreachable it falls back on the outbox alone,
// which keeps shipped events longer than a period. It makes the Shipper a
// Meter's Source.
func (s *Shipper) PeriodUsage(ctx context.Context, tenantID string, p Period) (map[string]int64, int64, error) {
	lock := s.lock(tenantID)
	lock.Lock()
	defer lock.Unlock()
	t, err := s.engine.Open(ctx, tenantID)
	if err != nil {
		return nil, 0, err
	}
	defer t.Close()
	shipped, err := s.sink.UsageTotals(ctx, tenantID, p.Start, p.End)
	if err != nil {
		s.log.Warn("usage: control plane unreachable; counting the period from the tenant's outbox",
			"tenant", tenantID, "error", err)
		return t.UsageSince(ctx, p.Start, false)
	}
	sums, last, err := t.UsageSince(ctx, p.Start, true)
	if err != nil {
		return nil, 0, err
	}
	for meter, n := range shipped {
		sums[meter] += n
	}
	return sums, last, nil
}
