package mcpserver

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/contextlite/cloud/api"
)

// recorder keeps the levels of the records it handles.
type recorder struct {
	mu     sync.Mutex
	levels []slog.Level
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.levels = append(r.levels, rec.Level)
	return nil
}

func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }

func (r *recorder) WithGroup(string) slog.Handler { return r }

// TestRequestsLogQuietly checks that a call logs nothing below Warn: the
// SDK logs every stateless request's session at Info.
func TestRequestsLogQuietly(t *testing.T) {
	rec := &recorder{}
	h := &Handler{Logger: slog.New(rec)}
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`
	req := httptest.NewRequest("POST", "/mcp", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-06-18")
	req = req.WithContext(api.WithPrincipal(req.Context(), api.Principal{TenantID: "t1", Scopes: []string{api.ScopeRead}}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "assemble_context") {
		t.Fatalf("tools/list: %d %s", w.Code, w.Body)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, l := range rec.levels {
		if l < slog.LevelWarn {
			t.Errorf("a %s record was logged", l)
		}
	}
}
