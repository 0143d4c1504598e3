package api

import (
	"net/http"
	"sync"
	"testing"
)

type workspaceJSON struct {
	Name         string `json:"name"`
	Documents    int64  `json:"documents"`
	StorageBytes int64  `json:"storage_bytes"`
	Tokens       int64  `json:"tokens"`
	CreatedAt    string `json:"created_at"`
}

type storageJSON struct {
	TenantID     string          `json:"tenant_id"`
	Documents    int64           `json:"documents"`
	StorageBytes int64           `json:"storage_bytes"`
	Tokens       int64           `json:"tokens"`
	Workspaces   []workspaceJSON `json:"workspaces"`
}

func TestWorkspacesAndStorage(t *testing.T) {
	h := newHandler(t, "acme")
	writer, reader := caller("acme", "write"), caller("acme", "read")

	rec := do(t, h, writer, "POST", "/api/v1/workspaces", map[string]any{"name": "docs"})
	wantKeys(t, "created workspace", decode[map[string]any](t, rec, http.StatusCreated), "object", "name", "documents", "storage_bytes", "tokens", "created_at")
	if got := decode[workspaceJSON](t, rec, http.StatusCreated); got.Name != "docs" || got.Documents != 0 || got.CreatedAt == "" {
		t.Fatalf("create = %+v", got)
	}
	contents := map[string]string{"default": "package main\n\nfunc main() {}\n", "docs": "# Guide\n\nRead me.\n"}
	var inDocs string
	for ws, content := range contents {
		added := decode[addedJSON](t, do(t, h, writer, "POST", "/api/v1/documents", map[string]any{"path": "f", "workspace": ws, "content": content}), http.StatusCreated)
		if added.Workspace != ws {
			t.Errorf("added to %q, want %q", added.Workspace, ws)
		}
		if ws == "docs" {
			inDocs = added.ID
		}
	}

	rec = do(t, h, reader, "GET", "/api/v1/workspaces", nil)
	raw := decode[map[string]any](t, rec, http.StatusOK)
	wantKeys(t, "workspaces", raw, "object", "data", "next_cursor", "has_more")
	wantKeys(t, "workspace", raw["data"].([]any)[0].(map[string]any), "object", "name", "documents", "storage_bytes", "tokens", "created_at")
	list := decode[struct {
		Workspaces []workspaceJSON `json:"data"`
	}](t, rec, http.StatusOK).Workspaces
	if len(list) != 2 || list[0].Name != "default" || list[1].Name != "docs" {
		t.Fatalf("workspaces = %+v", list)
	}
	for _, w := range list {
		if w.Documents != 1 || w.StorageBytes != int64(len("f")+len(contents[w.Name])) || w.Tokens == 0 || w.CreatedAt == "" {
			t.Errorf("workspace %+v", w)
		}
	}

	rec = do(t, h, reader, "GET", "/api/v1/storage/info", nil)
	wantKeys(t, "storage", decode[map[string]any](t, rec, http.StatusOK), "object", "tenant_id", "documents", "storage_bytes", "tokens", "workspaces")
	info := decode[storageJSON](t, rec, http.StatusOK)
	if info.TenantID != "acme" || info.Documents != 2 || info.StorageBytes != int64(2*len("f")+len(contents["default"])+len(contents["docs"])) ||
		info.Tokens != list[0].Tokens+list[1].Tokens || len(info.Workspaces) != 2 {
		t.Errorf("storage = %+v", info)
	}

	// Deleting a workspace deletes its documents.
	if rec := do(t, h, writer, "DELETE", "/api/v1/workspaces/docs", nil); rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
		t.Fatalf("delete workspace: %d %s", rec.Code, rec.Body)
	}
	wantError(t, do(t, h, reader, "GET", "/api/v1/documents/"+inDocs, nil), http.StatusNotFound, "not_found")
	wantError(t, do(t, h, writer, "DELETE", "/api/v1/workspaces/docs", nil), http.StatusNotFound, "workspace_not_found")
	if info := decode[storageJSON](t, do(t, h, reader, "GET", "/api/v1/storage/info", nil), http.StatusOK); info.Documents != 1 || len(info.Workspaces) != 1 {
		t.Errorf("after delete: %+v", info)
	}
}

// TestConcurrentRequests runs the first requests of a Handler in parallel,
// for the race detector.
func TestConcurrentRequests(t *testing.T) {
	h := newHandler(t, "acme")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			p := caller("acme", "write")
			if rec := do(t, h, p, "POST", "/api/v1/documents", map[string]any{"path": string(rune('a' + i)), "content": "x\n"}); rec.Code != http.StatusCreated {
				t.Errorf("add %d: %d %s", i, rec.Code, rec.Body)
			}
			if rec := do(t, h, p, "GET", "/api/v1/nope", nil); rec.Code != http.StatusNotFound {
				t.Errorf("unknown route: %d", rec.Code)
			}
		})
	}
	wg.Wait()
	if info := decode[storageJSON](t, do(t, h, caller("acme", "read"), "GET", "/api/v1/storage/info", nil), http.StatusOK); info.Documents != 8 {
		t.Errorf("%d documents, want 8", info.Documents)
	}
}
