package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/contextlite/cloud/sso"
	"github.com/contextlite/cloud/tenancy"
)

// SSO sets, reads and removes enterprise tenants' single sign-on; see
// sso.Service.
type SSO interface {
	Set(ctx context.Context, t tenancy.Tenant, c tenancy.SSOConfig) (tenancy.SSOConfig, error)
	Get(ctx context.Context, tenantID string) (tenancy.SSOConfig, error)
	Delete(ctx context.Context, tenantID string) error
}

// ssoConfig is a tenant's single sign-on as the API shows it: never its
// client secret.
type ssoConfig struct {
	Object          string    `json:"object"` // always "sso_config"
	Issuer          string    `json:"issuer"`
	ClientID        string    `json:"client_id"`
	ClientSecretSet bool      `json:"client_secret_set"`
	Audience        string    `json:"audience"`
	Enabled         bool      `json:"enabled"`
	UpdatedAt       time.Time `json:"updated_at"`
}

func ssoConfigOf(c tenancy.SSOConfig) ssoConfig {
	return ssoConfig{Object: "sso_config", Issuer: c.Issuer, ClientID: c.ClientID, ClientSecretSet: c.ClientSecret != "",
		Audience: c.Audience, Enabled: c.Enabled, UpdatedAt: c.UpdatedAt.UTC()}
}

// sso turns fn into a handler for callers that hold scope, for tenants
// of the enterprise tier (403 upgrade_required for others) when single
// sign-on is on (404 otherwise).
func (h *Handler) sso(scope string, fn accountCall) http.HandlerFunc {
	return h.account(scope, func(w http.ResponseWriter, r *http.Request, p Principal) error {
		if h.SSO == nil {
			return &Error{http.StatusNotFound, "not_found", "single sign-on is not enabled on this service"}
		}
		if !sso.Eligible(p.Tier) {
			return ssoError(sso.ErrNotEligible)
		}
		return fn(w, r, p)
	})
}

// putSSO serves PUT /api/v1/sso {issuer, client_id, client_secret,
// audience}: after the issuer's discovery document is read, JWTs it signs
// for audience (default client_id) are accepted for the tenant.
func (h *Handler) putSSO(w http.ResponseWriter, r *http.Request, p Principal) error {
	var req struct {
		Issuer       string `json:"issuer"`
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		Audience     string `json:"audience"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	t, err := h.Accounts.Tenant(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	c, err := h.SSO.Set(r.Context(), t, tenancy.SSOConfig{Issuer: req.Issuer, ClientID: req.ClientID,
		ClientSecret: req.ClientSecret, Audience: req.Audience})
	if err != nil {
		return ssoError(err)
	}
	h.audit(r, p, tenancy.AuditSettingsSSO, c.Issuer)
	return writeJSON(w, http.StatusOK, ssoConfigOf(c))
}

// getSSO serves GET /api/v1/sso.
func (h *Handler) getSSO(w http.ResponseWriter, r *http.Request, p Principal) error {
	c, err := h.SSO.Get(r.Context(), p.TenantID)
	if err != nil {
		return ssoError(err)
	}
	return writeJSON(w, http.StatusOK, ssoConfigOf(c))
}

// deleteSSO serves DELETE /api/v1/sso: the issuer's tokens are refused
// from then on.
func (h *Handler) deleteSSO(w http.ResponseWriter, r *http.Request, p Principal) error {
	if err := h.SSO.Delete(r.Context(), p.TenantID); err != nil {
		return ssoError(err)
	}
	h.audit(r, p, tenancy.AuditSettingsSSO, "delete")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ssoError maps single sign-on failures to client errors.
func ssoError(err error) error {
	switch {
	case errors.Is(err, sso.ErrNotEligible):
		return &Error{http.StatusForbidden, "upgrade_required", err.Error()}
	case errors.Is(err, sso.ErrInvalidIssuer):
		return &Error{http.StatusUnprocessableEntity, "invalid_issuer", err.Error()}
	case errors.Is(err, sso.ErrDiscovery):
		return &Error{http.StatusUnprocessableEntity, "issuer_unreachable", err.Error()}
	case errors.Is(err, sso.ErrIssuerMismatch):
		return &Error{http.StatusUnprocessableEntity, "issuer_mismatch", err.Error()}
	case errors.Is(err, sso.ErrMissingClient):
		return &Error{http.StatusUnprocessableEntity, "invalid_request", err.Error()}
	case errors.Is(err, tenancy.ErrNotFound):
		return &Error{http.StatusNotFound, "not_found", "no single sign-on is set"}
	}
	return err
}
