package tokencount

import "testing"

// TestMergeHeap checks that both merge algorithms agree on every substring
// of the tricky strings short enough for the scanning one.
func TestMergeHeap(t *testing.T) {
	ranks := newCounter(t).ranks
	for _, s := range tricky {
		for i := range len(s) {
			for j := i + 2; j <= min(len(s), i+maxScan); j++ {
				if got, want := ranks.mergeHeap(s[i:j]), ranks.merge(s[i:j]); got != want {
					t.Errorf("mergeHeap(%q) = %d, merge = %d", s[i:j], got, want)
				}
			}
		}
	}
}
