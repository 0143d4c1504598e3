package api

import (
	"bufio"
	"encoding/json"
	"net/http"
	"time"

	"github.com/contextlite/cloud/contextengine"
	"github.com/contextlite/cloud/tenancy"
)

// exportLine is one line of GET /api/v1/export: a workspace, then the
// documents, content included.
type exportLine struct {
	Type      string                   `json:"type"` // workspace or document
	Workspace *contextengine.Workspace `json:"workspace,omitempty"`
	Document  *documentWithContent     `json:"document,omitempty"`
}

// export serves GET /api/v1/export: the tenant's workspaces and documents
// as NDJSON, streamed. A failure midway ends the stream early; clients
// compare the document count with GET /api/v1/storage/info.
func export(w http.ResponseWriter, r *http.Request, t *contextengine.Tenant, p Principal) error {
	workspaces, err := t.Workspaces(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Content-Disposition", `attachment; filename="contextlite-export.ndjson"`)
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	for i := range workspaces {
		if err := enc.Encode(exportLine{Type: "workspace", Workspace: &workspaces[i]}); err != nil {
			return nil // the client went away
		}
	}
	t.Export(r.Context(), func(d *contextengine.Document) error {
		return enc.Encode(exportLine{Type: "document", Document: &documentWithContent{Document: d, Content: d.Content}})
	})
	bw.Flush()
	return nil
}

type deleteTenantRequest struct {
	Confirm string `json:"confirm"`
}

type deleteTenantResponse struct {
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
	t, err := h.Accounts.Tenant(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	if req.Confirm != t.Slug {
		return &Error{http.StatusUnprocessableEntity, "confirmation_required", `send {"confirm": "` + t.Slug + `"} to delete this tenant and all its data`}
	}
	if h.Billing != nil && t.StripeSubscriptionID != "" {
		if _, err := h.Billing.ChangeTier(r.Context(), t, "free", "delete:"+t.ID); err != nil {
			return billingError(err)
		}
	}
	purge, err := h.Accounts.DeleteTenant(r.Context(), t.ID)
	if err != nil {
		return err
	}
	h.audit(r, p, tenancy.AuditTenantDelete, t.ID)
	return writeJSON(w, http.StatusAccepted, deleteTenantResponse{Status: "deleted", PurgeAfter: purge})
}
