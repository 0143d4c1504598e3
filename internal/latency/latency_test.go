package latency

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	s := Samples{5 * time.Millisecond, 1 * time.Millisecond, 3 * time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond}
	for p, want := range map[float64]time.Duration{0.2: time.Millisecond, 0.5: 3 * time.Millisecond, 0.95: 5 * time.Millisecond, 1: 5 * time.Millisecond} {
		if got := s.Percentile(p); got != want {
			t.Errorf("Percentile(%v) = %v, want %v", p, got, want)
		}
	}
	if got := (Samples{}).Percentile(0.5); got != 0 {
		t.Errorf("empty: %v", got)
	}
}
