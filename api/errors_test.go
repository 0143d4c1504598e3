package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/contextlite/cloud/contextengine"
)

func TestErrorResponses(t *testing.T) {
	h := newHandler(t, "acme")
	reader, writer := caller("acme", "read"), caller("acme", "write")
	decode[map[string]any](t, do(t, h, writer, "POST", "/api/v1/workspaces", map[string]any{"name": "docs"}), http.StatusCreated)
	tooMany := make([]map[string]any, maxBulkDocuments+1)
	for i := range tooMany {
		tooMany[i] = map[string]any{"path": fmt.Sprint(i), "content": "x"}
	}

	tests := []struct {
		name         string
		p            *Principal
		method, path string
		body         any
		status       int
		code         string
		allow        string
	}{
		{"no principal", nil, "GET", "/api/v1/documents", nil, 401, "unauthorized", ""},
		{"no principal on write", nil, "POST", "/api/v1/documents", `{"path":"a","content":"b"}`, 401, "unauthorized", ""},
		{"read scope cannot add", reader, "POST", "/api/v1/documents", `{"path":"a","content":"b"}`, 403, "insufficient_scope", ""},
		{"read scope cannot delete", reader, "DELETE", "/api/v1/documents/doc_1", nil, 403, "insufficient_scope", ""},
		{"read scope cannot create workspace", reader, "POST", "/api/v1/workspaces", `{"name":"x"}`, 403, "insufficient_scope", ""},
		{"unknown scope", caller("acme", "billing"), "GET", "/api/v1/documents", nil, 403, "insufficient_scope", ""},
		{"no scopes", caller("acme"), "GET", "/api/v1/storage/info", nil, 403, "insufficient_scope", ""},
		{"malformed JSON", writer, "POST", "/api/v1/documents", `{"path": "a", content}`, 400, "bad_request", ""},
		{"truncated JSON", writer, "POST", "/api/v1/documents", `{"path": "a", "content": "b"`, 400, "bad_request", ""},
		{"empty body", writer, "POST", "/api/v1/documents", nil, 400, "bad_request", ""},
		{"array body", writer, "POST", "/api/v1/documents", `[{"path":"a","content":"b"}]`, 400, "bad_request", ""},
		{"two JSON values", writer, "POST", "/api/v1/documents", `{"path":"a","content":"b"} {}`, 400, "bad_request", ""},
		{"trailing garbage", writer, "POST", "/api/v1/context/assemble", `{"query":"a"}]`, 400, "bad_request", ""},
		{"content not a string", writer, "POST", "/api/v1/documents", `{"path":"a","content":5}`, 422, "invalid_request", ""},
		{"metadata not an object", writer, "POST", "/api/v1/documents", `{"path":"a","content":"b","metadata":[1]}`, 422, "invalid_request", ""},
		{"max_tokens not an integer", reader, "POST", "/api/v1/context/assemble", `{"query":"a","max_tokens":"many"}`, 422, "invalid_request", ""},
		{"max_tokens fractional", reader, "POST", "/api/v1/context/assemble", `{"query":"a","max_tokens":1.5}`, 422, "invalid_request", ""},
		{"use_cache not a boolean", reader, "POST", "/api/v1/context/assemble", `{"query":"a","use_cache":"no"}`, 422, "invalid_request", ""},
		{"bulk item of wrong type", writer, "POST", "/api/v1/documents/bulk", `{"documents":[{"path":"a","content":"b"},{"path":7}]}`, 422, "invalid_request", ""},
		{"no path or id", writer, "POST", "/api/v1/documents", `{"content":"b"}`, 422, "invalid_request", ""},
		{"bad document id", writer, "POST", "/api/v1/documents", `{"id":"has space","content":"b"}`, 422, "invalid_request", ""},
		{"missing workspace on add", writer, "POST", "/api/v1/documents", `{"path":"a","content":"b","workspace":"nope"}`, 404, "workspace_not_found", ""},
		{"assemble without query", reader, "POST", "/api/v1/context/assemble", `{"max_tokens":100}`, 422, "invalid_request", ""},
		{"assemble negative max_tokens", reader, "POST", "/api/v1/context/assemble", `{"query":"a","max_tokens":-1}`, 422, "invalid_request", ""},
		{"assemble too many documents", reader, "POST", "/api/v1/context/assemble", `{"query":"a","max_documents":5000}`, 422, "invalid_request", ""},
		{"assemble missing workspace", reader, "POST", "/api/v1/context/assemble", `{"query":"a","workspace":"nope"}`, 404, "workspace_not_found", ""},
		{"search without q", reader, "GET", "/api/v1/documents/search", nil, 422, "invalid_request", ""},
		{"search blank q", reader, "GET", "/api/v1/documents/search?q=++", nil, 422, "invalid_request", ""},
		{"search limit not a number", reader, "GET", "/api/v1/documents/search?q=a&limit=ten", nil, 422, "invalid_request", ""},
		{"search limit too high", reader, "GET", "/api/v1/documents/search?q=a&limit=101", nil, 422, "invalid_request", ""},
		{"search missing workspace", reader, "GET", "/api/v1/documents/search?q=a&workspace=nope", nil, 404, "workspace_not_found", ""},
		{"list limit too high", reader, "GET", "/api/v1/documents?limit=501", nil, 422, "invalid_request", ""},
		{"list limit zero", reader, "GET", "/api/v1/documents?limit=0", nil, 422, "invalid_request", ""},
		{"list bad cursor", reader, "GET", "/api/v1/documents?cursor=%21%21", nil, 422, "invalid_request", ""},
		{"get missing document", reader, "GET", "/api/v1/documents/doc_missing", nil, 404, "not_found", ""},
		{"delete missing document", writer, "DELETE", "/api/v1/documents/doc_missing", nil, 404, "not_found", ""},
		{"document too large", writer, "POST", "/api/v1/documents", map[string]any{"path": "big", "content": strings.Repeat("x", 1<<20+1)}, 413, "too_large", ""},
		{"bulk too large", writer, "POST", "/api/v1/documents/bulk", map[string]any{"documents": tooMany}, 413, "too_large", ""},
		{"bulk empty", writer, "POST", "/api/v1/documents/bulk", `{"documents":[]}`, 422, "invalid_request", ""},
		{"duplicate workspace", writer, "POST", "/api/v1/workspaces", `{"name":"docs"}`, 409, "conflict", ""},
		{"default workspace exists", writer, "POST", "/api/v1/workspaces", `{"name":"default"}`, 409, "conflict", ""},
		{"bad workspace name", writer, "POST", "/api/v1/workspaces", `{"name":"a b"}`, 422, "invalid_request", ""},
		{"no workspace name", writer, "POST", "/api/v1/workspaces", `{}`, 422, "invalid_request", ""},
		{"delete default workspace", writer, "DELETE", "/api/v1/workspaces/default", nil, 422, "invalid_request", ""},
		{"delete missing workspace", writer, "DELETE", "/api/v1/workspaces/nope", nil, 404, "workspace_not_found", ""},
		{"tenant without store", caller("ghost", "read"), "GET", "/api/v1/documents", nil, 404, "tenant_not_found", ""},
		{"tenant id invalid", caller("../acme", "read"), "GET", "/api/v1/documents", nil, 404, "tenant_not_found", ""},
		{"unknown route", reader, "GET", "/api/v1/nope", nil, 404, "not_found", ""},
		{"unknown version", reader, "GET", "/api/v2/documents", nil, 404, "not_found", ""},
		{"unknown route without principal", nil, "GET", "/", nil, 404, "not_found", ""},
		{"nested unknown route", reader, "GET", "/api/v1/documents/a/b", nil, 404, "not_found", ""},
		{"wrong method on collection", writer, "PUT", "/api/v1/documents", nil, 405, "method_not_allowed", "GET, HEAD, POST"},
		{"wrong method on document", writer, "PATCH", "/api/v1/documents/doc_1", nil, 405, "method_not_allowed", "DELETE, GET, HEAD"},
		{"wrong method on assemble", reader, "GET", "/api/v1/context/assemble", nil, 405, "method_not_allowed", "POST"},
		{"wrong method on workspace", writer, "GET", "/api/v1/workspaces/docs", nil, 405, "method_not_allowed", "DELETE"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(t, h, tc.p, tc.method, tc.path, tc.body)
			wantError(t, rec, tc.status, tc.code)
			if got := rec.Header().Get("Allow"); got != tc.allow {
				t.Errorf("Allow = %q, want %q", got, tc.allow)
			}
		})
	}
}

// TestBodyLimit checks that a body over the limit is refused even when
// every document in it is small enough.
func TestBodyLimit(t *testing.T) {
	h := newHandler(t, "acme")
	docs := make([]map[string]any, 17)
	for i := range docs {
		docs[i] = map[string]any{"path": fmt.Sprint(i), "content": strings.Repeat("x", 1_000_000)}
	}
	rec := do(t, h, caller("acme", "write"), "POST", "/api/v1/documents/bulk", map[string]any{"documents": docs})
	wantError(t, rec, http.StatusRequestEntityTooLarge, "too_large")
	if !strings.Contains(rec.Body.String(), fmt.Sprint(maxBodyBytes)) {
		t.Errorf("message does not name the body limit: %s", rec.Body)
	}
	if info := decode[storageJSON](t, do(t, h, caller("acme", "read"), "GET", "/api/v1/storage/info", nil), http.StatusOK); info.Documents != 0 {
		t.Errorf("%d documents stored from a refused body", info.Documents)
	}
}

// TestTypeErrorNamesField checks that a wrong type is reported with the
// path of the field.
func TestTypeErrorNamesField(t *testing.T) {
	h := newHandler(t, "acme")
	rec := do(t, h, caller("acme", "read"), "POST", "/api/v1/context/assemble", `{"query":"a","max_tokens":"many"}`)
	var body struct {
		Error errorDetail `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if want := `field "max_tokens" must be an integer, not string`; body.Error.Message != want {
		t.Errorf("message %q, want %q", body.Error.Message, want)
	}
}

func TestErrorFrom(t *testing.T) {
	var syntaxErr *json.SyntaxError
	if err := json.Unmarshal([]byte(`{x}`), &struct{}{}); !errors.As(err, &syntaxErr) {
		t.Fatalf("no syntax error from %v", err)
	}
	var typeErr *json.UnmarshalTypeError
	if err := json.Unmarshal([]byte(`{"n":"x"}`), &struct{ N int }{}); !errors.As(err, &typeErr) {
		t.Fatalf("no type error from %v", err)
	}
	secret := errors.New("dial tcp 10.0.0.7:5432: password authentication failed for secret")
	tests := []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"api error", &Error{418, "teapot", "short and stout"}, 418, "teapot"},
		{"wrapped api error", fmt.Errorf("auth: %w", &Error{401, "key_revoked", "revoked"}), 401, "key_revoked"},
		{"not found", fmt.Errorf("%w: doc_1", contextengine.ErrNotFound), 404, "not_found"},
		{"tenant not found", fmt.Errorf("open: %w", contextengine.ErrTenantNotFound), 404, "tenant_not_found"},
		{"workspace missing", contextengine.ErrWorkspaceMissing, 404, "workspace_not_found"},
		{"invalid input", fmt.Errorf("%w: limit", contextengine.ErrInvalidInput), 422, "invalid_request"},
		{"conflict", contextengine.ErrConflict, 409, "conflict"},
		{"workspace exists", contextengine.ErrWorkspaceExists, 409, "conflict"},
		{"document too large", fmt.Errorf("add: %w", &contextengine.TooLargeError{Size: 10, Limit: 5}), 413, "too_large"},
		{"body too large", fmt.Errorf("decode: %w", &http.MaxBytesError{Limit: 16}), 413, "too_large"},
		{"malformed JSON", fmt.Errorf("decode: %w", syntaxErr), 400, "bad_request"},
		{"wrong JSON type", typeErr, 422, "invalid_request"},
		{"engine closed", contextengine.ErrClosed, 503, "unavailable"},
		{"tenant moving", fmt.Errorf("open: %w: acme", contextengine.ErrTenantMoving), 503, "tenant_moving"},
		{"deadline", fmt.Errorf("search: %w", context.DeadlineExceeded), 503, "timeout"},
		{"canceled", context.Canceled, 499, "canceled"},
		{"unknown", fmt.Errorf("query: %w", secret), 500, "internal_error"},
		{"unexpected EOF outside decoding", io.ErrUnexpectedEOF, 500, "internal_error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := ErrorFrom(tc.err)
			if e.Status != tc.status || e.Code != tc.code || e.Message == "" {
				t.Errorf("ErrorFrom(%v) = %d %s %q; want %d %s", tc.err, e.Status, e.Code, e.Message, tc.status, tc.code)
			}
			if e.Status == 500 && (strings.Contains(e.Message, "secret") || strings.Contains(e.Message, "EOF")) {
				t.Errorf("500 message leaks the error: %q", e.Message)
			}
		})
	}
}

func TestWriteError(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, http.StatusTooManyRequests, "rate_limited", `slow "down"`)
	body := decode[map[string]map[string]string](t, rec, http.StatusTooManyRequests)
	if e := body["error"]; len(body) != 1 || len(e) != 2 || e["code"] != "rate_limited" || e["message"] != `slow "down"` {
		t.Errorf("body = %v", body)
	}
	if got := rec.Header().Get("Retry-After"); got != "" {
		t.Errorf("Retry-After %q on an error that sets none", got)
	}
}

// TestTenantMovingAnswer checks that a request for a tenant being moved
// gets a 503 that says when to retry.
func TestTenantMovingAnswer(t *testing.T) {
	h := newHandler(t, "acme")
	var log strings.Builder
	h.Logger = slogTo(&log)
	release, err := h.Engine.Fence(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	rec := do(t, h, caller("acme", "write"), "POST", "/api/v1/documents", map[string]any{"path": "a.go", "content": "package a"})
	wantError(t, rec, http.StatusServiceUnavailable, "tenant_moving")
	if got := rec.Header().Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After %q, want 1", got)
	}
	if log.Len() != 0 {
		t.Errorf("a request during a move was logged as a failure: %s", log.String())
	}
	release()
	decode[map[string]any](t, do(t, h, caller("acme", "write"), "POST", "/api/v1/documents", map[string]any{"path": "a.go", "content": "package a"}), http.StatusCreated)
}

// TestInternalErrorIsLogged checks that a 500 reaches the log but not the client.
func TestInternalErrorIsLogged(t *testing.T) {
	h := newHandler(t, "acme")
	var log strings.Builder
	h.Logger = slogTo(&log)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequestWithContext(ctx, "GET", "/api/v1/storage/info", nil)
	req = req.WithContext(WithPrincipal(req.Context(), *caller("acme", "read")))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	wantError(t, rec, 499, "canceled")
	if log.Len() != 0 {
		t.Errorf("a canceled request was logged: %s", log.String())
	}

	h.Engine.Close()
	wantError(t, do(t, h, caller("acme", "read"), "GET", "/api/v1/storage/info", nil), 503, "unavailable")
	if !strings.Contains(log.String(), "engine closed") || !strings.Contains(log.String(), "tenant=acme") {
		t.Errorf("log = %q, want the engine error and tenant", log.String())
	}
}
