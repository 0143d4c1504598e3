package contextengine

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestTermStatsFullKeepsExistingTerms fills the term statistics cache past
// its bound and checks that a term that exists is still counted and found.
func TestTermStatsFullKeepsExistingTerms(t *testing.T) {
	const limit = 8
	tn := newTestTenant(t)
	ctx := context.Background()
	var fill []string
	for i := range 3 * limit {
		fill = append(fill, "filler"+string(rune('a'+i)))
	}
	mustAdd(t, tn,
		NewDocument{Path: "fill.txt", Content: strings.Join(fill, " ") + "\n"},
		NewDocument{Path: "needle.go", Content: "package needle\n\n// Haystack hides a needle.\nfunc Haystack() {}\n"},
	)
	tn.db.stats = newTermStats(limit)
	// A full frequency map with room among absent terms used to file the
	// next existing term as absent.
	for _, q := range fill[:limit] {
		mustSearch(t, tn, q, "fill.txt")
	}
	for range 2 {
		mustSearch(t, tn, "needle", "needle.go")
	}
	for i := range 3 * limit {
		if hits := searchHits(t, tn, fmt.Sprintf("nowhere%c", 'a'+i)); len(hits) != 0 {
			t.Fatalf("a term found nowhere matched %d chunks", len(hits))
		}
	}
	for _, q := range fill[limit:] {
		mustSearch(t, tn, q, "fill.txt")
	}
	mustSearch(t, tn, "needle", "needle.go")
	_, df, err := tn.db.frequencies(ctx, tn.db.r, []string{"needle", "nowherez"})
	if err != nil {
		t.Fatal(err)
	}
	if df["needle"] != 1 || df["nowherez"] != 0 {
		t.Errorf("frequencies with a full cache = %v, want needle 1, nowherez 0", df)
	}
	terms, err := tn.db.selectiveTerms(ctx, tn.db.r, []string{"needle", "haystack"})
	if err != nil || len(terms) != 2 {
		t.Errorf("selectiveTerms(needle haystack) = %v, %v; want both kept", terms, err)
	}
	if s := tn.db.stats; len(s.df) > limit || len(s.absent) > limit {
		t.Errorf("cache holds %d frequencies and %d absent terms, bound %d", len(s.df), len(s.absent), limit)
	}
}

func searchHits(t *testing.T, tn *Tenant, q string) []Hit {
	t.Helper()
	hits, err := tn.Search(context.Background(), SearchRequest{Query: q})
	if err != nil {
		t.Fatalf("Search(%q): %v", q, err)
	}
	return hits
}

// mustSearch fails t unless the best hit for q is in path.
func mustSearch(t *testing.T, tn *Tenant, q, path string) {
	t.Helper()
	if hits := searchHits(t, tn, q); len(hits) == 0 || hits[0].Path != path {
		t.Fatalf("Search(%q) = %+v, want a hit in %s", q, hits, path)
	}
}
