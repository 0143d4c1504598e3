package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/contextlite/cloud/contextengine"
)

// newHandler returns a Handler over a real engine in a temporary
// directory, with the given tenants created.
func newHandler(t *testing.T, tenants ...string) *Handler {
	t.Helper()
	m, err := contextengine.NewManager(contextengine.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	for _, id := range tenants {
		if err := m.Create(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	return &Handler{Engine: m, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}
}

// caller returns a principal of tenant with scopes.
func caller(tenant string, scopes ...string) *Principal {
	return &Principal{TenantID: tenant, KeyID: "key_" + tenant, Scopes: scopes}
}

// do sends a request as p (nil: unauthenticated). A string or []byte body
// is sent as is, anything else as JSON.
func do(t *testing.T, h http.Handler, p *Principal, method, target string, body any) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req := httptest.NewRequest(method, target, r)
	if p != nil {
		req = req.WithContext(WithPrincipal(req.Context(), *p))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// decode checks the status and JSON content type of rec and decodes its
// body into a T.
func decode[T any](t *testing.T, rec *httptest.ResponseRecorder, status int) T {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d; body: %s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %s: %v", rec.Body, err)
	}
	return v
}

// wantKeys fails unless obj has exactly the given keys.
func wantKeys(t *testing.T, what string, obj map[string]any, keys ...string) {
	t.Helper()
	var got []string
	for k := range obj {
		got = append(got, k)
	}
	slices.Sort(got)
	slices.Sort(keys)
	if !slices.Equal(got, keys) {
		t.Errorf("%s keys = %v, want %v", what, got, keys)
	}
}

// wantError checks that rec is a JSON error with status and code.
func wantError(t *testing.T, rec *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	body := decode[map[string]any](t, rec, status)
	wantKeys(t, "error body", body, "error")
	e, ok := body["error"].(map[string]any)
	if !ok {
		t.Fatalf("error is %T, want an object", body["error"])
	}
	wantKeys(t, "error", e, "code", "message")
	if e["code"] != code {
		t.Errorf("code %v, want %s (message %v)", e["code"], code, e["message"])
	}
	if msg, _ := e["message"].(string); msg == "" {
		t.Error("empty error message")
	}
}

// goSource returns a Go file of n small functions about topic, blank-line
// separated so that it chunks into several spans.
func goSource(topic string, n int) string {
	var b strings.Builder
	b.WriteString("package sample\n")
	for i := range n {
		fmt.Fprintf(&b, "\n// %s%d applies %s rule %d to the input and reports the outcome.\n", topic, i, topic, i)
		fmt.Fprintf(&b, "func %s%d(input []string) (string, error) {\n", topic, i)
		fmt.Fprintf(&b, "\tif len(input) == %d {\n\t\treturn \"\", errEmpty%d\n\t}\n", i, i)
		fmt.Fprintf(&b, "\treturn strings.Join(input, %q), nil\n}\n", topic)
	}
	return b.String()
}

// slogTo returns a text logger writing to w.
func slogTo(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, nil))
}
