package retrievalbench

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"
)

// testWindows are small windows whose best match for "gzip reader" is
// window 1 for any BM25 ranking.
func testWindows() []window {
	texts := []string{
		"func Sum(a, b int) int { return a + b }",
		"// NewReader returns a gzip reader.\nfunc NewReader(r io.Reader) (*gzip.Reader, error)",
		"// Writer writes gzip data.",
		"// A reader reads bytes.",
	}
	ws := make([]window, len(texts))
	for i, t := range texts {
		ws[i] = window{Path: "x.go", StartLine: i + 1, EndLine: i + 1, Text: t, Tokens: 10}
	}
	return ws
}

func TestBaselineSearchers(t *testing.T) {
	ctx := context.Background()
	ws := testWindows()
	fts, err := newFTS5Index(ctx, t.TempDir(), ws)
	if err != nil {
		t.Fatal(err)
	}
	defer fts.close()
	blv, err := newBleveIndex(ws)
	if err != nil {
		t.Fatal(err)
	}
	defer blv.close()
	for name, s := range map[string]searcher{"fts5": fts, "bleve": blv} {
		ids, err := s.search(ctx, queryTerms("The gzip reader"), BaselineTop)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(ids) != 3 || ids[0] != 1 || !slices.Contains(ids, 2) || !slices.Contains(ids, 3) {
			t.Errorf("%s: search = %v, want window 1 first, then 2 and 3", name, ids)
		}
		if ids, err := s.search(ctx, nil, BaselineTop); err != nil || len(ids) != 0 {
			t.Errorf("%s: empty query = %v, %v", name, ids, err)
		}
		sys := baselineSystem{windows: ws, s: s}
		items, _, err := sys.assemble(ctx, "gzip reader", 25)
		if err != nil || len(items) != 2 || items[0].Content != ws[1].Text {
			t.Errorf("%s: assemble at 25 tokens = %+v, %v; want the top two windows", name, items, err)
		}
	}
}

// TestBleveScoresBM25 checks that the Bleve baseline really ranks by
// BM25, and that bleve.NewMemOnly would not, though asked to.
func TestBleveScoresBM25(t *testing.T) {
	ws := testWindows()
	blv, err := newBleveIndex(ws)
	if err != nil {
		t.Fatal(err)
	}
	defer blv.close()
	if expl := explainTop(t, blv.idx); !strings.Contains(expl, "saturation(") {
		t.Errorf("baseline explanation has no BM25 saturation term:\n%s", expl)
	}

	m := bleve.NewIndexMapping()
	m.ScoringModel = "bm25"
	mem, err := bleve.NewMemOnly(m)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	for i, w := range ws {
		if err := mem.Index(string(rune('a'+i)), bleveDoc{Body: w.Text}); err != nil {
			t.Fatal(err)
		}
	}
	if expl := explainTop(t, mem); strings.Contains(expl, "saturation(") {
		t.Errorf("NewMemOnly now scores BM25; the baseline could use it:\n%s", expl)
	}
}

func explainTop(t *testing.T, idx bleve.Index) string {
	t.Helper()
	q := bleve.NewMatchQuery("gzip reader")
	q.SetField("body")
	q.SetOperator(query.MatchQueryOperatorOr)
	req := bleve.NewSearchRequestOptions(q, 1, 0, true)
	res, err := idx.Search(req)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Hits) == 0 {
		t.Fatal("no hits")
	}
	return res.Hits[0].Expl.String()
}
