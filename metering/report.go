package metering

import (
	"context"
	"maps"
	"time"

	"github.com/contextlite/cloud/contextengine"
)

// Report is a tenant's usage of its current period.
type Report struct {
	Tier     string                `json:"tier"`
	Period   Period                `json:"period"`
	Meters   Meters                `json:"meters"`
	Rejected map[string]int64      `json:"rejected"` // refused requests by reason, not billed
	Upgrade  string                `json:"upgrade_to,omitempty"`
}

// Meters are the meters of a Report.
type Meters struct {
	Queries      MeterUsage `json:"queries"`
	Tokens       MeterUsage `json:"tokens"`
	Documents    MeterUsage `json:"documents"`
	Workspaces   MeterUsage `json:"workspaces"`
	StorageBytes MeterUsage `json:"storage_bytes"`
}

// MeterUsage is one meter of a Report. Limit, Remaining and Percent are
// absent for unlimited meters; Reset only for per-period meters.
type MeterUsage struct {
	Used      int64      `json:"used"`
	Limit     *int64     `json:"limit"`
	Remaining *int64     `json:"remaining,omitempty"`
	Percent   *float64   `json:"percent,omitempty"`
	Reset     *time.Time `json:"reset,omitempty"`
}

// Report returns tenantID's usage of its current period under quota q,
// with totals as the engine counts them now.
func (m *Meter) Report(ctx context.Context, tenantID string, anchor time.Time, q Quota, totals contextengine.Totals) (Report, error) {
	acct, err := m.account(ctx, tenantID, anchor)
	if err != nil {
		return Report{}, err
	}
	acct.mu.Lock()
	defer acct.mu.Unlock()
	reset := acct.period.End
	r := Report{
		Tier:     q.Tier,
		Period:   acct.period,
		Rejected: maps.Clone(acct.rejected),
		Meters: Meters{
			Queries:      meterUsage(acct.queries.Load(), q.Queries, &reset),
			Tokens:       meterUsage(acct.tokens.Load(), 0, &reset),
			Documents:    meterUsage(totals.Documents, q.Documents, nil),
			Workspaces:   meterUsage(totals.Workspaces, q.Workspaces, nil),
			StorageBytes: meterUsage(totals.StorageBytes, q.StorageBytes, nil),
		},
	}
	for _, u := range []MeterUsage{r.Meters.Queries, r.Meters.Documents, r.Meters.StorageBytes} {
		if u.Percent != nil && *u.Percent >= float64(thresholds[0]) {
			r.Upgrade = q.NextTier
		}
	}
	return r, nil
}

func meterUsage(used, limit int64, reset *time.Time) MeterUsage {
	u := MeterUsage{Used: used, Reset: reset}
	if limit > 0 {
		remaining := max(limit-used, 0)
		percent := float64(used) * 100 / float64(limit)
		u.Limit, u.Remaining, u.Percent = &limit, &remaining, &percent
	}
	return u
}
