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
		if err := h.SSOAvailable(p); err != nil {
			return err
		}
		return fn(w, r, p)
	})
}

// SSOAvailable returns nil when caller p's tenant may use single sign-on,
// else the error the single sign-on calls answer: 404 when it is off,
// 403 upgrade_required below the enterprise tier.
func (h *Handler) SSOAvailable(p Principal) error {
	if h.SSO == nil {
		return &Error{http.StatusNotFound, "not_found", "single sign-on is not enabled on this service"}
	}
	if !sso.Eligible(p.Tier) {
		return ssoError(sso.ErrNotEligible)
	}
	return nil
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
	c, err := h.SetSSOFor(r, p, tenancy.SSOConfig{Issuer: req.Issuer, ClientID: req.ClientID,
		ClientSecret: req.ClientSecret, Audience: req.Audience})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ssoConfigOf(c))
}

// SetSSOFor sets caller p's single sign-on to c's issuer, client and
// audience, as PUT /api/v1/sso does in request r.
func (h *Handler) SetSSOFor(r *http.Request, p Principal, c tenancy.SSOConfig) (tenancy.SSOConfig, error) {
	if err := h.SSOAvailable(p); err != nil {
		return tenancy.SSOConfig{}, err
	}
	t, err := h.Accounts.Tenant(r.Context(), p.TenantID)
	if err != nil {
		return tenancy.SSOConfig{}, err
	}
	c, err = h.SSO.Set(r.Context(), t, c)
	if err != nil {
		return tenancy.SSOConfig{}, ssoError(err)
	}
	h.audit(r, p, tenancy.AuditSettingsSSO, c.Issuer)
	return c, nil
}

// getSSO serves GET /api/v1/sso.
func (h *Handler) getSSO(w http.ResponseWriter, r *http.Request, p Principal) error {
	c, err := h.SSOOf(r.Context(), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ssoConfigOf(c))
}

// SSOOf returns caller p's single sign-on, as GET /api/v1/sso does: 404
// when none is set. Its client secret is never to be shown.
func (h *Handler) SSOOf(ctx context.Context, p Principal) (tenancy.SSOConfig, error) {
	if err := h.SSOAvailable(p); err != nil {
		return tenancy.SSOConfig{}, err
	}
	c, err := h.SSO.Get(ctx, p.TenantID)
	if err != nil {
		return tenancy.SSOConfig{}, ssoError(err)
	}
	return c, nil
}

// deleteSSO serves DELETE /api/v1/sso: the issuer's tokens are refused
// from then on.
func (h *Handler) deleteSSO(w http.ResponseWriter, r *http.Request, p Principal) error {
	if err := h.DeleteSSOFor(r, p); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// DeleteSSOFor removes caller p's single sign-on, as DELETE /api/v1/sso
// does in request r.
func (h *Handler) DeleteSSOFor(r *http.Request, p Principal) error {
	if err := h.SSOAvailable(p); err != nil {
		return err
	}
	if err := h.SSO.Delete(r.Context(), p.TenantID); err != nil {
		return ssoError(err)
	}
	h.audit(r, p, tenancy.AuditSettingsSSO, "delete")
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
