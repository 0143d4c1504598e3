package contextengine

import (
	"context"
	"fmt"
	"slices"
	"testing"
)

func TestBucketRowsRoundTrip(t *testing.T) {
	terms := map[string][]posting{"alpha": {{1, 2}, {5, 1}}, "/path": {{3, 1}}, "beta": {{7, 300}}}
	var row []byte
	for _, term := range sortedTerms(terms) {
		row = appendBucketEntry(row, term, len(terms[term]), appendPostings(nil, terms[term]))
	}
	got := map[string][]posting{}
	counts := map[string]int{}
	err := eachTerm("0ab", row, func(b []byte, n int, ps []byte) error {
		term := string(b)
		counts[term] = n
		return decodePostings(ps, func(id, tf uint32) { got[term] = append(got[term], posting{id, tf}) })
	})
	if err != nil {
		t.Fatal(err)
	}
	for term, want := range terms {
		if !slices.Equal(got[term], want) || counts[term] != len(want) {
			t.Errorf("%s: got %v (count %d), want %v", term, got[term], counts[term], want)
		}
	}
	err = eachTerm(ownKey("gamma"), appendPostings(nil, []posting{{2, 1}}), func(term []byte, n int, ps []byte) error {
		if string(term) != "gamma" || n != -1 {
			t.Errorf("own row = %q, %d", term, n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := eachTerm("0ab", []byte{0x7f, 'x'}, func([]byte, int, []byte) error { return nil }); err == nil {
		t.Error("corrupt bucket row accepted")
	}
	if keyBucket(ownKey("gamma")) != bucketKey("gamma") || ownKey("gamma") <= bucketKey("gamma") {
		t.Error("a term's own row does not sort after its bucket row")
	}
}

// TestSegmentsMergeAndDropDeleted writes many small segments, so levels
// merge, deletes and replaces documents between them, and checks that
// every live document and no deleted one is found by its own term.
func TestSegmentsMergeAndDropDeleted(t *testing.T) {
	tn := newTestTenant(t)
	ctx := context.Background()
	ids := map[int]string{}
	for i := range 3*mergeFanout*mergeFanout/2 + 5 {
		res := mustAdd(t, tn, NewDocument{Path: fmt.Sprintf("d%d.go", i), Content: fmt.Sprintf("package p\n\nfunc Marker%dx() {}\n", i)})
		ids[i] = res[0].ID
		switch {
		case i%5 == 0 && i > 0:
			if _, err := tn.Delete(ctx, ids[i-1]); err != nil {
				t.Fatal(err)
			}
			delete(ids, i-1)
		case i%7 == 0:
			mustAdd(t, tn, NewDocument{Path: fmt.Sprintf("d%d.go", i), Content: fmt.Sprintf("package p\n\nfunc Marker%dx() { changed() }\n", i)})
		}
	}
	tn.db.merges.Wait()
	var levels int
	if err := tn.db.r.QueryRowContext(ctx, `SELECT count(DISTINCT level) FROM segments`).Scan(&levels); err != nil || levels < 2 {
		t.Fatalf("segments span %d levels, %v; want merges", levels, err)
	}
	for i := range 3*mergeFanout*mergeFanout/2 + 5 {
		hits, err := tn.Search(ctx, SearchRequest{Query: fmt.Sprintf("marker%dx", i)})
		if err != nil {
			t.Fatal(err)
		}
		id, live := ids[i]
		if live && (len(hits) != 1 || hits[0].DocumentID != id) || !live && len(hits) != 0 {
			t.Fatalf("marker%dx (live %v) = %+v", i, live, hits)
		}
	}
	checkIndexRows(t, tn)
}
