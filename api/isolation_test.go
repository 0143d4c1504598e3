package api

import (
	"net/http"
	"testing"
)

// TestTenantIsolation checks that one tenant can never reach another's
// documents, whatever it knows of their ids.
func TestTenantIsolation(t *testing.T) {
	h := newHandler(t, "alpha", "beta")
	alphaW, alphaR := caller("alpha", "admin"), caller("alpha", "read")
	betaW, betaR := caller("beta", "admin"), caller("beta", "read")

	secret := decode[addedJSON](t, do(t, h, alphaW, "POST", "/api/v1/documents", map[string]any{"path": "secret.md", "content": "alpha launch codes zanzibar\n"}), http.StatusCreated)
	named := decode[addedJSON](t, do(t, h, alphaW, "POST", "/api/v1/documents", map[string]any{"id": "shared-id", "path": "plan.md", "content": "alpha plan\n"}), http.StatusCreated)

	for _, id := range []string{secret.ID, named.ID} {
		wantError(t, do(t, h, betaR, "GET", "/api/v1/documents/"+id, nil), http.StatusNotFound, "not_found")
		wantError(t, do(t, h, betaW, "DELETE", "/api/v1/documents/"+id, nil), http.StatusNotFound, "not_found")
	}
	if got := decode[searchJSON](t, do(t, h, betaR, "GET", "/api/v1/documents/search?q=zanzibar", nil), http.StatusOK); len(got.Results) != 0 {
		t.Errorf("beta found %d of alpha's chunks", len(got.Results))
	}
	if got := decode[pageJSON](t, do(t, h, betaR, "GET", "/api/v1/documents", nil), http.StatusOK); len(got.Documents) != 0 {
		t.Errorf("beta lists %d of alpha's documents", len(got.Documents))
	}
	if got := decode[assembleJSON](t, do(t, h, betaR, "POST", "/api/v1/context/assemble", map[string]any{"query": "zanzibar launch codes"}), http.StatusOK); got.TotalDocuments != 0 {
		t.Errorf("beta assembled %d of alpha's documents", got.TotalDocuments)
	}

	// Ids are per tenant: beta may use the same one without conflict.
	mine := decode[addedJSON](t, do(t, h, betaW, "POST", "/api/v1/documents", map[string]any{"id": "shared-id", "path": "plan.md", "content": "beta plan\n"}), http.StatusCreated)
	if mine.ID != "shared-id" {
		t.Fatalf("beta add = %+v", mine)
	}
	if got := decode[documentJSON](t, do(t, h, betaR, "GET", "/api/v1/documents/shared-id", nil), http.StatusOK); got.Content != "beta plan\n" {
		t.Errorf("beta reads %q", got.Content)
	}

	// Alpha's documents are untouched.
	for id, content := range map[string]string{secret.ID: "alpha launch codes zanzibar\n", named.ID: "alpha plan\n"} {
		if got := decode[documentJSON](t, do(t, h, alphaR, "GET", "/api/v1/documents/"+id, nil), http.StatusOK); got.Content != content {
			t.Errorf("alpha's %s reads %q, want %q", id, got.Content, content)
		}
	}
	if got := decode[storageJSON](t, do(t, h, alphaR, "GET", "/api/v1/storage/info", nil), http.StatusOK); got.Documents != 2 || got.TenantID != "alpha" {
		t.Errorf("alpha storage = %+v", got)
	}
}
