package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// TestOpenAPISpecNamesEveryRoute checks that the embedded document has an
// operation for every route of both routers; the caddymodule tests
// validate the traffic against it.
func TestOpenAPISpecNamesEveryRoute(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(OpenAPISpec(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q", doc.OpenAPI)
	}
	routes := slices.Concat(Routes(), OperatorRoutes())
	if len(routes) < 30 {
		t.Fatalf("only %d routes", len(routes))
	}
	for _, r := range routes {
		method, path, _ := strings.Cut(r, " ")
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("route %s has no operation in openapi.json", r)
		}
	}
}

func TestOpenAPIHandler(t *testing.T) {
	rec := httptest.NewRecorder()
	OpenAPI{}.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/openapi.json", nil))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" || !json.Valid(rec.Body.Bytes()) {
		t.Fatalf("GET: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	rec = httptest.NewRecorder()
	OpenAPI{}.ServeHTTP(rec, httptest.NewRequest("POST", "/api/v1/openapi.json", nil))
	wantError(t, rec, http.StatusMethodNotAllowed, "method_not_allowed")
}
