package contextengine

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
)

// TestMigrationReindexesV2Tenant builds a tenant database as release 2 left
// it (FTS5 index, chunk copies), opens it with this release and checks that
// the upgrade rebuilt chunks and postings from the stored documents.
func TestMigrationReindexesV2Tenant(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	file := tenantPath(dir, "old")
	if err := os.MkdirAll(filepath.Dir(file), 0o750); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+file+"?"+pragmas)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range migrations[:2] {
		if _, err := db.ExecContext(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	_, err = db.ExecContext(ctx, `PRAGMA user_version = 2;
		INSERT INTO documents (id, workspace_id, path, content, content_hash, size_bytes, tokens, chunks, created_at, updated_at)
		VALUES ('doc_a', 1, 'render/widget.go', 'package render

// Widget draws itself.
func DrawWidget() {}
', 'h', 60, 0, 0, 1, 1),
		('doc_b', 1, 'notes.md', '# Notes

Nothing to see.
', 'h2', 25, 0, 0, 1, 1)`)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	m := newTestManager(t, Options{DataDir: dir})
	tn, err := m.Open(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	defer tn.Close()
	hits, err := tn.Search(ctx, SearchRequest{Query: "draw widget"})
	if err != nil || len(hits) == 0 || hits[0].DocumentID != "doc_a" || hits[0].Content == "" {
		t.Fatalf("search after upgrade = %+v, %v", hits, err)
	}
	d, err := tn.Get(ctx, "doc_b")
	if err != nil || d.Chunks != 1 || d.Tokens == 0 {
		t.Fatalf("doc_b after upgrade = %+v, %v", d, err)
	}
	checkIndexRows(t, tn)
}
