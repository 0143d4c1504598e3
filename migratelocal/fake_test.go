package migratelocal

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeService is an in-memory stand-in for the service's bulk, list and
// workspace endpoints.
type fakeService struct {
	mu         sync.Mutex
	docs       map[string]*fakeDoc // by workspace + "\x00" + path
	order      []*fakeDoc
	workspaces map[string]bool

	okCalls    int            // bulk calls answered 200
	received   map[string]int // documents stored per path, over ok calls
	bodySizes  []int          // bytes of every bulk body
	failAfter  int            // fail bulk calls once okCalls reaches it; <0 never
	failMode   string         // "503" or "close"
	failedHits int            // bulk calls failed on purpose
	throttle   int            // answer 429 to this many bulk calls first
}

type fakeDoc struct {
	ID, Workspace, Path, Hash string
}

// newFakeService starts a fake service for the test.
func newFakeService(t *testing.T) (*fakeService, *httptest.Server) {
	t.Helper()
	f := &fakeService{docs: map[string]*fakeDoc{}, workspaces: map[string]bool{"default": true}, received: map[string]int{}, failAfter: -1}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/documents/bulk", f.bulk)
	mux.HandleFunc("GET /api/v1/documents", f.list)
	mux.HandleFunc("POST /api/v1/workspaces", f.createWorkspace)
	srv := httptest.NewServer(f.auth(mux))
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeService) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-API-Key") != "clc_test" {
			writeErr(w, http.StatusUnauthorized, "unauthorized", "bad key")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func (f *fakeService) bulk(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.throttle > 0 {
		f.throttle--
		w.Header().Set("Retry-After", "0")
		writeErr(w, http.StatusTooManyRequests, "rate_limited", "slow down")
		return
	}
	if f.failAfter >= 0 && f.okCalls >= f.failAfter {
		f.failedHits++
		if f.failMode == "close" {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		writeErr(w, http.StatusServiceUnavailable, "unavailable", "try later")
		return
	}
	var req struct {
		Documents []Document `json:"documents"`
	}
	body := http.MaxBytesReader(w, r.Body, MaxBatchBytes)
	dec := json.NewDecoder(body)
	if err := dec.Decode(&req); err != nil {
		writeErr(w, http.StatusBadRequest, "invalid_json", err.Error())
		return
	}
	f.bodySizes = append(f.bodySizes, int(r.ContentLength))
	if len(req.Documents) == 0 || len(req.Documents) > MaxBatchDocuments {
		writeErr(w, http.StatusUnprocessableEntity, "invalid_request", "bad count")
		return
	}
	resp := BulkResponse{Results: make([]BulkResult, len(req.Documents))}
	for i, d := range req.Documents {
		resp.Results[i].Index = i
		ws := d.Workspace
		if ws == "" {
			ws = "default"
		}
		if d.Path == "" || strings.ContainsAny(d.Path, "\n\r\x00") || d.Metadata["source"] != "contextlite-local" {
			resp.Results[i].Error = &struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			}{"invalid_request", "bad document"}
			resp.Failed++
			continue
		}
		f.received[d.Path]++
		hash := ContentHash(d.Content) // as contextengine's prepare does
		key := ws + "\x00" + d.Path
		switch old := f.docs[key]; {
		case old == nil:
			doc := &fakeDoc{ID: "doc" + strconv.Itoa(len(f.order)), Workspace: ws, Path: d.Path, Hash: hash}
			f.docs[key] = doc
			f.order = append(f.order, doc)
			resp.Results[i].ID, resp.Results[i].Status = doc.ID, "created"
			resp.Created++
		case old.Hash == hash:
			resp.Results[i].ID, resp.Results[i].Status = old.ID, "unchanged"
			resp.Unchanged++
		default:
			old.Hash = hash
			resp.Results[i].ID, resp.Results[i].Status = old.ID, "updated"
			resp.Updated++
		}
	}
	f.okCalls++
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
}

func (f *fakeService) list(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := r.URL.Query()
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit < 1 || limit > 500 {
		writeErr(w, http.StatusBadRequest, "invalid_request", "limit")
		return
	}
	start := 0
	if c := q.Get("cursor"); c != "" {
		if start, err = strconv.Atoi(c); err != nil {
			writeErr(w, http.StatusBadRequest, "invalid_request", "cursor")
			return
		}
	}
	ws := q.Get("workspace")
	page := DocumentPage{Documents: []ListedDocument{}}
	for i := start; i < len(f.order); i++ {
		d := f.order[i]
		if ws != "" && d.Workspace != ws {
			continue
		}
		if len(page.Documents) == limit {
			page.NextCursor = strconv.Itoa(i)
			break
		}
		page.Documents = append(page.Documents, ListedDocument{ID: d.ID, Path: d.Path, Workspace: d.Workspace, ContentHash: d.Hash})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(page)
}

func (f *fakeService) createWorkspace(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var req struct {
		Name string `json:"name"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Name == "" {
		writeErr(w, http.StatusBadRequest, "invalid_request", "name")
		return
	}
	if f.workspaces[req.Name] {
		writeErr(w, http.StatusConflict, "conflict", "exists")
		return
	}
	f.workspaces[req.Name] = true
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(req)
}

// set changes the fake's failure settings under its lock.
func (f *fakeService) set(fn func(f *fakeService)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// totalReceived returns the documents stored over all ok calls.
func (f *fakeService) totalReceived() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.received {
		n += c
	}
	return n
}
