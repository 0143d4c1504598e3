package metering

import (
	"fmt"
	"time"

	"github.com/contextlite/cloud/contextengine"
)

// Meters with a quota, as reports and errors name them.
const (
	Queries      = contextengine.MeterQueries
	Tokens       = contextengine.MeterTokens
	Documents    = contextengine.LimitDocuments
	Workspaces   = contextengine.LimitWorkspaces
	StorageBytes = contextengine.LimitStorageBytes
)

// Quota is what a tenant's tier allows: queries per period, the rest at
// any time. Zero limits are unlimited.
type Quota struct {
	Tier         string
	NextTier     string // suggested upgrade; "" for none
	Queries      int64
	Documents    int64
	Workspaces   int64
	StorageBytes int64
	// OveragePercent lets usage run this far past each limit, metered,
	// before it is refused (0: the limits are hard).
	OveragePercent int64
}

// hard returns the point past which limit refuses usage (0: never).
func (q Quota) hard(limit int64) int64 {
	return limit + limit*q.OveragePercent/100
}

// Limits returns the engine limits that enforce q's stored-data quotas.
func (q Quota) Limits() contextengine.Limits {
	return contextengine.Limits{
		Documents:    q.hard(q.Documents),
		Workspaces:   q.hard(q.Workspaces),
		StorageBytes: q.hard(q.StorageBytes),
	}
}

// limit returns q's limit on meter (0: unlimited).
func (q Quota) limit(meter string) int64 {
	switch meter {
	case Queries:
		return q.Queries
	case Documents:
		return q.Documents
	case Workspaces:
		return q.Workspaces
	case StorageBytes:
		return q.StorageBytes
	}
	return 0
}

// QuotaError reports a request refused because a quota is used up.
type QuotaError struct {
	Meter    string
	Limit    int64
	Reset    time.Time // when the period's quota starts afresh
	Tier     string
	NextTier string
}

func (e *QuotaError) Error() string {
	msg := fmt.Sprintf("the %s tier's %s quota of %d is used up", e.Tier, e.Meter, e.Limit)
	if e.Meter == Queries {
		msg += "; it resets at " + e.Reset.Format(time.RFC3339)
	}
	if e.NextTier != "" {
		msg += "; the " + e.NextTier + " tier allows more"
	}
	return msg
}
