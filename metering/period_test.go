package metering

import (
	"testing"
	"time"
)

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestPeriodAt(t *testing.T) {
	tests := []struct {
		at, anchor, start, end string
	}{
		{"2026-11-29T06:00:00Z", "", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"},
		{"2026-12-31T23:59:59Z", "", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"},
		{"2026-11-01T00:00:00Z", "", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"},
		// Anchored on the 15th at noon.
		{"2026-11-29T06:00:00Z", "2026-03-15T12:00:00Z", "2026-11-15T12:00:00Z", "2026-12-15T12:00:00Z"},
		{"2026-11-15T11:59:59Z", "2026-03-15T12:00:00Z", "2026-10-15T12:00:00Z", "2026-11-15T12:00:00Z"},
		{"2026-11-15T12:00:00Z", "2026-03-15T12:00:00Z", "2026-11-15T12:00:00Z", "2026-12-15T12:00:00Z"},
		// Anchored on the 31st: short months end on their last day.
		{"2027-02-10T00:00:00Z", "2026-01-31T00:00:00Z", "2027-01-31T00:00:00Z", "2027-02-28T00:00:00Z"},
		{"2027-03-01T00:00:00Z", "2026-01-31T00:00:00Z", "2027-02-28T00:00:00Z", "2027-03-31T00:00:00Z"},
		// Before the anchor: periods run backwards from it.
		{"2026-01-20T00:00:00Z", "2026-03-15T00:00:00Z", "2026-01-15T00:00:00Z", "2026-02-15T00:00:00Z"},
	}
	for _, tt := range tests {
		var anchor time.Time
		if tt.anchor != "" {
			anchor = date(tt.anchor)
		}
		p := PeriodAt(date(tt.at), anchor)
		if !p.Start.Equal(date(tt.start)) || !p.End.Equal(date(tt.end)) {
			t.Errorf("PeriodAt(%s, %s) = %s..%s, want %s..%s", tt.at, tt.anchor, p.Start, p.End, tt.start, tt.end)
		}
		if !p.Contains(date(tt.at)) {
			t.Errorf("period %v does not contain %s", p, tt.at)
		}
	}
}
