package api

import (
	"fmt"
	"net/http"
)

// route is one endpoint: its ServeMux pattern and handler.
type route struct {
	pattern string // "METHOD /path"
	handler http.Handler
}

// table lists every endpoint of the API.
func (h *Handler) table() []route {
	return []route{
		{"POST /api/v1/documents", h.idempotent(scopeWrite, h.handler(scopeWrite, addDocument))},
		{"POST /api/v1/documents/bulk", h.idempotent(scopeWrite, h.handler(scopeWrite, h.addDocuments))},
		{"GET /api/v1/documents", h.handler(scopeRead, listDocuments)},
		// More specific than {id}, so it wins; a document with id "search"
		// can still be deleted, but only listed or searched, not fetched.
		{"GET /api/v1/documents/search", h.idempotent(scopeRead, h.handler(scopeRead, search))},
		{"GET /api/v1/documents/{id}", h.handler(scopeRead, getDocument)},
		{"DELETE /api/v1/documents/{id}", h.handler(scopeWrite, h.deleteDocument)},
		{"POST /api/v1/context/assemble", h.idempotent(scopeRead, h.handler(scopeRead, assemble))},
		{"GET /api/v1/workspaces", h.handler(scopeRead, listWorkspaces)},
		{"POST /api/v1/workspaces", h.idempotent(scopeWrite, h.handler(scopeWrite, createWorkspace))},
		{"DELETE /api/v1/workspaces/{name}", h.handler(scopeWrite, h.deleteWorkspace)},
		{"GET /api/v1/storage/info", h.handler(scopeRead, storageInfo)},
		{"GET /api/v1/usage", h.handler(scopeRead, h.getUsage)},
		{"GET /api/v1/notifications", h.account(scopeAdmin, h.getNotifications)},
		{"PUT /api/v1/notifications", h.account(scopeAdmin, h.putNotifications)},
		{"DELETE /api/v1/notifications", h.account(scopeAdmin, h.deleteNotifications)},
		{"GET /api/v1/tenant", h.account(scopeRead, h.getTenant)},
		{"GET /api/v1/domains", h.domains(scopeAdmin, h.listDomains)},
		{"POST /api/v1/domains", h.idempotent(scopeAdmin, h.domains(scopeAdmin, h.claimDomain))},
		{"POST /api/v1/domains/{domain}/verify", h.idempotent(scopeAdmin, h.domains(scopeAdmin, h.verifyDomain))},
		{"DELETE /api/v1/domains/{domain}", h.domains(scopeAdmin, h.deleteDomain)},
		{"GET /api/v1/sso", h.sso(scopeAdmin, h.getSSO)},
		{"PUT /api/v1/sso", h.sso(scopeAdmin, h.putSSO)},
		{"DELETE /api/v1/sso", h.sso(scopeAdmin, h.deleteSSO)},
		{"DELETE /api/v1/tenant", h.account(scopeAdmin, h.deleteTenant)},
		{"GET /api/v1/export", h.handler(scopeRead, h.export)},
		{"POST /api/v1/billing/subscription", h.idempotent(scopeAdmin, h.account(scopeAdmin, h.changeSubscription))},
		{"POST /api/v1/billing/portal", h.idempotent(scopeAdmin, h.account(scopeAdmin, h.openPortal))},
		{"GET /api/v1/audit", h.account(scopeAdmin, h.listAudit)},
		{"GET /api/v1/keys", h.account(scopeAdmin, h.listKeys)},
		{"POST /api/v1/keys", h.idempotent(scopeAdmin, h.account(scopeAdmin, h.createKey))},
		{"DELETE /api/v1/keys/{id}", h.account(scopeAdmin, h.revokeKey)},
		{"POST /api/v1/keys/{id}/rotate", h.idempotent(scopeAdmin, h.account(scopeAdmin, h.rotateKey))},
	}
}

// routes returns the mux of every endpoint. Every POST, and search,
// replays its answer to a retry with the same Idempotency-Key.
func (h *Handler) routes() *http.ServeMux {
	mux := http.NewServeMux()
	for _, rt := range h.table() {
		mux.Handle(rt.pattern, rt.handler)
	}
	return mux
}

// Routes returns the ServeMux pattern ("METHOD /path") of every endpoint
// of the tenant API, as the Handler serves them.
func Routes() []string {
	return patterns(new(Handler).table())
}

// patterns returns the patterns of routes.
func patterns(routes []route) []string {
	out := make([]string, len(routes))
	for i, rt := range routes {
		out[i] = rt.pattern
	}
	return out
}

// routeError answers a request no route matches, given the handler that
// ServeMux.Handler returned for it: 405 with ServeMux's Allow header when
// only the method is wrong, else 404.
func routeError(w http.ResponseWriter, r *http.Request, fallback http.Handler) {
	rec := &headerRecorder{header: make(http.Header)}
	fallback.ServeHTTP(rec, r)
	if rec.status != http.StatusMethodNotAllowed {
		WriteError(w, http.StatusNotFound, "not_found", "no API endpoint has this path")
		return
	}
	allow := rec.header.Get("Allow")
	w.Header().Set("Allow", allow)
	WriteError(w, http.StatusMethodNotAllowed, "method_not_allowed",
		fmt.Sprintf("method %s is not allowed here; allowed: %s", r.Method, allow))
}

// headerRecorder keeps the status and header a handler writes and drops
// its body.
type headerRecorder struct {
	header http.Header
	status int
}

func (rec *headerRecorder) Header() http.Header { return rec.header }

func (rec *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }

func (rec *headerRecorder) WriteHeader(status int) {
	if rec.status == 0 {
		rec.status = status
	}
}
