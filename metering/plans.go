package metering

import "github.com/contextlite/cloud/tenancy"

// DefaultStorageBytes is the storage quota of every tier unless configured.
const DefaultStorageBytes = 1 << 30

// Plans turns tier names into quotas, worked out once.
type Plans struct {
	quotas map[string]Quota
}

// NewPlans returns the quotas of tiers, with a storage quota per tenant
// (0: DefaultStorageBytes) and the soft overage of paid tiers in percent
// (the free tier has none).
func NewPlans(tiers tenancy.Tiers, storageBytes, overagePercent int64) Plans {
	if storageBytes <= 0 {
		storageBytes = DefaultStorageBytes
	}
	p := Plans{quotas: make(map[string]Quota, len(tiers))}
	for name, t := range tiers {
		q := Quota{
			Tier:           name,
			NextTier:       tiers.Next(name),
			Queries:        t.QueriesPerMonth,
			Documents:      t.Documents,
			Workspaces:     t.Workspaces,
			StorageBytes:   storageBytes,
			OveragePercent: overagePercent,
		}
		if name == freeTier {
			q.OveragePercent = 0
		}
		p.quotas[name] = q
	}
	return p
}

// freeTier is the tier an unknown tier falls back on.
const freeTier = "free"

// Quota returns the quota of tier; an unknown tier gets the free tier's.
func (p Plans) Quota(tier string) Quota {
	if q, ok := p.quotas[tier]; ok {
		return q
	}
	return p.quotas[freeTier]
}
