package api

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

type addedJSON struct {
	ID        string `json:"id"`
	Path      string `json:"path"`
	Workspace string `json:"workspace"`
	Status    string `json:"status"`
}

type documentJSON struct {
	ID        string         `json:"id"`
	Workspace string         `json:"workspace"`
	Path      string         `json:"path"`
	Language  string         `json:"language"`
	Metadata  map[string]any `json:"metadata"`
	Content   string         `json:"content"`
	SizeBytes int64          `json:"size_bytes"`
	Tokens    int            `json:"tokens"`
	Chunks    int            `json:"chunks"`
}

type pageJSON struct {
	Documents  []documentJSON `json:"data"`
	NextCursor string         `json:"next_cursor"`
	HasMore    bool           `json:"has_more"`
}

type searchJSON struct {
	Query      string `json:"query"`
	NextCursor string `json:"next_cursor"`
	HasMore    bool   `json:"has_more"`
	Results    []struct {
		ID        string  `json:"document_id"`
		Path      string  `json:"path"`
		Workspace string  `json:"workspace"`
		StartLine int     `json:"start_line"`
		EndLine   int     `json:"end_line"`
		Tokens    int     `json:"tokens"`
		Score     float64 `json:"score"`
		Content   string  `json:"content"`
	} `json:"data"`
}

type bulkJSON struct {
	Results []struct {
		Index  int    `json:"index"`
		ID     string `json:"id"`
		Status string `json:"status"`
		Error  *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	} `json:"results"`
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Failed    int `json:"failed"`
}

// wantLines fails unless content is exactly lines start..end of doc.
func wantLines(t *testing.T, doc string, start, end int, content string) {
	t.Helper()
	lines := strings.Split(doc, "\n")
	if start < 1 || end < start || end > len(lines) {
		t.Fatalf("lines %d-%d out of range 1-%d", start, end, len(lines))
	}
	if want := strings.Join(lines[start-1:end], "\n"); content != want {
		t.Errorf("content of lines %d-%d differs from the document:\n got %q\nwant %q", start, end, content, want)
	}
}

func TestDocumentLifecycle(t *testing.T) {
	h := newHandler(t, "acme")
	writer, reader := caller("acme", "write"), caller("acme", "read")
	tokenizer := goSource("tokenize", 30)

	// A field the API does not know is refused, not silently dropped.
	rec := do(t, h, writer, "POST", "/api/v1/documents", map[string]any{
		"path": "src/tokenizer.go", "content": tokenizer, "some_future_field": true,
	})
	wantError(t, rec, http.StatusUnprocessableEntity, "unknown_field")

	// Add: 201 and exactly the documented fields.
	rec = do(t, h, writer, "POST", "/api/v1/documents", map[string]any{
		"path": "src/tokenizer.go", "content": tokenizer, "language": "go", "metadata": map[string]any{"owner": "ml"},
	})
	wantKeys(t, "add response", decode[map[string]any](t, rec, http.StatusCreated), "object", "id", "path", "workspace", "status")
	added := decode[addedJSON](t, rec, http.StatusCreated)
	if added.ID == "" || added.Path != "src/tokenizer.go" || added.Workspace != "default" || added.Status != "created" {
		t.Fatalf("add = %+v", added)
	}

	// The same document again is unchanged, a new version updated; both 200.
	for _, tc := range []struct {
		content, status string
	}{{tokenizer, "unchanged"}, {tokenizer + "\n// v2\n", "updated"}, {tokenizer, "updated"}} {
		rec := do(t, h, writer, "POST", "/api/v1/documents", map[string]any{"path": "src/tokenizer.go", "content": tc.content, "language": "go", "metadata": map[string]any{"owner": "ml"}})
		if got := decode[addedJSON](t, rec, http.StatusOK); got.Status != tc.status || got.ID != added.ID {
			t.Errorf("re-add = %+v, want status %s and id %s", got, tc.status, added.ID)
		}
	}

	// Get returns the document with its content.
	rec = do(t, h, reader, "GET", "/api/v1/documents/"+added.ID, nil)
	wantKeys(t, "document", decode[map[string]any](t, rec, http.StatusOK), "object", "id", "workspace", "path", "language", "metadata",
		"content", "content_hash", "size_bytes", "tokens", "chunks", "created_at", "updated_at")
	doc := decode[documentJSON](t, rec, http.StatusOK)
	if doc.Content != tokenizer || doc.SizeBytes != int64(len("src/tokenizer.go")+len(tokenizer)+len("go")+len(`{"owner":"ml"}`)) || doc.Language != "go" || doc.Metadata["owner"] != "ml" || doc.Chunks < 2 || doc.Tokens == 0 {
		t.Errorf("get = %+v (content %d bytes)", doc, len(doc.Content))
	}

	// A second document; list both a page at a time.
	router := decode[addedJSON](t, do(t, h, writer, "POST", "/api/v1/documents", map[string]any{"path": "src/router.go", "content": goSource("route", 30)}), http.StatusCreated)
	first := decode[pageJSON](t, do(t, h, reader, "GET", "/api/v1/documents?limit=1", nil), http.StatusOK)
	if len(first.Documents) != 1 || first.Documents[0].ID != added.ID || first.NextCursor == "" {
		t.Fatalf("first page = %+v", first)
	}
	second := decode[pageJSON](t, do(t, h, reader, "GET", "/api/v1/documents?limit=1&cursor="+first.NextCursor, nil), http.StatusOK)
	if len(second.Documents) != 1 || second.Documents[0].ID != router.ID || second.NextCursor != "" {
		t.Fatalf("second page = %+v", second)
	}

	// Search and assemble find the tokenizer, as exact spans of it.
	found := decode[searchJSON](t, do(t, h, reader, "GET", "/api/v1/documents/search?q=tokenize", nil), http.StatusOK)
	if len(found.Results) == 0 {
		t.Fatal("search found nothing")
	}
	for _, hit := range found.Results {
		if hit.ID != added.ID {
			t.Errorf("search hit %s, want only %s", hit.ID, added.ID)
		}
		wantLines(t, tokenizer, hit.StartLine, hit.EndLine, hit.Content)
	}
	tier := &Principal{TenantID: "acme", Scopes: []string{"read"}, TokensPerQuery: 700}
	rec = do(t, h, tier, "POST", "/api/v1/context/assemble", map[string]any{"query": "tokenize rule", "max_tokens": 9000})
	ctx := decode[assembleJSON](t, rec, http.StatusOK)
	if rec.Header().Get("Warning") != "" || ctx.Clamped == nil || ctx.MaxTokens != 700 {
		t.Errorf("assemble: Warning %q, clamped %v, max_tokens %d", rec.Header().Get("Warning"), ctx.Clamped, ctx.MaxTokens)
	}
	sum := 0
	for _, d := range ctx.Documents {
		sum += d.Tokens
		if d.ID != added.ID {
			t.Errorf("assembled %s, want only %s", d.ID, added.ID)
		}
		wantLines(t, tokenizer, d.StartLine, d.EndLine, d.Content)
	}
	if ctx.TotalDocuments == 0 || ctx.TotalDocuments != len(ctx.Documents) || ctx.TotalTokens != sum || sum > 700 {
		t.Errorf("assemble: %d documents, total_documents %d, total_tokens %d, sum %d", len(ctx.Documents), ctx.TotalDocuments, ctx.TotalTokens, sum)
	}

	// Delete: 204 with no body, then 404 for get and delete, and gone from
	// search and assembly.
	rec = do(t, h, writer, "DELETE", "/api/v1/documents/"+added.ID, nil)
	if rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
		t.Fatalf("delete: %d %q", rec.Code, rec.Body)
	}
	wantError(t, do(t, h, reader, "GET", "/api/v1/documents/"+added.ID, nil), http.StatusNotFound, "not_found")
	wantError(t, do(t, h, writer, "DELETE", "/api/v1/documents/"+added.ID, nil), http.StatusNotFound, "not_found")
	if got := decode[searchJSON](t, do(t, h, reader, "GET", "/api/v1/documents/search?q=tokenize", nil), http.StatusOK); len(got.Results) != 0 {
		t.Errorf("search still finds %d chunks of the deleted document", len(got.Results))
	}
	after := decode[assembleJSON](t, do(t, h, tier, "POST", "/api/v1/context/assemble", map[string]any{"query": "tokenize rule", "max_tokens": 9000}), http.StatusOK)
	for _, d := range after.Documents {
		if d.ID == added.ID {
			t.Errorf("assembly after delete includes lines %d-%d of it (cache_hit %v)", d.StartLine, d.EndLine, after.CacheHit)
		}
	}
}

func TestEmptyDocumentKeepsContentField(t *testing.T) {
	h := newHandler(t, "acme")
	added := decode[addedJSON](t, do(t, h, caller("acme", "write"), "POST", "/api/v1/documents", map[string]any{"id": "empty-1", "content": ""}), http.StatusCreated)
	if added.ID != "empty-1" || added.Path != "empty-1" {
		t.Fatalf("add = %+v, want id and path empty-1", added)
	}
	got := decode[map[string]any](t, do(t, h, caller("acme", "read"), "GET", "/api/v1/documents/empty-1", nil), http.StatusOK)
	if c, ok := got["content"]; !ok || c != "" {
		t.Errorf("content = %v, %v; want present and empty", c, ok)
	}
}

func TestListPages(t *testing.T) {
	h := newHandler(t, "acme")
	writer := caller("acme", "write")
	var want []string
	for i := range 7 {
		ws := "default"
		if i%3 == 2 {
			ws = "other"
		}
		if i == 2 {
			decode[map[string]any](t, do(t, h, writer, "POST", "/api/v1/workspaces", map[string]any{"name": "other"}), http.StatusCreated)
		}
		added := decode[addedJSON](t, do(t, h, writer, "POST", "/api/v1/documents", map[string]any{
			"path": fmt.Sprintf("notes/%d.md", i), "workspace": ws, "content": fmt.Sprintf("# Note %d\n\nbody %d\n", i, i),
		}), http.StatusCreated)
		want = append(want, added.ID)
	}

	tests := []struct {
		query string
		want  []string
	}{
		{"limit=2", want},
		{"limit=3", want},
		{"", want},
		{"limit=1&workspace=other", []string{want[2], want[5]}},
		{"workspace=missing", nil},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			var got []string
			pages, cursor := 0, ""
			for {
				q, _ := url.ParseQuery(tc.query)
				if cursor != "" {
					q.Set("cursor", cursor)
				}
				rec := do(t, h, caller("acme", "read"), "GET", "/api/v1/documents?"+q.Encode(), nil)
				raw := decode[map[string]any](t, rec, http.StatusOK)
				wantKeys(t, "page", raw, "object", "data", "next_cursor", "has_more", "documents")
				page := decode[pageJSON](t, rec, http.StatusOK)
				if old := raw["documents"].([]any); len(old) != len(page.Documents) {
					t.Errorf("deprecated documents holds %d, data %d", len(old), len(page.Documents))
				}
				if page.HasMore != (page.NextCursor != "") {
					t.Errorf("has_more %v with next_cursor %q", page.HasMore, page.NextCursor)
				}
				for _, d := range page.Documents {
					if d.Content != "" {
						t.Errorf("list returned content of %s", d.ID)
					}
					got = append(got, d.ID)
				}
				pages++
				if cursor = page.NextCursor; cursor == "" || pages > 10 {
					break
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("listed %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSearch(t *testing.T) {
	h := newHandler(t, "acme")
	writer, reader := caller("acme", "write"), caller("acme", "read")
	docs := map[string]string{
		"src/tokenizer.go": goSource("tokenize", 30),
		"src/router.go":    goSource("route", 30),
	}
	for path, content := range docs {
		decode[addedJSON](t, do(t, h, writer, "POST", "/api/v1/documents", map[string]any{"path": path, "content": content}), http.StatusCreated)
	}

	rec := do(t, h, reader, "GET", "/api/v1/documents/search?q=tokenize+rule&limit=3", nil)
	raw := decode[map[string]any](t, rec, http.StatusOK)
	wantKeys(t, "search", raw, "object", "query", "data", "next_cursor", "has_more")
	wantKeys(t, "hit", raw["data"].([]any)[0].(map[string]any), "object", "document_id", "path", "workspace", "start_line", "end_line", "tokens", "score", "content")
	res := decode[searchJSON](t, rec, http.StatusOK)
	if res.Query != "tokenize rule" || len(res.Results) != 3 || !res.HasMore || res.NextCursor == "" {
		t.Fatalf("search: query %q, %d results, has_more %v, next_cursor %q", res.Query, len(res.Results), res.HasMore, res.NextCursor)
	}
	for i, hit := range res.Results {
		if hit.Path != "src/tokenizer.go" || hit.Workspace != "default" || hit.Tokens == 0 || hit.Score <= 0 || hit.Score > 1 {
			t.Errorf("hit %d = %+v", i, hit)
		}
		if i > 0 && hit.Score > res.Results[i-1].Score {
			t.Errorf("hit %d scores %v above hit %d (%v)", i, hit.Score, i-1, res.Results[i-1].Score)
		}
		wantLines(t, docs[hit.Path], hit.StartLine, hit.EndLine, hit.Content)
	}

	none := decode[map[string]any](t, do(t, h, reader, "GET", "/api/v1/documents/search?q=zebra", nil), http.StatusOK)
	if r, ok := none["data"].([]any); !ok || len(r) != 0 || none["has_more"] != false || none["next_cursor"] != nil {
		t.Errorf("no match = %v, want empty data, has_more false and next_cursor null", none)
	}
}

// TestSearchCursor pages through a search: the pages together are the
// one long answer, and a cursor of another query or garbage is refused.
func TestSearchCursor(t *testing.T) {
	h := newHandler(t, "acme")
	writer, reader := caller("acme", "write"), caller("acme", "read")
	for _, path := range []string{"a.go", "b.go", "c.go"} {
		decode[addedJSON](t, do(t, h, writer, "POST", "/api/v1/documents", map[string]any{"path": path, "content": goSource("tokenize", 30)}), http.StatusCreated)
	}
	hitKey := func(res searchJSON, i int) string {
		return fmt.Sprintf("%s:%d", res.Results[i].ID, res.Results[i].StartLine)
	}
	all := decode[searchJSON](t, do(t, h, reader, "GET", "/api/v1/documents/search?q=tokenize&limit=100", nil), http.StatusOK)
	if len(all.Results) < 5 || all.HasMore {
		t.Fatalf("one page: %d results, has_more %v", len(all.Results), all.HasMore)
	}
	var want, got []string
	for i := range all.Results {
		want = append(want, hitKey(all, i))
	}
	cursor := ""
	for pages := 0; pages < 100; pages++ {
		q := url.Values{"q": {"tokenize"}, "limit": {"2"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		page := decode[searchJSON](t, do(t, h, reader, "GET", "/api/v1/documents/search?"+q.Encode(), nil), http.StatusOK)
		for i := range page.Results {
			got = append(got, hitKey(page, i))
		}
		if page.HasMore != (page.NextCursor != "") {
			t.Fatalf("has_more %v with next_cursor %q", page.HasMore, page.NextCursor)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("paged %v, want %v", got, want)
	}

	first := decode[searchJSON](t, do(t, h, reader, "GET", "/api/v1/documents/search?q=tokenize&limit=1", nil), http.StatusOK)
	for _, bad := range []string{"garbage", "czE", first.NextCursor + "x"} {
		wantError(t, do(t, h, reader, "GET", "/api/v1/documents/search?q=tokenize&cursor="+url.QueryEscape(bad), nil), http.StatusUnprocessableEntity, "invalid_request")
	}
	other := "/api/v1/documents/search?q=rule&cursor=" + first.NextCursor
	wantError(t, do(t, h, reader, "GET", other, nil), http.StatusUnprocessableEntity, "invalid_request")
}

func TestBulk(t *testing.T) {
	h := newHandler(t, "acme")
	writer := caller("acme", "write")
	existing := decode[addedJSON](t, do(t, h, writer, "POST", "/api/v1/documents", map[string]any{"path": "a.md", "content": "alpha\n"}), http.StatusCreated)
	decode[addedJSON](t, do(t, h, writer, "POST", "/api/v1/documents", map[string]any{"path": "b.md", "content": "beta\n"}), http.StatusCreated)

	docs := []map[string]any{
		{"path": "new.md", "content": "fresh\n"},                      // 0 created
		{"path": "a.md", "content": "alpha\n"},                        // 1 unchanged
		{"path": "b.md", "content": "beta two\n"},                     // 2 updated
		{"content": "no path or id"},                                  // 3 invalid
		{"path": "c.md", "content": "x", "workspace": "bad name"},     // 4 invalid workspace name
		{"path": "d.md", "content": "x", "workspace": "nowhere"},      // 5 missing workspace
		{"path": "e.md", "content": strings.Repeat("x", 1<<20+1)},     // 6 too large
		{"path": "f.md", "content": "taken id", "id": existing.ID},    // 7 id used by a.md
		{"id": "client-id-1", "content": "path defaults to the id\n"}, // 8 created
	}
	wantStatus := []string{"created", "unchanged", "updated", "", "", "", "", "", "created"}
	wantCode := []string{"", "", "", "invalid_request", "invalid_request", "workspace_not_found", "too_large", "conflict", ""}

	rec := do(t, h, writer, "POST", "/api/v1/documents/bulk", map[string]any{"documents": docs})
	raw := decode[map[string]any](t, rec, http.StatusOK)
	wantKeys(t, "bulk", raw, "object", "results", "created", "updated", "unchanged", "failed")
	resp := decode[bulkJSON](t, rec, http.StatusOK)
	if resp.Created != 2 || resp.Updated != 1 || resp.Unchanged != 1 || resp.Failed != 5 {
		t.Errorf("counts created %d updated %d unchanged %d failed %d, want 2 1 1 5", resp.Created, resp.Updated, resp.Unchanged, resp.Failed)
	}
	if len(resp.Results) != len(docs) {
		t.Fatalf("%d results for %d documents", len(resp.Results), len(docs))
	}
	for i, r := range resp.Results {
		code := ""
		if r.Error != nil {
			code = r.Error.Code
			if r.Error.Message == "" || r.ID != "" || r.Status != "" {
				t.Errorf("result %d: failed with id %q, status %q, message %q", i, r.ID, r.Status, r.Error.Message)
			}
		} else if r.ID == "" {
			t.Errorf("result %d: no id", i)
		}
		if r.Index != i || r.Status != wantStatus[i] || code != wantCode[i] {
			t.Errorf("result %d = index %d status %q code %q, want status %q code %q", i, r.Index, r.Status, code, wantStatus[i], wantCode[i])
		}
	}
	if resp.Results[1].ID != existing.ID || resp.Results[8].ID != "client-id-1" {
		t.Errorf("ids %q, %q; want %q, client-id-1", resp.Results[1].ID, resp.Results[8].ID, existing.ID)
	}

	// The valid documents were stored, the invalid ones not.
	page := decode[pageJSON](t, do(t, h, caller("acme", "read"), "GET", "/api/v1/documents", nil), http.StatusOK)
	var paths []string
	for _, d := range page.Documents {
		paths = append(paths, d.Path)
	}
	if want := []string{"a.md", "b.md", "new.md", "client-id-1"}; !slices.Equal(paths, want) {
		t.Errorf("stored %v, want %v", paths, want)
	}
}
