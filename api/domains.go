package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/contextlite/cloud/domains"
	"github.com/contextlite/cloud/tenancy"
)

// Domains claims and verifies tenants' own domains.
type Domains interface {
	Claim(ctx context.Context, t tenancy.Tenant, name string) (domains.Claim, error)
	List(ctx context.Context, tenantID string) ([]domains.Claim, error)
	Verify(ctx context.Context, tenantID, name string) (domains.Claim, error)
	Delete(ctx context.Context, tenantID, name string) error
}

// domains turns fn into a handler for callers that hold scope, when
// custom domains are on (404 otherwise).
func (h *Handler) domains(scope string, fn accountCall) http.HandlerFunc {
	return h.account(scope, func(w http.ResponseWriter, r *http.Request, p Principal) error {
		if h.Domains == nil {
			return &Error{http.StatusNotFound, "not_found", "custom domains are not enabled on this service"}
		}
		return fn(w, r, p)
	})
}

// claimDomain serves POST /api/v1/domains {domain}: 201 with the DNS TXT
// record that proves control of it.
func (h *Handler) claimDomain(w http.ResponseWriter, r *http.Request, p Principal) error {
	var req struct {
		Domain string `json:"domain"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	t, err := h.Accounts.Tenant(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	c, err := h.Domains.Claim(r.Context(), t, req.Domain)
	if err != nil {
		return domainError(err)
	}
	h.audit(r, p, tenancy.AuditSettingsDomain, c.Name)
	return writeJSON(w, http.StatusCreated, domainOf(c))
}

// listDomains serves GET /api/v1/domains.
func (h *Handler) listDomains(w http.ResponseWriter, r *http.Request, p Principal) error {
	claims, err := h.Domains.List(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	out := make([]domain, len(claims))
	for i, c := range claims {
		out[i] = domainOf(c)
	}
	return writeJSON(w, http.StatusOK, newList(out, ""))
}

// verifyDomain serves POST /api/v1/domains/{domain}/verify: 200 once the
// TXT record holds the claim's value, 422 verification_failed before.
func (h *Handler) verifyDomain(w http.ResponseWriter, r *http.Request, p Principal) error {
	c, err := h.Domains.Verify(r.Context(), p.TenantID, r.PathValue("domain"))
	if err != nil {
		return domainError(err)
	}
	return writeJSON(w, http.StatusOK, domainOf(c))
}

// deleteDomain serves DELETE /api/v1/domains/{domain}.
func (h *Handler) deleteDomain(w http.ResponseWriter, r *http.Request, p Principal) error {
	if err := h.Domains.Delete(r.Context(), p.TenantID, r.PathValue("domain")); err != nil {
		return domainError(err)
	}
	h.audit(r, p, tenancy.AuditSettingsDomain, r.PathValue("domain"))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// domainError maps domain failures to client errors.
func domainError(err error) error {
	switch {
	case errors.Is(err, domains.ErrNotEligible):
		return &Error{http.StatusForbidden, "upgrade_required", err.Error()}
	case errors.Is(err, domains.ErrInvalidDomain):
		return &Error{http.StatusUnprocessableEntity, "invalid_request", err.Error()}
	case errors.Is(err, domains.ErrClaimLimit):
		return &Error{http.StatusConflict, "domain_claim_limit", err.Error()}
	case errors.Is(err, tenancy.ErrDomainTaken):
		return &Error{http.StatusConflict, "conflict", "another tenant has claimed this domain"}
	case errors.Is(err, domains.ErrNotVerified):
		return &Error{http.StatusUnprocessableEntity, "verification_failed", err.Error()}
	case errors.Is(err, tenancy.ErrNotFound):
		return &Error{http.StatusNotFound, "not_found", "this tenant has not claimed that domain"}
	}
	return err
}
