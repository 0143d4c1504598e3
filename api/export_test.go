package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/contextlite/cloud/contextengine"
)

func TestExportRoundTrip(t *testing.T) {
	h := newHandler(t, "acme", "globex")
	acme, globex := caller("acme", "write"), caller("globex", "write")
	do(t, h, acme, "POST", "/api/v1/workspaces", map[string]string{"name": "docs"})
	var docs []contextengine.NewDocument
	for i := range 30 {
		ws := []string{"default", "docs"}[i%2]
		docs = append(docs, contextengine.NewDocument{Workspace: ws, Path: fmt.Sprintf("f%02d.md", i), Content: fmt.Sprintf("# Doc %d\n\nbody %d\n", i, i),
			Metadata: map[string]any{"n": float64(i)}})
	}
	decode[bulkResponse](t, do(t, h, acme, "POST", "/api/v1/documents/bulk", bulkRequest{Documents: docs}), http.StatusOK)

	rec := do(t, h, acme, "GET", "/api/v1/export", nil)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("export: %d %s", rec.Code, rec.Header())
	}
	var workspaces []string
	var imported []contextengine.NewDocument
	hashes := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(rec.Body.Bytes()))
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var line struct {
			Type      string                   `json:"type"`
			Workspace *contextengine.Workspace `json:"workspace"`
			Document  *contextengine.Document  `json:"document"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		switch line.Type {
		case "workspace":
			workspaces = append(workspaces, line.Workspace.Name)
		case "document":
			d := line.Document
			hashes[d.Workspace+"/"+d.Path] = d.ContentHash
			imported = append(imported, contextengine.NewDocument{Workspace: d.Workspace, Path: d.Path, Content: d.Content, Metadata: d.Metadata})
		}
	}
	if len(workspaces) != 2 || len(imported) != 30 {
		t.Fatalf("export held workspaces %v and %d documents", workspaces, len(imported))
	}

	// Imported into another tenant, every document comes back identical.
	do(t, h, globex, "POST", "/api/v1/workspaces", map[string]string{"name": "docs"})
	res := decode[bulkResponse](t, do(t, h, globex, "POST", "/api/v1/documents/bulk", bulkRequest{Documents: imported}), http.StatusOK)
	if res.Created != 30 {
		t.Fatalf("import: %+v", res)
	}
	page := decode[documentPage](t, do(t, h, globex, "GET", "/api/v1/documents?limit=100", nil), http.StatusOK)
	for _, d := range page.Documents {
		if hashes[d.Workspace+"/"+d.Path] != d.ContentHash {
			t.Errorf("%s/%s: hash %s after the round trip, %s before", d.Workspace, d.Path, d.ContentHash, hashes[d.Workspace+"/"+d.Path])
		}
	}
	if len(page.Documents) != 30 {
		t.Fatalf("globex holds %d documents", len(page.Documents))
	}
}
