package caddymodule

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/contextlite/cloud/cluster"
	"github.com/contextlite/cloud/contextengine"
	"github.com/contextlite/cloud/datadir"
	"github.com/contextlite/cloud/metering"
	"github.com/contextlite/cloud/notify"
	"github.com/contextlite/cloud/retention"
	"github.com/contextlite/cloud/tenancy"
)

// pool holds the shared state of each data dir and DSN.
var pool = caddy.NewUsagePool()

// locks holds this process's lock of each data dir (by absolute path):
// taken by the first config using the dir, kept across reloads, released
// after the last config using it has closed its state.
var locks = caddy.NewUsagePool()

// heldLock is a data dir lock in the locks pool.
type heldLock struct{ *datadir.Lock }

// Destruct releases the lock.
func (l heldLock) Destruct() error { return l.Release() }

// lockDataDir takes, or shares with the running config, the lock of the
// data dir, so a second process on it refuses to start.
func (a *App) lockDataDir() error {
	dir, err := filepath.Abs(a.DataDir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	_, _, err = locks.LoadOrNew(dir, func() (caddy.Destructor, error) {
		l, err := datadir.Acquire(dir)
		if err != nil {
			return nil, err
		}
		return heldLock{l}, nil
	})
	if err != nil {
		return err
	}
	a.lockKey = dir
	return nil
}

// sharedConfig is what the state is opened with; the first config that
// opens it decides, and a reload may not change it.
type sharedConfig struct {
	dataDir, dsn         string
	maxOpen              int
	shipInterval         time.Duration
	allowPrivateWebhooks bool
	tiers                tenancy.Tiers // for data retention
}

// changes names the settings of next that differ from c's, which only a
// restart would apply.
func (c sharedConfig) changes(next sharedConfig) []string {
	var out []string
	if c.maxOpen != next.maxOpen {
		out = append(out, fmt.Sprintf("max_open_tenants (running %d, new %d)", c.maxOpen, next.maxOpen))
	}
	if c.shipInterval != next.shipInterval {
		out = append(out, fmt.Sprintf("usage_ship_interval (running %v, new %v)", c.shipInterval, next.shipInterval))
	}
	if c.allowPrivateWebhooks != next.allowPrivateWebhooks {
		out = append(out, fmt.Sprintf("allow_private_webhooks (running %v, new %v)", c.allowPrivateWebhooks, next.allowPrivateWebhooks))
	}
	names := make(map[string]bool)
	for name := range c.tiers {
		names[name] = true
	}
	for name := range next.tiers {
		names[name] = true
	}
	for _, name := range slices.Sorted(maps.Keys(names)) {
		if was, now := c.tiers[name].Retention, next.tiers[name].Retention; was != now {
			out = append(out, fmt.Sprintf("tier %s retention (running %v, new %v)", name, was, now))
		}
	}
	return out
}

// retentionInterval is how often data retention runs.
const retentionInterval = 24 * time.Hour

// shared is what survives config reloads: the engine, the control plane,
// the usage meter, the metrics and the background work that moves usage
// and notices and applies data retention.
type shared struct {
	engine  *contextengine.Manager
	store   tenancy.Store
	meter   *metering.Meter
	shipper *metering.Shipper
	notices *notify.Dispatcher
	metrics *metrics
	coord   *cluster.Coordinator // nil: the control plane is not shared (SQLite)
	log     *slog.Logger
	started time.Time    // for the uptime /health reports
	cfg     sharedConfig // what it was opened with

	stop context.CancelFunc
	wg   sync.WaitGroup
}

// shutdownFlush bounds the last shipment of usage at shutdown.
const shutdownFlush = 20 * time.Second

// openShared opens the engine and the control plane and starts the
// background work.
func openShared(ctx context.Context, cfg sharedConfig, log *slog.Logger) (*shared, error) {
	s := &shared{log: log, started: time.Now(), cfg: cfg}
	store, err := tenancy.Open(ctx, cfg.dsn, cfg.dataDir)
	if err != nil {
		return nil, fmt.Errorf("control plane: %w", err)
	}
	s.store = store
	if tenancy.IsPostgres(cfg.dsn) {
		if s.coord, err = cluster.Open(ctx, cfg.dsn, log); err != nil {
			store.Close()
			return nil, err
		}
	}
	s.engine, err = contextengine.NewManager(contextengine.Options{DataDir: cfg.dataDir, MaxOpen: cfg.maxOpen, OnUsage: s.onUsage})
	if err != nil {
		s.closeControlPlane()
		return nil, err
	}
	s.shipper = metering.NewShipper(s.engine, store, log)
	s.meter = metering.New(metering.Options{Source: s.shipper, OnNotice: s.onNotice})
	s.metrics = newMetrics(s)
	s.notices = &notify.Dispatcher{Store: store, Client: notify.NewClient(cfg.allowPrivateWebhooks, 10*time.Second), Logger: log}
	run, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = stop
	// Retention prunes the control plane's rows once, and each node purges
	// the files of deleted tenants it holds.
	rows := &retention.Job{Store: store, Files: s.engine, Tiers: cfg.tiers, Logger: log, Work: retention.PruneRows}
	files := &retention.Job{Store: store, Files: s.engine, Tiers: cfg.tiers, Logger: log, Work: retention.PurgeFiles}
	s.wg.Go(func() { s.shipper.Run(run, cfg.shipInterval) })
	s.wg.Go(func() { s.singleton(run, jobNotices, s.notices.Run) })
	s.wg.Go(func() { s.singleton(run, jobRetention, func(ctx context.Context) { rows.Run(ctx, retentionInterval) }) })
	s.wg.Go(func() { files.Run(run, retentionInterval) })
	return s, nil
}

// The singleton jobs: each runs on one node of those sharing the control
// plane.
const (
	jobNotices   = "notices"   // usage notice delivery
	jobBilling   = "billing"   // Stripe usage reports and payment grace
	jobRetention = "retention" // pruning the control plane's usage, notices and audit entries
)

// singleton runs job until ctx ends on one node at a time of those that
// share the control plane, or here when it is not shared.
func (s *shared) singleton(ctx context.Context, name string, job func(context.Context)) {
	if s.coord == nil {
		job(ctx)
		return
	}
	s.coord.Leases.Run(ctx, name, job)
}

// closeControlPlane closes the coordination and the store.
func (s *shared) closeControlPlane() error {
	if s.coord != nil {
		s.coord.Close()
	}
	return s.store.Close()
}

// onUsage is the engine's usage hook.
func (s *shared) onUsage(tenantID string, events []contextengine.UsageEvent, totals contextengine.Totals) {
	s.shipper.Mark(tenantID)
	s.meter.Observe(tenantID, events, totals)
}

// onNotice records a threshold notice for delivery, off the request path.
func (s *shared) onNotice(n metering.Notice) {
	go s.recordNotice(n)
}

// noticePayload is the JSON body of a usage notice webhook.
type noticePayload struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"` // usage.threshold
	TenantID  string          `json:"tenant_id"`
	Meter     string          `json:"meter"`
	Threshold int             `json:"threshold"` // percent of the limit
	Used      int64           `json:"used"`
	Limit     int64           `json:"limit"`
	Period    metering.Period `json:"period"`
	Tier      string          `json:"tier"`
	UpgradeTo string          `json:"upgrade_to,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
}

func (s *shared) recordNotice(n metering.Notice) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	now := time.Now().UTC()
	id := tenancy.NoticeID(n.TenantID, n.Meter, n.Period.Start, n.Threshold)
	body, _ := json.Marshal(noticePayload{ID: id, Type: "usage.threshold", TenantID: n.TenantID, Meter: n.Meter,
		Threshold: n.Threshold, Used: n.Used, Limit: n.Limit, Period: n.Period, Tier: n.Tier, UpgradeTo: n.NextTier, CreatedAt: now})
	added, err := s.store.AddNotice(ctx, tenancy.Notice{ID: id, TenantID: n.TenantID, Meter: n.Meter, PeriodStart: n.Period.Start,
		Threshold: n.Threshold, Payload: body, Status: tenancy.NoticePending, NextAttempt: now, CreatedAt: now})
	if err != nil {
		s.log.Error("usage notice not recorded", "tenant", n.TenantID, "meter", n.Meter, "threshold", n.Threshold, "error", err)
		return
	}
	if added {
		s.notices.Poke()
	}
}

// Destruct stops the background work, ships the usage left in the
// outboxes, and closes the engine and the control plane.
func (s *shared) Destruct() error {
	s.stop()
	s.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), shutdownFlush)
	defer cancel()
	if err := s.shipper.Flush(ctx); err != nil {
		s.log.Error("usage left unshipped at shutdown; it ships at the next start", "error", err)
	}
	s.engine.Close()
	return s.closeControlPlane()
}
