package metering

import (
	"context"
	"strconv"
	"time"

	"github.com/contextlite/cloud/contextengine"
)

// Report is a tenant's usage of its current period.
type Report struct {
	Tier     string
	Period   Period
	Meters   Meters
	Rejected Rejected // refused requests, not billed
	Upgrade  string   // the next tier, suggested from 80 % of a quota
}

// Meters are the meters of a Report.
type Meters struct {
	Queries, Tokens, Documents, Workspaces, StorageBytes MeterUsage
}

// Rejected counts the requests of a period refused by quota and by rate limit.
type Rejected struct {
	Quota     int64
	RateLimit int64
}

// MeterUsage is one meter of a Report.
type MeterUsage struct {
	Used  int64
	Limit int64     // 0: unlimited
	Reset time.Time // per-period meters: when the period ends
}

// Percent returns how much of the limit is used (0 when unlimited).
func (u MeterUsage) Percent() float64 {
	if u.Limit <= 0 {
		return 0
	}
	return float64(u.Used) * 100 / float64(u.Limit)
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
		Rejected: acct.rejected,
		Meters: Meters{
			Queries:      MeterUsage{acct.queries.Load(), q.Queries, reset},
			Tokens:       MeterUsage{Used: acct.tokens.Load(), Reset: reset},
			Documents:    MeterUsage{Used: totals.Documents, Limit: q.Documents},
			Workspaces:   MeterUsage{Used: totals.Workspaces, Limit: q.Workspaces},
			StorageBytes: MeterUsage{Used: totals.StorageBytes, Limit: q.StorageBytes},
		},
	}
	for _, u := range []MeterUsage{r.Meters.Queries, r.Meters.Documents, r.Meters.StorageBytes} {
		if u.Percent() >= float64(thresholds[0]) {
			r.Upgrade = q.NextTier
		}
	}
	return r, nil
}

// MarshalJSON encodes r as GET /api/v1/usage answers it, less the answer's
// leading "object": "usage":
//
//	{"tier": "free", "period": {"start": ..., "end": ...},
//	 "meters": {"queries": {"used": 5, "limit": 1000, "remaining": 995, "percent": 0.5, "reset": ...}, ...},
//	 "rejected": {"quota": 0, "rate_limit": 0}, "upgrade_to": "starter"}
//
// An unlimited meter has "limit": null and no remaining or percent. It is
// written by hand: the usage endpoint is polled, and reflection cost more
// than the rest of the request.
func (r Report) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 768)
	b = append(b, `{"tier":`...)
	b = strconv.AppendQuote(b, r.Tier)
	b = append(b, `,"period":{"start":`...)
	b = appendTime(b, r.Period.Start)
	b = append(b, `,"end":`...)
	b = appendTime(b, r.Period.End)
	b = append(b, `},"meters":{"queries":`...)
	b = r.Meters.Queries.appendJSON(b)
	b = append(b, `,"tokens":`...)
	b = r.Meters.Tokens.appendJSON(b)
	b = append(b, `,"documents":`...)
	b = r.Meters.Documents.appendJSON(b)
	b = append(b, `,"workspaces":`...)
	b = r.Meters.Workspaces.appendJSON(b)
	b = append(b, `,"storage_bytes":`...)
	b = r.Meters.StorageBytes.appendJSON(b)
	b = append(b, `},"rejected":{"quota":`...)
	b = strconv.AppendInt(b, r.Rejected.Quota, 10)
	b = append(b, `,"rate_limit":`...)
	b = strconv.AppendInt(b, r.Rejected.RateLimit, 10)
	b = append(b, '}')
	if r.Upgrade != "" {
		b = append(b, `,"upgrade_to":`...)
		b = strconv.AppendQuote(b, r.Upgrade)
	}
	return append(b, '}'), nil
}

func (u MeterUsage) appendJSON(b []byte) []byte {
	b = append(b, `{"used":`...)
	b = strconv.AppendInt(b, u.Used, 10)
	if u.Limit > 0 {
		b = append(b, `,"limit":`...)
		b = strconv.AppendInt(b, u.Limit, 10)
		b = append(b, `,"remaining":`...)
		b = strconv.AppendInt(b, max(u.Limit-u.Used, 0), 10)
		b = append(b, `,"percent":`...)
		b = strconv.AppendFloat(b, u.Percent(), 'f', -1, 64)
	} else {
		b = append(b, `,"limit":null`...)
	}
	if !u.Reset.IsZero() {
		b = append(b, `,"reset":`...)
		b = appendTime(b, u.Reset)
	}
	return append(b, '}')
}

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, time.RFC3339)
	return append(b, '"')
}
