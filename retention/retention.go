// Package retention applies each tier's data retention to the control
// plane's usage events, notices and audit entries, and purges the files
// of tenants deleted longer ago than a grace period.
package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/contextlite/cloud/contextengine"
	"github.com/contextlite/cloud/metering"
	"github.com/contextlite/cloud/tenancy"
)

// Store is the control plane as retention uses it.
type Store interface {
	Tenants(ctx context.Context) ([]tenancy.Tenant, error)
	PruneUsage(ctx context.Context, tenantID string, before time.Time) (int64, error)
}

// Purger removes a tenant's data files.
type Purger interface {
	Delete(ctx context.Context, id string) error
}

// Work selects what a Job does.
type Work int

// The parts of a retention pass; the zero Work does both.
const (
	PruneRows  Work = 1 << iota // the control plane's usage, notices and audit entries: once per cluster
	PurgeFiles                  // the files of deleted tenants held here: on every node
)

// Job is the daily retention job. Set its fields before Run.
type Job struct {
	Store  Store
	Files  Purger
	Tiers  tenancy.Tiers
	Work   Work             // zero: PruneRows | PurgeFiles
	Grace  time.Duration    // deleted tenants' files are kept this long (default 30 days)
	Now    func() time.Time // default time.Now
	Logger *slog.Logger     // nil: discard
}

// Result counts what one pass removed.
type Result struct {
	Rows   int64 // usage events and notices
	Purged int   // deleted tenants whose files went
}

// Run does a pass now and then every interval (a day, typically) until
// ctx is done.
func (j *Job) Run(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if res, err := j.Once(ctx); err != nil && ctx.Err() == nil {
			j.log().Warn("retention pass failed; retrying at the next", "error", err)
		} else if res.Rows > 0 || res.Purged > 0 {
			j.log().Info("retention pass", "rows_deleted", res.Rows, "tenants_purged", res.Purged)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Once does one pass over every tenant.
func (j *Job) Once(ctx context.Context) (Result, error) {
	tenants, err := j.Store.Tenants(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("retention: %w", err)
	}
	work := j.Work
	if work == 0 {
		work = PruneRows | PurgeFiles
	}
	var res Result
	var errs []error
	for _, t := range tenants {
		deleted := t.Status == tenancy.StatusDeleted
		switch {
		case deleted && work&PurgeFiles == 0, !deleted && work&PruneRows == 0:
			continue
		case deleted:
			purged, err := j.purge(ctx, t)
			if purged {
				res.Purged++
			}
			errs = append(errs, err)
		default:
			n, err := j.prune(ctx, t)
			res.Rows += n
			errs = append(errs, err)
		}
	}
	return res, errors.Join(errs...)
}

// prune applies t's tier retention to its usage, notices and audit
// entries, keeping its current billing period whole: the quotas count it.
func (j *Job) prune(ctx context.Context, t tenancy.Tenant) (int64, error) {
	tier, ok := j.Tiers.Get(t.Tier)
	if !ok || tier.Retention <= 0 {
		return 0, nil
	}
	now := j.now()
	cutoff := now.Add(-tier.Retention)
	if start := metering.PeriodAt(now, t.BillingAnchor).Start; start.Before(cutoff) {
		cutoff = start
	}
	return j.Store.PruneUsage(ctx, t.ID, cutoff)
}

// purge removes the files of a tenant deleted longer ago than the grace
// period, and reports whether it did.
func (j *Job) purge(ctx context.Context, t tenancy.Tenant) (bool, error) {
	grace := j.Grace
	if grace <= 0 {
		grace = tenancy.DeletionGrace
	}
	if j.now().Sub(t.UpdatedAt) < grace {
		return false, nil
	}
	err := j.Files.Delete(ctx, t.ID)
	if errors.Is(err, contextengine.ErrTenantNotFound) {
		return false, nil // purged already
	}
	if err != nil {
		return false, fmt.Errorf("purge tenant %s: %w", t.ID, err)
	}
	return true, nil
}

func (j *Job) now() time.Time {
	if j.Now != nil {
		return j.Now()
	}
	return time.Now()
}

func (j *Job) log() *slog.Logger {
	if j.Logger != nil {
		return j.Logger
	}
	return slog.New(slog.DiscardHandler)
}
