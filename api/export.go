package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/contextlite/cloud/contextengine"
	"github.com/contextlite/cloud/tenancy"
)

// exportLine is one line of GET /api/v1/export: the workspaces, then the
// documents, content included; an error line ends a failed export.
type exportLine struct {
	Type      string       `json:"type"` // workspace, document or error
	Workspace *workspace   `json:"workspace,omitempty"`
	Document  *document    `json:"document,omitempty"`
	Error     *errorDetail `json:"error,omitempty"`
}

// export serves GET /api/v1/export: the tenant's workspaces and documents
// as NDJSON, streamed for as long as the client keeps reading (the server
// bounds how long each write may stall, not the whole answer). When the
// engine fails midway, the stream ends with an error line
// {"type": "error", "error": {"code", "message"}} and the error is logged.
func (h *Handler) export(w http.ResponseWriter, r *http.Request, t *contextengine.Tenant, p Principal) error {
	workspaces, err := t.Workspaces(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Content-Disposition", `attachment; filename="contextlite-export.ndjson"`)
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(clientWriter{w}, 64<<10)
	enc := json.NewEncoder(bw)
	err = writeExport(r.Context(), enc, t, workspaces)
	if err == nil {
		err = bw.Flush()
	}
	if _, ok := errors.AsType[*clientError](err); ok || r.Context().Err() != nil {
		h.log.WarnContext(r.Context(), "export cut: the client stopped reading", "tenant", p.TenantID, "error", err)
		return nil
	}
	if err != nil {
		h.log.ErrorContext(r.Context(), "export failed", "tenant", p.TenantID, "error", err)
		e := engineError(err) // not ErrorFrom: a JSON error here is the engine's, not the request's
		enc.Encode(exportLine{Type: "error", Error: &errorDetail{Code: e.Code, Message: "the export stopped before its end: " + e.Message}})
		bw.Flush()
	}
	return nil
}

// writeExport encodes the workspaces and every document of t.
func writeExport(ctx context.Context, enc *json.Encoder, t *contextengine.Tenant, workspaces []contextengine.Workspace) error {
	for i := range workspaces {
		ws := workspaceOf(workspaces[i])
		if err := enc.Encode(exportLine{Type: "workspace", Workspace: &ws}); err != nil {
			return err
		}
	}
	return t.Export(ctx, func(d *contextengine.Document) error {
		doc := documentOf(d, true)
		return enc.Encode(exportLine{Type: "document", Document: &doc})
	})
}

// clientWriter writes to the client, making its errors clientErrors.
type clientWriter struct{ w io.Writer }

func (c clientWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	if err != nil {
		return n, &clientError{err}
	}
	return n, nil
}

// clientError is a failed write to the client: it went away or stopped
// reading.
type clientError struct{ err error }

func (e *clientError) Error() string { return "write to the client: " + e.err.Error() }
func (e *clientError) Unwrap() error { return e.err }

type deleteTenantRequest struct {
	Confirm string `json:"confirm"`
}

type deleteTenantResponse struct {
	Object     string    `json:"object"` // always "tenant_deletion"
	Status     string    `json:"status"`
	PurgeAfter time.Time `json:"purge_after"`
}

// deleteTenant serves DELETE /api/v1/tenant {"confirm": "<slug>"}: it
// cancels the subscription, revokes every key and marks the tenant
// deleted; its data is purged after a grace period.
func (h *Handler) deleteTenant(w http.ResponseWriter, r *http.Request, p Principal) error {
	var req deleteTenantRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	purge, err := h.DeleteTenantFor(r, p, req.Confirm)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, deleteTenantResponse{Object: "tenant_deletion", Status: "deleted", PurgeAfter: purge.UTC()})
}

// DeleteTenantFor deletes caller p's tenant if confirm is its slug, as
// DELETE /api/v1/tenant does in request r, and returns when its data is
// purged.
func (h *Handler) DeleteTenantFor(r *http.Request, p Principal, confirm string) (time.Time, error) {
	t, err := h.Accounts.Tenant(r.Context(), p.TenantID)
	if err != nil {
		return time.Time{}, err
	}
	if confirm != t.Slug {
		return time.Time{}, &Error{http.StatusUnprocessableEntity, "confirmation_required", `send {"confirm": "` + t.Slug + `"} to delete this tenant and all its data`}
	}
	if h.Billing != nil && t.StripeSubscriptionID != "" {
		if _, err := h.Billing.ChangeTier(r.Context(), t, "free", "delete:"+t.ID); err != nil {
			return time.Time{}, billingError(err)
		}
	}
	purge, err := h.Accounts.DeleteTenant(r.Context(), t.ID)
	if err != nil {
		return time.Time{}, err
	}
	h.audit(r, p, tenancy.AuditTenantDelete, t.ID)
	return purge, nil
}
