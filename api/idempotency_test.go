package api

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contextlite/cloud/contextengine"
)

// newClockHandler is newHandler for tenant "acme" with an engine clock
// the test moves.
func newClockHandler(t *testing.T) (*Handler, *atomic.Int64) {
	t.Helper()
	var now atomic.Int64
	now.Store(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	m, err := contextengine.NewManager(contextengine.Options{DataDir: t.TempDir(), Now: func() time.Time { return time.Unix(0, now.Load()) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	if err := m.Create(context.Background(), "acme"); err != nil {
		t.Fatal(err)
	}
	return &Handler{Engine: m, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}, &now
}

// doKey sends a request as p with an Idempotency-Key.
func doKey(t *testing.T, h http.Handler, p *Principal, method, target, key, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.Header.Set(IdempotencyHeader, key)
	req = req.WithContext(WithPrincipal(req.Context(), *p))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestIdempotencyExpires replays an answer for 24 hours and runs the
// request again after.
func TestIdempotencyExpires(t *testing.T) {
	h, now := newClockHandler(t)
	writer := caller("acme", "write")
	doc := `{"path": "a.md", "content": "first"}`
	first := doKey(t, h, writer, "POST", "/api/v1/documents", "k", doc)
	if first.Code != http.StatusCreated || first.Header().Get(ReplayedHeader) != "" {
		t.Fatalf("first = %d %s %v", first.Code, first.Body, first.Header())
	}
	now.Add(int64(contextengine.IdempotencyTTL - time.Second))
	again := doKey(t, h, writer, "POST", "/api/v1/documents", "k", doc)
	if again.Code != first.Code || !bytes.Equal(again.Body.Bytes(), first.Body.Bytes()) || again.Header().Get(ReplayedHeader) != "true" {
		t.Fatalf("retry within 24 h = %d %s %v, want the first answer replayed", again.Code, again.Body, again.Header())
	}
	wantError(t, doKey(t, h, writer, "POST", "/api/v1/documents", "k", `{"path": "a.md", "content": "second"}`), http.StatusConflict, "idempotency_key_reused")

	now.Add(int64(time.Second))
	after := doKey(t, h, writer, "POST", "/api/v1/documents", "k", doc)
	if after.Header().Get(ReplayedHeader) != "" {
		t.Fatalf("retry after 24 h was replayed: %s", after.Body)
	}
	if got := decode[addedJSON](t, after, http.StatusOK); got.Status != "unchanged" {
		t.Fatalf("retry after 24 h = %+v, want the request run again (unchanged)", got)
	}
}

// TestIdempotencyKeyInUse answers 409 idempotency_key_in_use while another
// call holds the key, and runs nothing.
func TestIdempotencyKeyInUse(t *testing.T) {
	h := newHandler(t, "acme")
	tn, err := h.Engine.Open(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	defer tn.Close()
	release, err := tn.HoldIdempotencyKey(storedKey("busy"))
	if err != nil {
		t.Fatal(err)
	}
	rec := doKey(t, h, caller("acme", "write"), "POST", "/api/v1/workspaces", "busy", `{"name": "docs"}`)
	wantError(t, rec, http.StatusConflict, "idempotency_key_in_use")
	if rec.Header().Get("Retry-After") == "" {
		t.Error("no Retry-After on idempotency_key_in_use")
	}
	if ws, _ := tn.Workspaces(context.Background()); len(ws) != 1 {
		t.Fatalf("workspaces = %+v, want only the default one", ws)
	}
	release()
	if rec := doKey(t, h, caller("acme", "write"), "POST", "/api/v1/workspaces", "busy", `{"name": "docs"}`); rec.Code != http.StatusCreated {
		t.Fatalf("after release = %d %s", rec.Code, rec.Body)
	}
}

// TestIdempotencyStoresClientErrors replays a 4xx answer, checks the
// caller's scope before replaying, and refuses over-long keys.
func TestIdempotencyStoresClientErrors(t *testing.T) {
	h := newHandler(t, "acme")
	writer := caller("acme", "write")
	bad := `{"path": "a.md", "content": "x", "colour": "red"}`
	first := doKey(t, h, writer, "POST", "/api/v1/documents", "bad", bad)
	wantError(t, first, http.StatusUnprocessableEntity, "unknown_field")
	again := doKey(t, h, writer, "POST", "/api/v1/documents", "bad", bad)
	if again.Header().Get(ReplayedHeader) != "true" || !bytes.Equal(again.Body.Bytes(), first.Body.Bytes()) {
		t.Fatalf("retry of a 422 = %d %s, want it replayed", again.Code, again.Body)
	}
	wantError(t, doKey(t, h, caller("acme", "read"), "POST", "/api/v1/documents", "bad", bad), http.StatusForbidden, "insufficient_scope")
	wantError(t, doKey(t, h, writer, "POST", "/api/v1/documents", strings.Repeat("k", 256), bad), http.StatusBadRequest, "bad_request")
}

// TestReplayable stores successes and client errors, not transient or
// server errors.
func TestReplayable(t *testing.T) {
	for status, want := range map[int]bool{200: true, 201: true, 204: true, 400: true, 403: true, 404: true, 409: true, 422: true,
		408: false, 429: false, 499: false, 500: false, 503: false} {
		if got := replayable(status); got != want {
			t.Errorf("replayable(%d) = %v, want %v", status, got, want)
		}
	}
}

// TestAnswerHeldUntilStored holds an answer back until finish, and sends
// one over maxStoredAnswer on whole without storing it.
func TestAnswerHeldUntilStored(t *testing.T) {
	w := httptest.NewRecorder()
	rec := &answerRecorder{ResponseWriter: w}
	rec.Header().Set("Content-Type", "application/json")
	rec.WriteHeader(http.StatusCreated)
	rec.Write([]byte(`{"id": 1}`))
	if w.Body.Len() != 0 || w.Code == http.StatusCreated {
		t.Fatalf("the client got %d %q before the answer was stored", w.Code, w.Body)
	}
	if _, ok := rec.answer(); !ok {
		t.Fatal("a small answer is not stored")
	}
	rec.finish()
	if w.Code != http.StatusCreated || w.Body.String() != `{"id": 1}` {
		t.Fatalf("after finish the client got %d %q", w.Code, w.Body)
	}

	w = httptest.NewRecorder()
	rec = &answerRecorder{ResponseWriter: w}
	rec.WriteHeader(http.StatusOK)
	rec.Write(bytes.Repeat([]byte("a"), maxStoredAnswer))
	rec.Write([]byte("b"))
	if _, ok := rec.answer(); ok {
		t.Fatal("an answer over the bound is stored")
	}
	rec.finish()
	if w.Body.Len() != maxStoredAnswer+1 {
		t.Fatalf("client got %d bytes, want %d", w.Body.Len(), maxStoredAnswer+1)
	}
}
