package api

import (
	"fmt"
	"net/http"
)

// routes returns the mux of every endpoint. Every POST, and search,
// replays its answer to a retry with the same Idempotency-Key.
func (h *Handler) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("POST /api/v1/documents", h.idempotent(scopeWrite, h.handler(scopeWrite, addDocument)))
	mux.Handle("POST /api/v1/documents/bulk", h.idempotent(scopeWrite, h.handler(scopeWrite, h.addDocuments)))
	mux.Handle("GET /api/v1/documents", h.handler(scopeRead, listDocuments))
	// More specific than {id}, so it wins; a document with id "search"
	// can still be deleted, but only listed or searched, not fetched.
	mux.Handle("GET /api/v1/documents/search", h.idempotent(scopeRead, h.handler(scopeRead, search)))
	mux.Handle("GET /api/v1/documents/{id}", h.handler(scopeRead, getDocument))
	mux.Handle("DELETE /api/v1/documents/{id}", h.handler(scopeWrite, h.deleteDocument))
	mux.Handle("POST /api/v1/context/assemble", h.idempotent(scopeRead, h.handler(scopeRead, assemble)))
	mux.Handle("GET /api/v1/workspaces", h.handler(scopeRead, listWorkspaces))
	mux.Handle("POST /api/v1/workspaces", h.idempotent(scopeWrite, h.handler(scopeWrite, createWorkspace)))
	mux.Handle("DELETE /api/v1/workspaces/{name}", h.handler(scopeWrite, h.deleteWorkspace))
	mux.Handle("GET /api/v1/storage/info", h.handler(scopeRead, storageInfo))
	mux.Handle("GET /api/v1/usage", h.handler(scopeRead, h.getUsage))
	mux.Handle("GET /api/v1/notifications", h.account(scopeAdmin, h.getNotifications))
	mux.Handle("PUT /api/v1/notifications", h.account(scopeAdmin, h.putNotifications))
	mux.Handle("DELETE /api/v1/notifications", h.account(scopeAdmin, h.deleteNotifications))
	mux.Handle("GET /api/v1/tenant", h.account(scopeRead, h.getTenant))
	mux.Handle("GET /api/v1/domains", h.domains(scopeAdmin, h.listDomains))
	mux.Handle("POST /api/v1/domains", h.idempotent(scopeAdmin, h.domains(scopeAdmin, h.claimDomain)))
	mux.Handle("POST /api/v1/domains/{domain}/verify", h.idempotent(scopeAdmin, h.domains(scopeAdmin, h.verifyDomain)))
	mux.Handle("DELETE /api/v1/domains/{domain}", h.domains(scopeAdmin, h.deleteDomain))
	mux.Handle("DELETE /api/v1/tenant", h.account(scopeAdmin, h.deleteTenant))
	mux.Handle("GET /api/v1/export", h.handler(scopeRead, h.export))
	mux.Handle("POST /api/v1/billing/subscription", h.idempotent(scopeAdmin, h.account(scopeAdmin, h.changeSubscription)))
	mux.Handle("POST /api/v1/billing/portal", h.idempotent(scopeAdmin, h.account(scopeAdmin, h.openPortal)))
	mux.Handle("GET /api/v1/audit", h.account(scopeAdmin, h.listAudit))
	mux.Handle("GET /api/v1/keys", h.account(scopeAdmin, h.listKeys))
	mux.Handle("POST /api/v1/keys", h.idempotent(scopeAdmin, h.account(scopeAdmin, h.createKey)))
	mux.Handle("DELETE /api/v1/keys/{id}", h.account(scopeAdmin, h.revokeKey))
	mux.Handle("POST /api/v1/keys/{id}/rotate", h.idempotent(scopeAdmin, h.account(scopeAdmin, h.rotateKey)))
	return mux
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
