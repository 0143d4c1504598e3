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
	wh, _, err := h.SetWebhookFor(r, p, req.URL, req.RotateSecret)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, notificationsResponse{Object: "webhook", URL: wh.URL, Secret: wh.Secret, UpdatedAt: wh.UpdatedAt.UTC()})
}

// SetWebhookFor sends caller p's usage notices to url, as PUT
// /api/v1/notifications does in request r; the signing secret is made on
// first use or when rotate is set, and newSecret reports whether it was.
func (h *Handler) SetWebhookFor(r *http.Request, p Principal, url string, rotate bool) (wh tenancy.Webhook, newSecret bool, err error) {
	if err := notify.CheckURL(url, h.AllowPrivateWebhooks); err != nil {
		return tenancy.Webhook{}, false, &Error{http.StatusUnprocessableEntity, "invalid_request", "url: " + err.Error()}
	}
	wh, err = h.Webhooks.Webhook(r.Context(), p.TenantID)
	switch {
	case errors.Is(err, tenancy.ErrNotFound) || rotate:
		wh.Secret, newSecret = notify.NewSecret(), true
	case err != nil:
		return tenancy.Webhook{}, false, err
	}
	wh.TenantID, wh.URL, wh.UpdatedAt = p.TenantID, url, time.Now().UTC()
	if err := h.Webhooks.SetWebhook(r.Context(), wh); err != nil {
		return tenancy.Webhook{}, false, err
	}
	h.audit(r, p, tenancy.AuditSettingsNotification, "put")
	return wh, newSecret, nil
}

// getNotifications serves GET /api/v1/notifications.
func (h *Handler) getNotifications(w http.ResponseWriter, r *http.Request, p Principal) error {
	wh, err := h.WebhookOf(r.Context(), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, notificationsResponse{Object: "webhook", URL: wh.URL, Secret: wh.Secret, UpdatedAt: wh.UpdatedAt.UTC()})
}

// WebhookOf returns caller p's webhook, as GET /api/v1/notifications
// does: 404 when none is set.
func (h *Handler) WebhookOf(ctx context.Context, p Principal) (tenancy.Webhook, error) {
	wh, err := h.Webhooks.Webhook(ctx, p.TenantID)
	if err != nil {
		return tenancy.Webhook{}, webhookError(err)
	}
	return wh, nil
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
