package caddymodule

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/contextlite/cloud/api"
)

// caddyRoutes are the endpoints the Caddyfile serves outside the API's
// and the operator's routers.
var caddyRoutes = []string{"GET /api/v1/openapi.json", "POST /signup", "GET /health", "POST /webhooks/stripe"}

// noSuccessRoutes cannot answer 2xx in the tests: billing is off, no
// DNS record can verify a domain, and a single server has no node to move
// a tenant to (the cluster tests in cmd/contextlite move them). Their
// error answers are checked.
var noSuccessRoutes = []string{"POST /api/v1/billing/subscription", "POST /api/v1/billing/portal",
	"POST /webhooks/stripe", "POST /api/v1/domains/{domain}/verify",
	"POST /admin/v1/tenants/{id}/move", "POST /admin/v1/nodes/{id}/drain"}

// specChecker is a client transport that validates every request and
// answer against the OpenAPI document: a request the document allows
// must get an answer it describes, and one it refuses must get a 4xx it
// describes. It records which operations answered and which succeeded.
type specChecker struct {
	t      *testing.T
	router routers.Router
	next   http.RoundTripper

	mu        sync.Mutex
	answered  map[string]bool // "METHOD /template"
	succeeded map[string]bool
}

// loadSpec returns the served document, checked against OpenAPI 3.1.
func loadSpec(t *testing.T, data []byte) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		t.Fatalf("load the OpenAPI document: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	if err := doc.Validate(loader.Context, openapi3.EnableExamplesValidation()); err != nil {
		t.Fatalf("the OpenAPI document is invalid: %v", err)
	}
	return doc
}

// decodeNDJSON decodes a body of JSON lines (the export) into an array.
func decodeNDJSON(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
	var lines []any
	dec := json.NewDecoder(body)
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return lines, nil
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", len(lines)+1, err)
		}
		lines = append(lines, v)
	}
}

func newSpecChecker(t *testing.T, doc *openapi3.T, next http.RoundTripper) *specChecker {
	t.Helper()
	doc.Servers = nil // the tests call many hosts; match paths only
	openapi3filter.RegisterBodyDecoder("application/x-ndjson", decodeNDJSON)
	t.Cleanup(func() { openapi3filter.UnregisterBodyDecoder("application/x-ndjson") })
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &specChecker{t: t, router: router, next: next, answered: map[string]bool{}, succeeded: map[string]bool{}}
}

// RoundTrip sends req and validates it and its answer.
func (c *specChecker) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		c.t.Errorf("%s %s: no operation in the OpenAPI document: %v", req.Method, req.URL.Path, err)
		return c.next.RoundTrip(req)
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}
	check := req.Clone(context.Background())
	check.Body = io.NopCloser(bytes.NewReader(body))
	in := &openapi3filter.RequestValidationInput{Request: check, PathParams: params, Route: route, Options: opts}
	reqErr := openapi3filter.ValidateRequest(context.Background(), in)

	resp, err := c.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(data))

	op := req.Method + " " + route.Path
	what := fmt.Sprintf("%s %s (%s) = %d %.300s", req.Method, req.URL.RequestURI(), op, resp.StatusCode, data)
	if reqErr != nil && (resp.StatusCode < 400 || resp.StatusCode >= 500) {
		c.t.Errorf("%s: the document refuses the request, the server did not: %v", what, reqErr)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode,
		Header: resp.Header, Options: &openapi3filter.Options{MultiError: true, IncludeResponseStatus: true}}
	out.SetBodyBytes(data)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		c.t.Errorf("%s: the answer is not as documented: %v", what, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.answered[op] = true
	if reqErr == nil && resp.StatusCode < 300 {
		c.succeeded[op] = true
	}
	return resp, nil
}

// TestOpenAPI drives every route through the real server, validating
// each request and answer against the served OpenAPI document, and fails
// for a route the document lacks or the test never called.
func TestOpenAPI(t *testing.T) {
	t.Setenv("CONTEXTLITE_ADMIN_TOKEN", "op-secret-token")
	t.Setenv("CONTEXTLITE_WEBHOOKS_ALLOW_PRIVATE", "true") // the SSO issuer is on loopback
	tc := startServer(t, t.TempDir(), "")

	// Served without a credential, and the same as the embedded document.
	resp, served := rawCall(t, tc, "GET", testBase+"/api/v1/openapi.json", "", "")
	if resp.StatusCode != http.StatusOK || !bytes.Equal(served, api.OpenAPISpec()) ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("openapi.json: %d %s, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(served))
	}
	doc := loadSpec(t, served)

	routes := slices.Concat(api.Routes(), api.OperatorRoutes(), caddyRoutes)
	for _, r := range routes {
		method, path, _ := strings.Cut(r, " ")
		item := doc.Paths.Value(path)
		if item == nil || item.GetOperation(method) == nil {
			t.Errorf("route %s has no operation in the OpenAPI document", r)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !slices.Contains(routes, method+" "+path) {
				t.Errorf("the OpenAPI document describes %s %s, which no router serves", method, path)
			}
		}
	}

	checker := newSpecChecker(t, doc, tc.Client.Transport)
	client := *tc.Client
	client.Transport = checker
	checked := &caddytest.Tester{Client: &client}
	driveAPI(t, checked)

	for _, r := range routes {
		switch {
		case !checker.answered[r]:
			t.Errorf("route %s was never called", r)
		case !checker.succeeded[r] && !slices.Contains(noSuccessRoutes, r):
			t.Errorf("route %s never succeeded with a request the document allows", r)
		}
	}
}

// driveAPI calls every route of the API, with success and the main error
// cases, through tc.
func driveAPI(t *testing.T, tc *caddytest.Tester) {
	const op = "op-secret-token"
	rawCall(t, tc, "GET", testBase+"/api/v1/openapi.json", "", "")
	rawCall(t, tc, "GET", testBase+"/health", "", "")
	acme := signup(t, tc, "SpecCo")
	call(t, tc, "POST", testBase+"/signup", "", map[string]string{"email": "not-an-address", "company": "X"}, http.StatusUnprocessableEntity, nil)
	call(t, tc, "POST", testBase+"/signup", "", map[string]string{"email": "a@b.test"}, http.StatusUnprocessableEntity, nil)
	rawCall(t, tc, "POST", testBase+"/webhooks/stripe", "", `{"id": "evt_1"}`)

	// The operator API.
	operator := func(method, path, body string, want int) {
		t.Helper()
		headers := map[string]string{"Authorization": "Bearer " + op}
		if body != "" {
			headers["Content-Type"] = "application/json"
		}
		resp, data := requestWith(t, tc, method, testBase+path, body, headers)
		if resp.StatusCode != want {
			t.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, data, want)
		}
	}
	operator("GET", "/admin/v1/tenants", "", http.StatusOK)
	operator("GET", "/admin/v1/tenants/"+acme.Slug, "", http.StatusOK)
	operator("GET", "/admin/v1/tenants/nobody", "", http.StatusNotFound)
	operator("PUT", "/admin/v1/tenants/"+acme.TenantID+"/tier", `{"tier": "enterprise"}`, http.StatusOK)
	operator("PUT", "/admin/v1/tenants/"+acme.TenantID+"/tier", `{"tier": "platinum"}`, http.StatusUnprocessableEntity)
	operator("PUT", "/admin/v1/tenants/"+acme.TenantID+"/status", `{"status": "active"}`, http.StatusOK)
	operator("PUT", "/admin/v1/tenants/"+acme.TenantID+"/status", `{"status": "gone"}`, http.StatusUnprocessableEntity)
	// A single server is not a cluster node: nothing to move a tenant to.
	operator("POST", "/admin/v1/tenants/"+acme.TenantID+"/move", `{"node": "node-1"}`, http.StatusNotFound)
	operator("POST", "/admin/v1/nodes/node-1/drain", "", http.StatusNotFound)
	if status, _ := operatorCall(t, tc.Client, "GET", "/admin/v1/tenants", "wrong", ""); status != http.StatusUnauthorized {
		t.Fatalf("wrong admin token: %d", status)
	}

	base, key := acme.URL+"/api/v1", acme.APIKey
	// Documents.
	var added struct {
		ID string `json:"id"`
	}
	doc := map[string]any{"path": "src/tokenizer.go", "content": "package tok\n\n// Tokenize splits text by rule.\nfunc Tokenize(s string) []string { return nil }\n",
		"language": "go", "metadata": map[string]any{"owner": "ml"}}
	call(t, tc, "POST", base+"/documents", key, doc, http.StatusCreated, &added)
	call(t, tc, "POST", base+"/documents", key, doc, http.StatusOK, nil)
	call(t, tc, "POST", base+"/documents", key, map[string]any{"path": "x", "content": "x", "colour": "red"}, http.StatusUnprocessableEntity, nil)
	call(t, tc, "POST", base+"/documents", key, map[string]any{"path": "x", "content": 1}, http.StatusUnprocessableEntity, nil)
	call(t, tc, "POST", base+"/documents", "", doc, http.StatusUnauthorized, nil)
	call(t, tc, "POST", base+"/documents/bulk", key, map[string]any{"documents": []map[string]any{
		{"path": "a.md", "content": "alpha tokenize\n"}, {"path": "b.md", "content": "beta\n", "workspace": "nowhere"}}}, http.StatusOK, nil)
	call(t, tc, "POST", base+"/documents/bulk", key, map[string]any{"documents": []any{}}, http.StatusUnprocessableEntity, nil)
	call(t, tc, "GET", base+"/documents?limit=1", key, nil, http.StatusOK, nil)
	call(t, tc, "GET", base+"/documents?limit=0", key, nil, http.StatusUnprocessableEntity, nil)
	call(t, tc, "GET", base+"/documents/"+added.ID, key, nil, http.StatusOK, nil)
	call(t, tc, "GET", base+"/documents/missing", key, nil, http.StatusNotFound, nil)
	var page struct {
		NextCursor string `json:"next_cursor"`
	}
	call(t, tc, "GET", base+"/documents/search?q=tokenize&limit=1", key, nil, http.StatusOK, &page)
	call(t, tc, "GET", base+"/documents/search?q=tokenize&limit=1&cursor="+page.NextCursor, key, nil, http.StatusOK, nil)
	call(t, tc, "GET", base+"/documents/search?q=tokenize&cursor=garbage", key, nil, http.StatusUnprocessableEntity, nil)
	call(t, tc, "GET", base+"/documents/search", key, nil, http.StatusUnprocessableEntity, nil)
	call(t, tc, "POST", base+"/context/assemble", key, map[string]any{"query": "tokenize rule", "max_tokens": 100000}, http.StatusOK, nil)
	call(t, tc, "POST", base+"/context/assemble", key, map[string]any{"max_tokens": 10}, http.StatusUnprocessableEntity, nil)

	// Workspaces, storage, usage, export.
	call(t, tc, "POST", base+"/workspaces", key, map[string]string{"name": "scratch"}, http.StatusCreated, nil)
	call(t, tc, "POST", base+"/workspaces", key, map[string]string{"name": "scratch"}, http.StatusConflict, nil)
	call(t, tc, "GET", base+"/workspaces", key, nil, http.StatusOK, nil)
	call(t, tc, "GET", base+"/storage/info", key, nil, http.StatusOK, nil)
	call(t, tc, "GET", base+"/usage", key, nil, http.StatusOK, nil)
	if resp, data := rawCall(t, tc, "GET", base+"/export", key, ""); resp.StatusCode != http.StatusOK || !bytes.Contains(data, []byte(`"type":"document"`)) {
		t.Fatalf("export: %d %s", resp.StatusCode, data)
	}
	call(t, tc, "DELETE", base+"/workspaces/scratch", key, nil, http.StatusNoContent, nil)
	call(t, tc, "DELETE", base+"/workspaces/scratch", key, nil, http.StatusNotFound, nil)
	call(t, tc, "DELETE", base+"/documents/"+added.ID, key, nil, http.StatusNoContent, nil)
	call(t, tc, "DELETE", base+"/documents/"+added.ID, key, nil, http.StatusNotFound, nil)

	// Keys.
	var made struct {
		ID string `json:"id"`
	}
	call(t, tc, "POST", base+"/keys", key, map[string]any{"name": "ci", "scopes": []string{"read"}, "expires_at": "2030-01-01T00:00:00Z"}, http.StatusCreated, &made)
	call(t, tc, "POST", base+"/keys", key, map[string]any{"name": "ci", "scopes": []string{"root"}}, http.StatusUnprocessableEntity, nil)
	call(t, tc, "GET", base+"/keys", key, nil, http.StatusOK, nil)
	call(t, tc, "POST", base+"/keys/"+made.ID+"/rotate", key, map[string]any{"grace_seconds": 60}, http.StatusCreated, nil)
	call(t, tc, "POST", base+"/keys/"+made.ID+"/rotate", key, map[string]any{"grace_seconds": -1}, http.StatusUnprocessableEntity, nil)
	call(t, tc, "DELETE", base+"/keys/"+made.ID, key, nil, http.StatusNoContent, nil)
	call(t, tc, "DELETE", base+"/keys/missing", key, nil, http.StatusNotFound, nil)

	// Notifications.
	call(t, tc, "GET", base+"/notifications", key, nil, http.StatusNotFound, nil)
	call(t, tc, "PUT", base+"/notifications", key, map[string]any{"url": "https://hooks.example.com/contextlite"}, http.StatusOK, nil)
	call(t, tc, "PUT", base+"/notifications", key, map[string]any{"url": "ftp://example.com"}, http.StatusUnprocessableEntity, nil)
	call(t, tc, "GET", base+"/notifications", key, nil, http.StatusOK, nil)
	call(t, tc, "DELETE", base+"/notifications", key, nil, http.StatusNoContent, nil)

	// Domains (the enterprise tier may claim them).
	call(t, tc, "POST", base+"/domains", key, map[string]string{"domain": "docs.specco.test"}, http.StatusCreated, nil)
	call(t, tc, "POST", base+"/domains", key, map[string]string{"domain": "not a domain"}, http.StatusUnprocessableEntity, nil)
	call(t, tc, "GET", base+"/domains", key, nil, http.StatusOK, nil)
	call(t, tc, "POST", base+"/domains/docs.specco.test/verify", key, nil, http.StatusUnprocessableEntity, nil)
	call(t, tc, "DELETE", base+"/domains/docs.specco.test", key, nil, http.StatusNoContent, nil)
	call(t, tc, "DELETE", base+"/domains/docs.specco.test", key, nil, http.StatusNotFound, nil)

	// Single sign-on (the enterprise tier may set it).
	idp := startIdP(t)
	sso := map[string]string{"issuer": idp.URL, "client_id": "console", "client_secret": "s3cret"}
	call(t, tc, "GET", base+"/sso", key, nil, http.StatusNotFound, nil)
	call(t, tc, "PUT", base+"/sso", key, sso, http.StatusOK, nil)
	call(t, tc, "PUT", base+"/sso", key, map[string]string{"issuer": "http://idp.example.com", "client_id": "c", "client_secret": "s"}, http.StatusUnprocessableEntity, nil)
	call(t, tc, "GET", base+"/sso", key, nil, http.StatusOK, nil)
	call(t, tc, "DELETE", base+"/sso", key, nil, http.StatusNoContent, nil)
	call(t, tc, "DELETE", base+"/sso", key, nil, http.StatusNotFound, nil)

	// Audit log, tenant, billing (off in the tests).
	call(t, tc, "GET", base+"/audit?limit=2", key, nil, http.StatusOK, nil)
	call(t, tc, "GET", base+"/audit?cursor=garbage", key, nil, http.StatusUnprocessableEntity, nil)
	call(t, tc, "GET", base+"/tenant", key, nil, http.StatusOK, nil)
	call(t, tc, "POST", base+"/billing/subscription", key, map[string]string{"tier": "pro"}, http.StatusNotFound, nil)
	call(t, tc, "POST", base+"/billing/portal", key, map[string]string{"return_url": "https://acme.test/"}, http.StatusNotFound, nil)
	call(t, tc, "DELETE", base+"/tenant", key, map[string]string{"confirm": "wrong"}, http.StatusUnprocessableEntity, nil)
	call(t, tc, "DELETE", base+"/tenant", key, map[string]string{"confirm": acme.Slug}, http.StatusAccepted, nil)
}
