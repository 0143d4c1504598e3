package retrievalbench

import (
	"math"
	"testing"
)

func TestHits(t *testing.T) {
	r := Span{Path: "a.go", StartLine: 10, EndLine: 19}
	tests := []struct {
		it   Item
		want bool
	}{
		{Item{Path: "a.go", StartLine: 1, EndLine: 100}, true},  // contains the span
		{Item{Path: "a.go", StartLine: 15, EndLine: 40}, true},  // 5 of 10 lines
		{Item{Path: "a.go", StartLine: 16, EndLine: 40}, false}, // 4 of 10 lines
		{Item{Path: "a.go", StartLine: 19, EndLine: 19}, true},  // all of a 1-line item
		{Item{Path: "a.go", StartLine: 20, EndLine: 30}, false},
		{Item{Path: "b.go", StartLine: 10, EndLine: 19}, false},
	}
	for _, tt := range tests {
		if got := hits(tt.it, r); got != tt.want {
			t.Errorf("hits(%+v) = %v, want %v", tt.it, got, tt.want)
		}
	}
}

func TestScoreRanking(t *testing.T) {
	rel := []Span{{Path: "a.go", StartLine: 1, EndLine: 5}, {Path: "b.go", StartLine: 1, EndLine: 5}}
	miss := Item{Path: "c.go", StartLine: 1, EndLine: 5}
	hitA := Item{Path: "a.go", StartLine: 1, EndLine: 5}
	hitB := Item{Path: "b.go", StartLine: 1, EndLine: 5}
	got := scoreRanking([]Item{miss, hitA, hitA, hitB}, rel)
	dcg := 1/math.Log2(3) + 1/math.Log2(5)
	idcg := 1 + 1/math.Log2(3)
	if math.Abs(got.NDCG-dcg/idcg) > 1e-12 || got.Recall != 1 || got.MRR != 0.5 {
		t.Fatalf("scoreRanking = %+v, want nDCG %.4f recall 1 MRR 0.5", got, dcg/idcg)
	}
	if got := scoreRanking(nil, rel); got != (Ranking{}) {
		t.Fatalf("empty ranking = %+v", got)
	}
}

func TestCoverage(t *testing.T) {
	rel := []Span{{Path: "a.go", StartLine: 1, EndLine: 10}, {Path: "b.go", StartLine: 1, EndLine: 4}}
	items := []Item{{Path: "a.go", StartLine: 1, EndLine: 3}, {Path: "a.go", StartLine: 8, EndLine: 20}, {Path: "b.go", StartLine: 4, EndLine: 9}}
	if got := coverage(items, rel); got != 0.6 {
		t.Fatalf("coverage = %v, want 0.6", got)
	}
}
