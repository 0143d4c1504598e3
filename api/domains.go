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
		if err := h.domainsOn(); err != nil {
			return err
		}
		return fn(w, r, p)
	})
}

// domainsOn returns the 404 of a service without custom domains, or nil.
func (h *Handler) domainsOn() error {
	if h.Domains == nil {
		return &Error{http.StatusNotFound, "not_found", "custom domains are not enabled on this service"}
	}
	return nil
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
	c, err := h.ClaimDomainFor(r, p, req.Domain)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, domainOf(c))
}

// ClaimDomainFor claims domain name for caller p's tenant, as POST
// /api/v1/domains does in request r; the claim holds the TXT record that
// proves control of it.
func (h *Handler) ClaimDomainFor(r *http.Request, p Principal, name string) (domains.Claim, error) {
	if err := h.domainsOn(); err != nil {
		return domains.Claim{}, err
	}
	t, err := h.Accounts.Tenant(r.Context(), p.TenantID)
	if err != nil {
		return domains.Claim{}, err
	}
	c, err := h.Domains.Claim(r.Context(), t, name)
	if err != nil {
		return domains.Claim{}, domainError(err)
	}
	h.audit(r, p, tenancy.AuditSettingsDomain, c.Name)
	return c, nil
}

// listDomains serves GET /api/v1/domains.
func (h *Handler) listDomains(w http.ResponseWriter, r *http.Request, p Principal) error {
	claims, err := h.DomainsOf(r.Context(), p)
	if err != nil {
		return err
	}
	out := make([]domain, len(claims))
	for i, c := range claims {
		out[i] = domainOf(c)
	}
	return writeJSON(w, http.StatusOK, newList(out, ""))
}

// DomainsOf returns the domains caller p's tenant has claimed, as GET
// /api/v1/domains does.
func (h *Handler) DomainsOf(ctx context.Context, p Principal) ([]domains.Claim, error) {
	if err := h.domainsOn(); err != nil {
		return nil, err
	}
	return h.Domains.List(ctx, p.TenantID)
}

// verifyDomain serves POST /api/v1/domains/{domain}/verify: 200 once the
// TXT record holds the claim's value, 422 verification_failed before.
func (h *Handler) verifyDomain(w http.ResponseWriter, r *http.Request, p Principal) error {
	c, err := h.VerifyDomainFor(r.Context(), p, r.PathValue("domain"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, domainOf(c))
}

// VerifyDomainFor looks up the TXT record of caller p's claim of domain
// name, as POST /api/v1/domains/{domain}/verify does.
func (h *Handler) VerifyDomainFor(ctx context.Context, p Principal, name string) (domains.Claim, error) {
	if err := h.domainsOn(); err != nil {
		return domains.Claim{}, err
	}
	c, err := h.Domains.Verify(ctx, p.TenantID, name)
	if err != nil {
		return domains.Claim{}, domainError(err)
	}
	return c, nil
}

// deleteDomain serves DELETE /api/v1/domains/{domain}.
func (h *Handler) deleteDomain(w http.ResponseWriter, r *http.Request, p Principal) error {
	if err := h.DeleteDomainFor(r, p, r.PathValue("domain")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// DeleteDomainFor drops caller p's claim of domain name, as DELETE
// /api/v1/domains/{domain} does in request r.
func (h *Handler) DeleteDomainFor(r *http.Request, p Principal, name string) error {
	if err := h.domainsOn(); err != nil {
		return err
	}
	if err := h.Domains.Delete(r.Context(), p.TenantID, name); err != nil {
		return domainError(err)
	}
	h.audit(r, p, tenancy.AuditSettingsDomain, name)
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
