package contextengine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// seedCorpus adds n Go files with distinct function names.
func seedCorpus(t testing.TB, tn *Tenant, n int) {
	t.Helper()
	var docs []NewDocument
	for i := range n {
		docs = append(docs, NewDocument{Path: fmt.Sprintf("pkg%d/file%d.go", i%7, i), Content: goSource(5 + i%20)})
	}
	mustAdd(t, tn, docs...)
}

func TestSearchFindsSplitIdentifiers(t *testing.T) {
	tn := newTestTenant(t)
	ctx := context.Background()
	mustAdd(t, tn,
		NewDocument{Path: "bufio/reader.go", Content: "package bufio\n\nfunc NewReader(rd io.Reader) *Reader {\n\treturn NewReaderSize(rd, defaultBufSize)\n}\n"},
		NewDocument{Path: "limits.py", Content: "def check(max_tokens):\n    return max_tokens > 0\n"},
		NewDocument{Path: "other.go", Content: "package other\n\nfunc Unrelated() {}\n"},
	)
	tests := []struct{ query, path string }{
		{"new reader", "bufio/reader.go"},
		{"NewReader", "bufio/reader.go"},
		{"max tokens", "limits.py"},
		{"maxTokens", "limits.py"},
		{"max_tokens", "limits.py"},
	}
	for _, tt := range tests {
		hits, err := tn.Search(ctx, SearchRequest{Query: tt.query})
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) == 0 || hits[0].Path != tt.path || hits[0].Score != 1 {
			t.Errorf("Search(%q) = %+v, want %s first", tt.query, hits, tt.path)
		}
	}
}

// TestSearchPage pages through a ranking: the pages are the one long
// answer in order, more is false only on the last, and paging stops at
// MaxSearchDepth.
func TestSearchPage(t *testing.T) {
	tn := newTestTenant(t)
	seedCorpus(t, tn, 30)
	ctx := context.Background()
	const query = "func prints number value writer"
	all, allMore, err := tn.SearchPage(ctx, SearchRequest{Query: query, Limit: 20})
	if err != nil || len(all) != 20 || !allMore {
		t.Fatalf("one page: %d hits, more %v, %v", len(all), allMore, err)
	}
	var paged []Hit
	for offset := 0; offset < len(all); offset += 3 {
		hits, more, err := tn.SearchPage(ctx, SearchRequest{Query: query, Limit: 3, Offset: offset})
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) != 3 || !more {
			t.Fatalf("offset %d: %d hits, more %v", offset, len(hits), more)
		}
		paged = append(paged, hits...)
	}
	small := newTestTenant(t)
	seedCorpus(t, small, 3)
	every, err := small.Search(ctx, SearchRequest{Query: query, Limit: 100})
	if err != nil || len(every) < 3 || len(every) == 100 {
		t.Fatalf("small corpus: %d hits, %v", len(every), err)
	}
	if hits, more, err := small.SearchPage(ctx, SearchRequest{Query: query, Limit: 2, Offset: len(every) - 3}); err != nil || len(hits) != 2 || !more {
		t.Errorf("second to last page: %d hits, more %v, %v", len(hits), more, err)
	}
	if hits, more, err := small.SearchPage(ctx, SearchRequest{Query: query, Limit: 10, Offset: len(every) - 2}); err != nil || len(hits) != 2 || more {
		t.Errorf("last page: %d hits, more %v, %v", len(hits), more, err)
	}
	for i := range all {
		if paged[i].DocumentID != all[i].DocumentID || paged[i].StartLine != all[i].StartLine || paged[i].Score != all[i].Score {
			t.Errorf("hit %d: paged %+v, want %+v", i, paged[i], all[i])
		}
	}
	for _, req := range []SearchRequest{{Query: query, Offset: -1}, {Query: query, Limit: 10, Offset: MaxSearchDepth - 9}} {
		if _, _, err := tn.SearchPage(ctx, req); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("SearchPage(offset %d, limit %d) = %v, want ErrInvalidInput", req.Offset, req.Limit, err)
		}
	}
}

func TestSearchHostileInput(t *testing.T) {
	tn := newTestTenant(t)
	seedCorpus(t, tn, 5)
	for _, q := range []string{
		``, `"`, `""`, `'`, `*`, `^`, `-`, `:`, `AND`, `OR NOT`, `NEAR(a b, 3)`, `body:func`, `{path}: x`,
		`a" OR "b`, `'); DROP TABLE documents; --`, "\x00func", `\"`, `(((`, `func*`, `+func`,
		strings.Repeat("func ", 3000), "\xff\xfe", `Func1 AND NOT Func2`,
	} {
		if _, err := tn.Search(context.Background(), SearchRequest{Query: q}); err != nil {
			t.Errorf("Search(%.40q) = %v", q, err)
		}
		if _, err := tn.Assemble(context.Background(), Request{Query: q}); err != nil {
			t.Errorf("Assemble(%.40q) = %v", q, err)
		}
	}
	if _, err := tn.Search(context.Background(), SearchRequest{Query: strings.Repeat("x", maxQueryBytes+1)}); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("oversized query = %v, want ErrInvalidInput", err)
	}
}

func TestAssembleRespectsLimits(t *testing.T) {
	tn := newTestTenant(t)
	seedCorpus(t, tn, 40)
	ctx := context.Background()
	for _, budget := range []int{1, 20, 100, 500, 1000, 4000, 16000} {
		for _, maxDocs := range []int{1, 3, 20} {
			res, err := tn.Assemble(ctx, Request{Query: "func prints number value writer", MaxTokens: budget, MaxDocuments: maxDocs})
			if err != nil {
				t.Fatal(err)
			}
			if res.TotalTokens > budget || len(res.Items) > maxDocs {
				t.Fatalf("budget %d/%d docs: got %d tokens, %d items", budget, maxDocs, res.TotalTokens, len(res.Items))
			}
			sum := 0
			for _, it := range res.Items {
				if n := tn.db.eng.tokens.Count(it.Content); n != it.Tokens {
					t.Fatalf("item tokens %d, exact count %d", it.Tokens, n)
				}
				sum += it.Tokens
			}
			if sum != res.TotalTokens {
				t.Fatalf("total %d, items sum to %d", res.TotalTokens, sum)
			}
			if budget >= 1000 && len(res.Items) == 0 {
				t.Fatalf("budget %d returned nothing", budget)
			}
		}
	}
}

func TestAssembleItemsAreExactLines(t *testing.T) {
	tn := newTestTenant(t)
	seedCorpus(t, tn, 10)
	ctx := context.Background()
	res, err := tn.Assemble(ctx, Request{Query: "Func3 prints", MaxTokens: 16000, MaxDocuments: 50})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) == 0 {
		t.Fatal("no items")
	}
	for _, it := range res.Items {
		doc, err := tn.Get(ctx, it.DocumentID)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(doc.Content, "\n")
		if want := strings.Join(lines[it.StartLine-1:it.EndLine], "\n"); it.Content != want {
			t.Fatalf("%s:%d-%d content differs from the document's lines", it.Path, it.StartLine, it.EndLine)
		}
		if it.InclusionReason == "" || it.Relevance <= 0 || it.Relevance > 1 || it.Utility <= 0 || it.Recency <= 0 {
			t.Fatalf("item scores = %+v", it)
		}
	}
}

func TestAssembleSkipsDuplicatesAndMergesAdjacent(t *testing.T) {
	tn := newTestTenant(t)
	ctx := context.Background()
	src := goSource(40)
	mustAdd(t, tn,
		NewDocument{Path: "a/copy.go", Content: src},
		NewDocument{Path: "b/copy.go", Content: src},
	)
	// Whole documents would swallow the adjacent chunks: keep hits as chunks.
	res, err := tn.Assemble(ctx, Request{Query: "func prints number doc comment writer", MaxTokens: 100000, MaxDocuments: 100,
		Tuning: Tuning{NoExpand: true}})
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]bool{}
	merged := false
	for _, it := range res.Items {
		paths[it.Path] = true
		merged = merged || strings.Contains(it.InclusionReason, "merged")
	}
	if len(paths) != 1 {
		t.Fatalf("both copies of the same text were included: %v", paths)
	}
	if !merged || len(res.Items) >= len(ChunkDocument("a/copy.go", "", src)) {
		t.Fatalf("adjacent chunks were not merged: %d items", len(res.Items))
	}
	for i, a := range res.Items {
		for _, b := range res.Items[i+1:] {
			if a.DocumentID == b.DocumentID && a.StartLine <= b.EndLine && b.StartLine <= a.EndLine {
				t.Fatalf("overlapping items %d-%d and %d-%d", a.StartLine, a.EndLine, b.StartLine, b.EndLine)
			}
		}
	}
}

func TestAssembleCacheInvalidatedByWrites(t *testing.T) {
	tn := newTestTenant(t)
	seedCorpus(t, tn, 5)
	ctx := context.Background()
	req := Request{Query: "Func2 zebra"}
	first, err := tn.Assemble(ctx, req)
	if err != nil || first.Cached {
		t.Fatalf("first = cached %v, %v", first.Cached, err)
	}
	second, err := tn.Assemble(ctx, req)
	if err != nil || !second.Cached || len(second.Items) != len(first.Items) {
		t.Fatalf("second = cached %v, %d items, %v", second.Cached, len(second.Items), err)
	}
	mustAdd(t, tn, NewDocument{Path: "zebra.go", Content: "package zebra\n\nfunc Zebra() {}\n"})
	third, err := tn.Assemble(ctx, req)
	if err != nil || third.Cached || third.Items[0].Path != "zebra.go" {
		t.Fatalf("after write: cached %v, first %+v, %v", third.Cached, third.Items, err)
	}
}

func TestAssembleValidates(t *testing.T) {
	tn := newTestTenant(t)
	for _, req := range []Request{{MaxTokens: -1}, {MaxDocuments: -5}, {MaxTokens: MaxAssembleTokens + 1}, {MaxDocuments: MaxAssembleItems + 1}} {
		if _, err := tn.Assemble(context.Background(), req); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("Assemble(%+v) = %v, want ErrInvalidInput", req, err)
		}
	}
}

func TestResultCacheBounded(t *testing.T) {
	c := newResultCache(64 << 10)
	item := Item{Content: strings.Repeat("x", 1000)}
	for i := range 1000 {
		c.put(fmt.Sprint(i), &Result{Items: []Item{item}})
	}
	if c.size > c.max || len(c.items) > 64 {
		t.Fatalf("cache holds %d bytes in %d entries, max %d bytes", c.size, len(c.items), c.max)
	}
	if c.get("999") == nil || c.get("0") != nil {
		t.Fatal("cache did not keep the most recent entries")
	}
	c.get("999").Items[0].Content = "changed by a caller"
	if got := c.get("999").Items[0].Content; got != item.Content {
		t.Fatalf("a caller's change reached the cache: %q", got)
	}
}

func FuzzSearch(f *testing.F) {
	for _, s := range []string{"NewReader", `"a" OR b*`, "NEAR(x y)", "col:x", "\x00", "ünïcödé 世界"} {
		f.Add(s)
	}
	tn := newTestTenant(f)
	seedCorpus(f, tn, 3)
	f.Fuzz(func(t *testing.T, q string) {
		if len(q) > maxQueryBytes {
			return
		}
		if _, err := tn.Search(context.Background(), SearchRequest{Query: q}); err != nil {
			t.Fatalf("Search(%q) = %v", q, err)
		}
	})
}

func TestAssembleWidensToWholeDocumentOrDeclaration(t *testing.T) {
	tn := newTestTenant(t)
	ctx := context.Background()
	long := goSource(30)
	mustAdd(t, tn,
		NewDocument{Path: "small.go", Content: "package small\n\n// Render draws the widget.\nfunc Render() {}\n"},
		NewDocument{Path: "long.go", Content: long},
	)
	res, err := tn.Assemble(ctx, Request{Query: "render widget", MaxTokens: 4000})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) == 0 || res.Items[0].Path != "small.go" || res.Items[0].StartLine != 1 || res.Items[0].EndLine != 4 {
		t.Fatalf("small document not taken whole: %+v", res.Items)
	}
	// long.go is far over a sixth of 1,000 tokens: its hit stays a chunk
	// or its declaration, never the whole file.
	res, err = tn.Assemble(ctx, Request{Query: "Func17 prints", MaxTokens: 1000})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Count(long, "\n")
	for _, it := range res.Items {
		if it.Path == "long.go" && it.StartLine == 1 && it.EndLine >= lines {
			t.Fatalf("whole long document taken at 1,000 tokens: %d-%d", it.StartLine, it.EndLine)
		}
	}
}

// TestSelectionInvariants assembles many queries at many budgets and
// checks what every answer must hold: within the budget and item limit,
// exact token counts, content equal to the lines claimed, no two items
// overlapping in one document, and the same answer twice.
func TestSelectionInvariants(t *testing.T) {
	tn := newTestTenant(t)
	ctx := context.Background()
	seedCorpus(t, tn, 60)
	mustAdd(t, tn, NewDocument{Path: "copy/file0.go", Content: goSource(5)})
	docs := map[string][]string{}
	for _, q := range []string{"Func3 prints", "value writer", "doc comment two lines", "Func12 error", "package demo fmt", "Func1 Func2 Func3 Func4"} {
		for _, budget := range []int{1, 50, 200, 1000, 4000, 16000} {
			for _, tun := range []Tuning{{}, {NoExpand: true}, {NoMerge: true}, {NaivePacking: true}} {
				req := Request{Query: q, MaxTokens: budget, MaxDocuments: 7, Tuning: tun}
				res, err := tn.Assemble(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				checkResult(t, ctx, tn, docs, req, res)
				again, err := tn.Assemble(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(spans(again)) != fmt.Sprint(spans(res)) {
					t.Fatalf("%q at %d: answers differ: %v then %v", q, budget, spans(res), spans(again))
				}
			}
		}
	}
}

func checkResult(t *testing.T, ctx context.Context, tn *Tenant, docs map[string][]string, req Request, res *Result) {
	t.Helper()
	used := 0
	for i, it := range res.Items {
		if docs[it.DocumentID] == nil {
			d, err := tn.Get(ctx, it.DocumentID)
			if err != nil {
				t.Fatal(err)
			}
			docs[it.DocumentID] = strings.Split(d.Content, "\n")
		}
		if want := strings.Join(docs[it.DocumentID][it.StartLine-1:it.EndLine], "\n"); it.Content != want {
			t.Fatalf("%q: %s:%d-%d content differs from its lines", req.Query, it.Path, it.StartLine, it.EndLine)
		}
		if n := tn.db.eng.tokens.Count(it.Content); n != it.Tokens {
			t.Fatalf("%q: %s:%d-%d claims %d tokens, has %d", req.Query, it.Path, it.StartLine, it.EndLine, it.Tokens, n)
		}
		used += it.Tokens
		for _, o := range res.Items[i+1:] {
			if o.DocumentID == it.DocumentID && o.StartLine <= it.EndLine && it.StartLine <= o.EndLine {
				t.Fatalf("%q: overlapping items %d-%d and %d-%d", req.Query, it.StartLine, it.EndLine, o.StartLine, o.EndLine)
			}
		}
	}
	if used != res.TotalTokens || used > req.MaxTokens || len(res.Items) > req.MaxDocuments {
		t.Fatalf("%q at %d: %d items, %d tokens (total %d)", req.Query, req.MaxTokens, len(res.Items), used, res.TotalTokens)
	}
}

func spans(res *Result) []string {
	var out []string
	for _, it := range res.Items {
		out = append(out, fmt.Sprintf("%s:%d-%d", it.Path, it.StartLine, it.EndLine))
	}
	return out
}
