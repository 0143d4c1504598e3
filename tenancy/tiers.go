package tenancy

import (
	"slices"
	"time"
)

// Tier is a plan's limits. A zero QueriesPerMonth, Documents, Workspaces
// or Retention means unlimited.
type Tier struct {
	Name            string        `json:"name"`
	QueriesPerMonth int64         `json:"queries_per_month"` // 0: unlimited
	Documents       int64         `json:"documents"`         // 0: unlimited
	Workspaces      int64         `json:"workspaces"`        // 0: unlimited
	TokensPerQuery  int           `json:"tokens_per_query"`
	RatePerSecond   int           `json:"rate_per_second"`
	Burst           int           `json:"burst"`
	Retention       time.Duration `json:"retention"` // 0: unlimited
}

// Tiers maps tier names to their limits.
type Tiers map[string]Tier

const day = 24 * time.Hour

// DefaultTiers returns a new map of the standard tiers.
func DefaultTiers() Tiers {
	return Tiers{
		"free": {Name: "free", QueriesPerMonth: 1000, Documents: 1000, Workspaces: 1,
			TokensPerQuery: 4000, RatePerSecond: 10, Burst: 20, Retention: 30 * day},
		"starter": {Name: "starter", QueriesPerMonth: 100000, Documents: 10000, Workspaces: 5,
			TokensPerQuery: 8000, RatePerSecond: 50, Burst: 100, Retention: 90 * day},
		"pro": {Name: "pro",
			TokensPerQuery: 16000, RatePerSecond: 200, Burst: 400, Retention: 365 * day},
		"enterprise": {Name: "enterprise",
			TokensPerQuery: 32000, RatePerSecond: 1000, Burst: 2000},
	}
}

// Get returns the tier called name.
func (ts Tiers) Get(name string) (Tier, bool) {
	t, ok := ts[name]
	return t, ok
}

// TierOrder returns the standard tier names from the smallest to the largest.
func TierOrder() []string {
	return []string{"free", "starter", "pro", "enterprise"}
}

// Next returns the next tier up, for upgrade suggestions ("" for the top one).
// It skips standard tiers that ts lacks and returns "" for a tier outside
// TierOrder.
func (ts Tiers) Next(name string) string {
	order := TierOrder()
	i := slices.Index(order, name)
	if i < 0 {
		return ""
	}
	for _, next := range order[i+1:] {
		if _, ok := ts[next]; ok {
			return next
		}
	}
	return ""
}
