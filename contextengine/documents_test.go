package contextengine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestAddGetUpsert(t *testing.T) {
	tn := newTestTenant(t)
	ctx := context.Background()
	doc := NewDocument{Path: "pkg/reader.go", Language: "go", Metadata: map[string]any{"repo": "x"}, Content: goSource(3)}
	res, err := tn.Add(ctx, doc)
	if err != nil || res.Status != StatusCreated || res.ID == "" {
		t.Fatalf("Add = %+v, %v; want created", res, err)
	}
	again, err := tn.Add(ctx, doc)
	if err != nil || again.Status != StatusUnchanged || again.ID != res.ID {
		t.Fatalf("identical re-upload = %+v, %v; want unchanged %s", again, err, res.ID)
	}
	doc.Content += "\nfunc Extra() {}\n"
	upd, err := tn.Add(ctx, doc)
	if err != nil || upd.Status != StatusUpdated || upd.ID != res.ID {
		t.Fatalf("changed re-upload = %+v, %v; want updated %s", upd, err, res.ID)
	}
	got, err := tn.Get(ctx, res.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Content != doc.Content || got.Path != doc.Path || got.Workspace != DefaultWorkspace || got.Metadata["repo"] != "x" {
		t.Fatalf("Get = %+v", got)
	}
	if got.Tokens == 0 || got.Chunks == 0 || got.SizeBytes != int64(len(doc.Content)+len(doc.Path)+len("go")+len(`{"repo":"x"}`)) || len(got.ContentHash) != 64 {
		t.Fatalf("Get totals = tokens %d chunks %d size %d hash %q", got.Tokens, got.Chunks, got.SizeBytes, got.ContentHash)
	}
	if _, err := tn.Get(ctx, "doc_missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(missing) = %v, want ErrNotFound", err)
	}
}

func TestAddErrors(t *testing.T) {
	tn := newTestTenant(t)
	ctx := context.Background()
	mustAdd(t, tn, NewDocument{ID: "mine", Path: "a.go", Content: "package a\n"})
	tests := []struct {
		name string
		doc  NewDocument
		want error
	}{
		{"too large", NewDocument{Path: "big.txt", Content: strings.Repeat("x", 1<<20+1)}, ErrDocumentTooLarge},
		{"no path", NewDocument{Content: "x"}, ErrInvalidInput},
		{"newline in path", NewDocument{Path: "a\nb", Content: "x"}, ErrInvalidInput},
		{"bad id", NewDocument{ID: "has space", Path: "b.go", Content: "x"}, ErrInvalidInput},
		{"bad workspace", NewDocument{Workspace: "../x", Path: "b.go", Content: "x"}, ErrInvalidInput},
		{"missing workspace", NewDocument{Workspace: "nope", Path: "b.go", Content: "x"}, ErrWorkspaceMissing},
		{"id used elsewhere", NewDocument{ID: "mine", Path: "other.go", Content: "x"}, ErrConflict},
		{"path holds other id", NewDocument{ID: "theirs", Path: "a.go", Content: "y"}, ErrConflict},
		{"bad metadata", NewDocument{Path: "m.go", Content: "x", Metadata: map[string]any{"f": func() {}}}, ErrInvalidInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tn.Add(ctx, tt.doc)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Add = %v, want %v", err, tt.want)
			}
		})
	}
	var tl *TooLargeError
	if _, err := tn.Add(ctx, tests[0].doc); !errors.As(err, &tl) || tl.Limit != 1<<20 {
		t.Fatalf("too large error = %v", err)
	}
}

func TestAddBatchPerItemResults(t *testing.T) {
	tn := newTestTenant(t)
	ctx := context.Background()
	res, err := tn.AddBatch(ctx, []NewDocument{
		{Path: "a.go", Content: "package a"},
		{Path: "", Content: "no path"},
		{Path: "b.go", Content: "package b"},
		{Path: "a.go", Content: "package a // again"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{StatusCreated, "", StatusCreated, StatusUpdated}
	for i, r := range res {
		if r.Status != want[i] || (want[i] == "") != (r.Err != nil) {
			t.Errorf("item %d = %+v, want status %q", i, r, want[i])
		}
	}
	s, err := tn.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Documents != 2 || s.StorageBytes != int64(len("a.gopackage a // again")+len("b.gopackage b")) {
		t.Fatalf("stats = %+v", s)
	}
}

func TestListPaginatesAndDelete(t *testing.T) {
	tn := newTestTenant(t)
	ctx := context.Background()
	if err := tn.CreateWorkspace(ctx, "docs"); err != nil {
		t.Fatal(err)
	}
	var docs []NewDocument
	for i := range 25 {
		ws := DefaultWorkspace
		if i%5 == 0 {
			ws = "docs"
		}
		docs = append(docs, NewDocument{Workspace: ws, Path: fmt.Sprintf("f%02d.go", i), Content: fmt.Sprintf("package f%d\n", i)})
	}
	mustAdd(t, tn, docs...)
	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		page, err := tn.List(ctx, ListOptions{Limit: 7, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page.Documents {
			if d.Content != "" {
				t.Fatal("List returned content")
			}
			seen = append(seen, d.Path)
		}
		if page.NextCursor == "" {
			break
		}
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		cursor = page.NextCursor
	}
	if len(seen) != 25 || seen[0] != "f00.go" || seen[24] != "f24.go" {
		t.Fatalf("listed %d: %v", len(seen), seen)
	}
	page, err := tn.List(ctx, ListOptions{Workspace: "docs"})
	if err != nil || len(page.Documents) != 5 {
		t.Fatalf("workspace list = %d docs, %v", len(page.Documents), err)
	}
	if _, err := tn.List(ctx, ListOptions{Cursor: "!!"}); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("bad cursor = %v", err)
	}
	id := page.Documents[0].ID
	if n, err := tn.Delete(ctx, id); err != nil || n != int64(len("f00.go")+len("package f0\n")) { // path and content
		t.Fatalf("Delete = %d, %v", n, err)
	}
	if _, err := tn.Delete(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Delete = %v, want ErrNotFound", err)
	}
	hits, err := tn.Search(ctx, SearchRequest{Query: "f0"})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hits {
		if h.DocumentID == id {
			t.Fatal("deleted document still searchable")
		}
	}
}

func TestWorkspaces(t *testing.T) {
	tn := newTestTenant(t)
	ctx := context.Background()
	if err := tn.CreateWorkspace(ctx, "backend"); err != nil {
		t.Fatal(err)
	}
	if err := tn.CreateWorkspace(ctx, "backend"); !errors.Is(err, ErrWorkspaceExists) {
		t.Fatalf("duplicate = %v", err)
	}
	mustAdd(t, tn,
		NewDocument{Workspace: "backend", Path: "server.go", Content: "func ServeWidget() {}"},
		NewDocument{Path: "client.go", Content: "func FetchWidget() {}"},
	)
	for _, tt := range []struct {
		ws   string
		want int
	}{{"", 2}, {"backend", 1}, {DefaultWorkspace, 1}} {
		hits, err := tn.Search(ctx, SearchRequest{Query: "widget", Workspace: tt.ws})
		if err != nil || len(hits) != tt.want {
			t.Errorf("search in %q = %d hits, %v; want %d", tt.ws, len(hits), err, tt.want)
		}
		res, err := tn.Assemble(ctx, Request{Query: "widget", Workspace: tt.ws})
		if err != nil || len(res.Items) != tt.want {
			t.Errorf("assemble in %q = %d items, %v; want %d", tt.ws, len(res.Items), err, tt.want)
		}
	}
	if _, err := tn.Search(ctx, SearchRequest{Query: "widget", Workspace: "nope"}); !errors.Is(err, ErrWorkspaceMissing) {
		t.Fatalf("search in missing workspace = %v", err)
	}
	if err := tn.DeleteWorkspace(ctx, DefaultWorkspace); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("deleting default = %v", err)
	}
	if err := tn.DeleteWorkspace(ctx, "backend"); err != nil {
		t.Fatal(err)
	}
	if err := tn.DeleteWorkspace(ctx, "backend"); !errors.Is(err, ErrWorkspaceMissing) {
		t.Fatalf("second delete = %v", err)
	}
	hits, err := tn.Search(ctx, SearchRequest{Query: "ServeWidget"})
	if err != nil || len(hits) != 1 || hits[0].Path != "client.go" {
		t.Fatalf("after workspace delete: %+v, %v", hits, err)
	}
	ws, err := tn.Workspaces(ctx)
	if err != nil || len(ws) != 1 || ws[0].Documents != 1 {
		t.Fatalf("workspaces = %+v, %v", ws, err)
	}
}

func TestGetByPath(t *testing.T) {
	tn := newTestTenant(t)
	ctx := context.Background()
	if err := tn.CreateWorkspace(ctx, "docs"); err != nil {
		t.Fatal(err)
	}
	mustAdd(t, tn, NewDocument{Path: "a.md", Content: "default copy"}, NewDocument{Workspace: "docs", Path: "a.md", Content: "docs copy"})
	for ws, want := range map[string]string{"": "default copy", DefaultWorkspace: "default copy", "docs": "docs copy"} {
		got, err := tn.GetByPath(ctx, ws, "a.md")
		if err != nil || got.Content != want || got.Path != "a.md" {
			t.Fatalf("GetByPath(%q) = %+v, %v; want %q", ws, got, err, want)
		}
	}
	if _, err := tn.GetByPath(ctx, "docs", "b.md"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetByPath(missing) = %v, want ErrNotFound", err)
	}
}
