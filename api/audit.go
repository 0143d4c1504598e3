package api

import (
	"context"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"

	"github.com/contextlite/cloud/tenancy"
)

// AuditLog keeps the tenants' append-only audit logs.
type AuditLog interface {
	AddAudit(ctx context.Context, e tenancy.AuditEvent) error
	AuditEvents(ctx context.Context, tenantID string, after int64, limit int, actions []string) ([]tenancy.AuditEvent, error)
}

// Limits of GET /api/v1/audit.
const (
	defaultAuditLimit = 50
	maxAuditLimit     = 500
)

// audit records that caller p did action to target in request r. It never
// fails the request: an error is logged. It does nothing when h.Audit is nil.
func (h *Handler) audit(r *http.Request, p Principal, action, target string) {
	if h.Audit == nil {
		return
	}
	e := NewAuditEvent(r, p, action, target)
	// The change is made; record it even if the client has gone.
	if err := h.Audit.AddAudit(context.WithoutCancel(r.Context()), e); err != nil {
		h.log.ErrorContext(r.Context(), "audit event not recorded", "tenant", p.TenantID,
			"action", action, "target", target, "error", err)
	}
}

// listAudit serves GET /api/v1/audit?cursor=&limit=.
func (h *Handler) listAudit(w http.ResponseWriter, r *http.Request, p Principal) error {
	limit, err := queryInt(r.URL.Query(), "limit", defaultAuditLimit, maxAuditLimit)
	if err != nil {
		return err
	}
	events, next, err := h.AuditPage(r.Context(), p, r.URL.Query().Get("cursor"), limit)
	if err != nil {
		return err
	}
	out := make([]auditEvent, len(events))
	for i, e := range events {
		out[i] = auditEventOf(e)
	}
	return writeJSON(w, http.StatusOK, newList(out, next))
}

// AuditPage returns up to limit events of caller p's audit log after
// cursor ("" for the first), oldest first, and the cursor of the next
// page ("" on the last), as GET /api/v1/audit does: 403
// upgrade_required below the tier that reads it.
func (h *Handler) AuditPage(ctx context.Context, p Principal, cursor string, limit int) ([]tenancy.AuditEvent, string, error) {
	if h.Audit == nil {
		return nil, "", &Error{http.StatusNotFound, "not_found", "the audit log is not available"}
	}
	actions, ok := tenancy.AuditActions(p.Tier)
	if !ok {
		return nil, "", &Error{http.StatusForbidden, "upgrade_required",
			"the audit log needs the " + tenancy.AuditTier + " tier or higher"}
	}
	after, err := decodeAuditCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	events, err := h.Audit.AuditEvents(ctx, p.TenantID, after, limit+1, actions)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(events) > limit {
		events = events[:limit]
		next = encodeAuditCursor(events[limit-1].ID)
	}
	return events, next, nil
}

// encodeAuditCursor returns the opaque cursor of the events after id.
func encodeAuditCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("a" + strconv.FormatInt(id, 10)))
}

// decodeAuditCursor returns the id a cursor of encodeAuditCursor holds; 0 for "".
func decodeAuditCursor(cursor string) (int64, error) {
	if cursor == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err == nil {
		if s, ok := strings.CutPrefix(string(b), "a"); ok {
			if id, err := strconv.ParseInt(s, 10, 64); err == nil && id >= 0 {
				return id, nil
			}
		}
	}
	return 0, &Error{http.StatusUnprocessableEntity, "invalid_request", "cursor is not one this endpoint returned"}
}
