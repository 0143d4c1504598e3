package retrievalbench

import "math"

// Item is a returned span of a document.
type Item struct {
	Path      string
	StartLine int
	EndLine   int
	Tokens    int    // exact o200k_base count of Content
	Content   string // should be exactly lines StartLine..EndLine
}

// hits reports whether item and span share the path and overlap by at
// least half of the shorter of the two.
func hits(it Item, r Span) bool {
	if it.Path != r.Path {
		return false
	}
	overlap := min(it.EndLine, r.EndLine) - max(it.StartLine, r.StartLine) + 1
	shorter := min(it.EndLine-it.StartLine+1, r.EndLine-r.StartLine+1)
	return overlap > 0 && 2*overlap >= shorter
}

// Ranking holds the ranked-list metrics of one query.
type Ranking struct {
	NDCG, Recall, MRR float64
}

// scoreRanking scores the first 10 items: each span is credited once, at
// the first item that hits it, and an item credits at most one span.
func scoreRanking(items []Item, relevant []Span) Ranking {
	if len(items) > 10 {
		items = items[:10]
	}
	credited := make([]bool, len(relevant))
	var dcg float64
	var found int
	var rr float64
	for k, it := range items {
		for j, r := range relevant {
			if credited[j] || !hits(it, r) {
				continue
			}
			credited[j] = true
			found++
			dcg += 1 / math.Log2(float64(k+2))
			if rr == 0 {
				rr = 1 / float64(k+1)
			}
			break
		}
	}
	var idcg float64
	for k := range min(len(relevant), 10) {
		idcg += 1 / math.Log2(float64(k+2))
	}
	return Ranking{NDCG: dcg / idcg, Recall: float64(found) / float64(len(relevant)), MRR: rr}
}

// coverage is the best share of a relevant span's lines inside returned
// items, over the query's spans.
func coverage(items []Item, relevant []Span) float64 {
	best := 0.0
	for _, r := range relevant {
		covered := 0
		for line := r.StartLine; line <= r.EndLine; line++ {
			for _, it := range items {
				if it.Path == r.Path && it.StartLine <= line && line <= it.EndLine {
					covered++
					break
				}
			}
		}
		best = max(best, float64(covered)/float64(r.EndLine-r.StartLine+1))
	}
	return best
}
