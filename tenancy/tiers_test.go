package tenancy

import (
	"slices"
	"testing"
	"time"
)

func TestDefaultTiers(t *testing.T) {
	want := []Tier{
		{"free", 1000, 1000, 1, 4000, 10, 20, 30 * 24 * time.Hour},
		{"starter", 100000, 10000, 5, 8000, 50, 100, 90 * 24 * time.Hour},
		{"pro", 0, 0, 0, 16000, 200, 400, 365 * 24 * time.Hour},
		{"enterprise", 0, 0, 0, 32000, 1000, 2000, 0},
	}
	ts := DefaultTiers()
	if len(ts) != len(want) {
		t.Errorf("DefaultTiers has %d tiers, want %d", len(ts), len(want))
	}
	var names []string
	for _, w := range want {
		names = append(names, w.Name)
		if got, ok := ts.Get(w.Name); !ok || got != w {
			t.Errorf("Get(%q) = %+v, %v; want %+v", w.Name, got, ok, w)
		}
	}
	if !slices.Equal(TierOrder(), names) {
		t.Errorf("TierOrder() = %v, want %v", TierOrder(), names)
	}
	if _, ok := ts.Get("gold"); ok {
		t.Error(`Get("gold") found a tier`)
	}
	ts["free"] = Tier{Name: "free"}
	if DefaultTiers()["free"].QueriesPerMonth != 1000 {
		t.Error("DefaultTiers shares its map between calls")
	}
}

func TestNext(t *testing.T) {
	noStarter := DefaultTiers()
	delete(noStarter, "starter")
	tests := []struct {
		tiers      Tiers
		name, want string
	}{
		{DefaultTiers(), "free", "starter"},
		{DefaultTiers(), "starter", "pro"},
		{DefaultTiers(), "pro", "enterprise"},
		{DefaultTiers(), "enterprise", ""},
		{DefaultTiers(), "gold", ""},
		{DefaultTiers(), "", ""},
		{noStarter, "free", "pro"},
		{Tiers{"free": {}}, "free", ""},
	}
	for _, tt := range tests {
		if got := tt.tiers.Next(tt.name); got != tt.want {
			t.Errorf("Next(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}
