package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/contextlite/cloud/notify"
	"github.com/contextlite/cloud/tenancy"
)

// Webhooks keeps the tenants' notice webhooks.
type Webhooks interface {
	SetWebhook(ctx context.Context, w tenancy.Webhook) error
	Webhook(ctx context.Context, tenantID string) (tenancy.Webhook, error)
	DeleteWebhook(ctx context.Context, tenantID string) error
}

type notificationsRequest struct {
	URL          string `json:"url"`
	RotateSecret bool   `json:"rotate_secret"`
}

// notificationsResponse is a tenant's webhook; the secret verifies the
// ContextLite-Signature header of each delivery.
type notificationsResponse struct {
	Object    string    `json:"object"` // always "webhook"
	URL       string    `json:"url"`
	Secret    string    `json:"secret"`
	UpdatedAt time.Time `json:"updated_at"`
}

// putNotifications serves PUT /api/v1/notifications {url, rotate_secret}:
// usage notices go to url, signed with a secret made on first use and kept
// until rotated.
func (h *Handler) putNotifications(w http.ResponseWriter, r *http.Request, p Principal) error {
	var req notificationsRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := notify.CheckURL(req.URL, h.AllowPrivateWebhooks); err != nil {
		return &Error{http.StatusUnprocessableEntity, "invalid_request", "url: " + err.Error()}
	}
	wh, err := h.Webhooks.Webhook(r.Context(), p.TenantID)
	switch {
	case errors.Is(err, tenancy.ErrNotFound) || req.RotateSecret:
		wh.Secret = notify.NewSecret()
	case err != nil:
		return err
	}
	wh.TenantID, wh.URL, wh.UpdatedAt = p.TenantID, req.URL, time.Now().UTC()
	if err := h.Webhooks.SetWebhook(r.Context(), wh); err != nil {
		return err
	}
	h.audit(r, p, tenancy.AuditSettingsNotification, "put")
	return writeJSON(w, http.StatusOK, notificationsResponse{Object: "webhook", URL: wh.URL, Secret: wh.Secret, UpdatedAt: wh.UpdatedAt.UTC()})
}

// getNotifications serves GET /api/v1/notifications.
func (h *Handler) getNotifications(w http.ResponseWriter, r *http.Request, p Principal) error {
	wh, err := h.Webhooks.Webhook(r.Context(), p.TenantID)
	if err != nil {
		return webhookError(err)
	}
	return writeJSON(w, http.StatusOK, notificationsResponse{Object: "webhook", URL: wh.URL, Secret: wh.Secret, UpdatedAt: wh.UpdatedAt.UTC()})
}

// deleteNotifications serves DELETE /api/v1/notifications.
func (h *Handler) deleteNotifications(w http.ResponseWriter, r *http.Request, p Principal) error {
	if err := h.Webhooks.DeleteWebhook(r.Context(), p.TenantID); err != nil {
		return webhookError(err)
	}
	h.audit(r, p, tenancy.AuditSettingsNotification, "delete")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func webhookError(err error) error {
	if errors.Is(err, tenancy.ErrNotFound) {
		return &Error{http.StatusNotFound, "not_found", "no notification webhook is set"}
	}
	return err
}
