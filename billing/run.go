package billing

import (
	"context"
	"time"
)

// DefaultInterval is how often Run does its rounds.
const DefaultInterval = time.Minute

// Run checks Stripe's reachability, creates missing customers, reports
// usage and enforces the payment grace period every interval until ctx
// is done. Failures are logged and retried at the next round.
func (b *Billing) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultInterval
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		b.round(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// round does one round of Run's work.
func (b *Billing) round(ctx context.Context) {
	b.checkHealth(ctx)
	for name, job := range map[string]func(context.Context) error{
		"create customers": b.ensureCustomers,
		"report usage":     b.ReportUsage,
		"enforce grace":    b.EnforceGrace,
	} {
		if err := job(ctx); err != nil && ctx.Err() == nil {
			b.log.Warn("billing: "+name+" failed; retrying next round", "error", err)
		}
	}
}
