package caddymodule

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// TestErrorsLogServerErrors checks that a server error is answered without
// its cause and logged with the cause and the request id.
func TestErrorsLogServerErrors(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	m := &Errors{logger: zap.New(core)}
	rec := httptest.NewRecorder()
	rec.Header().Set("X-Request-Id", "req-42")
	r := caddyhttp.PrepareRequest(httptest.NewRequest("GET", "/api/v1/documents", nil), caddy.NewReplacer(), rec, nil)
	cause := errors.New("control plane: connection refused")
	r = r.WithContext(context.WithValue(r.Context(), caddyhttp.ErrorCtxKey, caddyhttp.Error(http.StatusInternalServerError, cause)))
	if err := m.ServeHTTP(rec, r, nil); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "connection refused") || !strings.Contains(rec.Body.String(), `"request_id":"req-42"`) {
		t.Fatalf("answer %d %s", rec.Code, rec.Body)
	}
	entries := logs.All()
	if len(entries) != 1 || entries[0].ContextMap()["request_id"] != "req-42" || !strings.Contains(entries[0].ContextMap()["error"].(string), "connection refused") {
		t.Fatalf("log = %+v", entries)
	}

	// Client errors are not logged.
	r = r.WithContext(context.WithValue(r.Context(), caddyhttp.ErrorCtxKey, caddyhttp.Error(http.StatusNotFound, nil)))
	if err := m.ServeHTTP(httptest.NewRecorder(), r, nil); err != nil || logs.Len() != 1 {
		t.Fatalf("404: err %v, %d log entries", err, logs.Len())
	}
}
