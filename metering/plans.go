package metering

import "github.com/contextlite/cloud/tenancy"

// DefaultStorageBytes is the storage quota of every tier unless configured.
const DefaultStorageBytes = 1 << 30

// Plans turns tier names into quotas.
type Plans struct {
	Tiers          tenancy.Tiers
	StorageBytes   int64 // per tenant, every tier (0: DefaultStorageBytes)
	OveragePercent int64 // soft overage of paid tiers; the free tier has none
}

// Quota returns the quota of tier; an unknown tier gets the free tier's.
func (p Plans) Quota(tier string) Quota {
	t, ok := p.Tiers.Get(tier)
	if !ok {
		tier = "free"
		t, _ = p.Tiers.Get(tier)
	}
	q := Quota{
		Tier:           tier,
		NextTier:       p.Tiers.Next(tier),
		Queries:        t.QueriesPerMonth,
		Documents:      t.Documents,
		Workspaces:     t.Workspaces,
		StorageBytes:   p.StorageBytes,
		OveragePercent: p.OveragePercent,
	}
	if q.StorageBytes == 0 {
		q.StorageBytes = DefaultStorageBytes
	}
	if tier == "free" {
		q.OveragePercent = 0
	}
	return q
}
