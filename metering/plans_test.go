package metering

import (
	"testing"

	"github.com/contextlite/cloud/tenancy"
)

func TestPlans(t *testing.T) {
	p := NewPlans(tenancy.DefaultTiers(), 0, 10)
	free := p.Quota("free")
	if free.Queries != 1000 || free.Documents != 1000 || free.OveragePercent != 0 || free.NextTier != "starter" ||
		free.StorageBytes != DefaultStorageBytes {
		t.Errorf("free = %+v", free)
	}
	if got := p.Quota("no-such-tier"); got != free {
		t.Errorf("unknown tier = %+v, want the free quota", got)
	}
	starter := p.Quota("starter")
	if starter.OveragePercent != 10 || starter.Limits().Documents != 11000 || starter.Limits().Workspaces != 5 {
		t.Errorf("starter = %+v, limits %+v", starter, starter.Limits())
	}
	if ent := p.Quota("enterprise"); ent.Queries != 0 || ent.NextTier != "" || ent.Limits().Documents != 0 {
		t.Errorf("enterprise = %+v", ent)
	}
}
