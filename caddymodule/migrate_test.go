package caddymodule

import (
	"context"
	"database/sql"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/contextlite/cloud/migratelocal"
)

// localSchema is the documents table of the local ContextLite binary.
const localSchema = `CREATE TABLE documents (
	id TEXT PRIMARY KEY, content TEXT NOT NULL, content_hash TEXT NOT NULL, path TEXT, lang TEXT,
	mtime INTEGER, token_count INTEGER, model_id TEXT, quantum_score REAL, entanglement_map TEXT,
	coherence_history TEXT, created_at TEXT, updated_at TEXT)`

func TestMigrateLocalIntoRunningServer(t *testing.T) {
	tc := startServer(t, t.TempDir(), "")
	acme := signup(t, tc, "MigrateCo")

	src := filepath.Join(t.TempDir(), "contextlite.db")
	db, err := sql.Open("sqlite", src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(localSchema); err != nil {
		t.Fatal(err)
	}
	stamp := "2026-11-28 14:50:33.79 +0000 UTC m=+7.21"
	for _, row := range [][3]string{
		{"h1", "package billing\n\nfunc Invoice() {}\n", "billing/invoice.go"},
		{"h2", "# Notes\n\nshared text\n", `["notes/a.md", "notes/b.md"]`}, // one content, two files
		{"h3", "no path here\n", ""},
	} {
		if _, err := db.Exec(`INSERT INTO documents (id, content, content_hash, path, lang, mtime, token_count, created_at, updated_at)
			VALUES (?, ?, ?, ?, 'go', 0, 0, ?, ?)`, row[0], row[1], row[0], row[2], stamp, stamp); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	sum, err := migratelocal.Run(context.Background(), migratelocal.Options{DB: src, URL: acme.URL,
		Uploader: &migratelocal.Uploader{BaseURL: acme.URL, Key: acme.APIKey, Client: tc.Client}})
	if err != nil || sum.Verified != 4 || sum.Migrated != 4 {
		t.Fatalf("migration = %+v, %v", sum, err)
	}
	var page struct {
		Documents []struct {
			Path string `json:"path"`
		} `json:"data"`
	}
	call(t, tc, "GET", acme.URL+"/api/v1/documents", acme.APIKey, nil, http.StatusOK, &page)
	if len(page.Documents) != 4 {
		t.Fatalf("tenant holds %+v", page.Documents)
	}
	// A second run resumes past everything and verifies again.
	if sum, err := migratelocal.Run(context.Background(), migratelocal.Options{DB: src, URL: acme.URL,
		Uploader: &migratelocal.Uploader{BaseURL: acme.URL, Key: acme.APIKey, Client: tc.Client}}); err != nil || sum.Migrated != 0 || sum.Verified != 4 {
		t.Fatalf("second run = %+v, %v", sum, err)
	}
}
