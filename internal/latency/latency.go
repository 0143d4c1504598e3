// Package latency summarises the latencies a benchmark measured.
package latency

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// Samples are latencies of single calls.
type Samples []time.Duration

// Percentile returns the p-th percentile (0 < p <= 1), nearest rank.
func (s Samples) Percentile(p float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	sorted := slices.Sorted(slices.Values(s))
	return sorted[max(0, int(float64(len(sorted))*p+0.999999)-1)]
}

// Report adds the p50 and p95 in unit ("ms" or "us") to b, named
// prefix+"p50-"+unit and prefix+"p95-"+unit.
func (s Samples) Report(b *testing.B, prefix, unit string) {
	scale := map[string]time.Duration{"ms": time.Millisecond, "us": time.Microsecond}[unit]
	for _, p := range []float64{0.50, 0.95} {
		b.ReportMetric(float64(s.Percentile(p))/float64(scale), fmt.Sprintf("%sp%.0f-%s", prefix, p*100, unit))
	}
}
