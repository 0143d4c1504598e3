// Package access resolves the tenant and the caller of an API request from
// its host name and credential: an API key or a JWT bearer token.
package access

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/contextlite/cloud/api"
	"github.com/contextlite/cloud/domains"
	"github.com/contextlite/cloud/jwtauth"
	"github.com/contextlite/cloud/sso"
	"github.com/contextlite/cloud/tenancy"
)

// KeyAuthenticator checks API keys.
type KeyAuthenticator interface {
	Authenticate(ctx context.Context, plaintext string) (tenancy.APIKey, tenancy.Tenant, error)
	AuthenticateHash(ctx context.Context, hash []byte) (tenancy.APIKey, tenancy.Tenant, error)
}

// TokenVerifier checks JWT bearer tokens.
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (jwtauth.Claims, error)
}

// TenantFinder looks tenants up by id or slug.
type TenantFinder interface {
	Tenant(ctx context.Context, id string) (tenancy.Tenant, error)
	TenantBySlug(ctx context.Context, slug string) (tenancy.Tenant, error)
}

// Caller is the resolved tenant and principal of a request.
type Caller struct {
	Tenant    tenancy.Tenant
	Principal api.Principal
}

// Resolver resolves callers. The credential decides the tenant; a
// subdomain naming another tenant is refused.
type Resolver struct {
	Domain  string           // apex domain, e.g. "example.com"
	Keys    KeyAuthenticator // API keys
	Tokens  TokenVerifier    // JWTs; nil refuses them
	Tenants TenantFinder     // for JWT tenant claims
	Domains DomainFinder     // tenants' own domains; nil: none
	SSO     SSOVerifier      // enterprise tenants' own issuers; nil: none
	Tiers   tenancy.Tiers
}

// SSOVerifier checks JWTs of the issuers tenants configure for single
// sign-on; see sso.Verifier.
type SSOVerifier interface {
	Verify(ctx context.Context, token string) ([]tenancy.SSOConfig, error)
}

// DomainFinder finds the claim on a custom domain.
type DomainFinder interface {
	Domain(ctx context.Context, name string) (tenancy.Domain, error)
}

// fallbackTier gives the limits of a tenant whose tier is not configured.
const fallbackTier = "free"

// jwtScopes are the scopes of a caller authenticated by JWT.
var jwtScopes = []string{tenancy.ScopeRead, tenancy.ScopeWrite}

// Resolve authenticates req. Errors are *api.Error values.
func (r *Resolver) Resolve(ctx context.Context, req *http.Request) (Caller, error) {
	cred, isJWT, err := credential(req)
	if err != nil {
		return Caller{}, err
	}
	var c Caller
	if isJWT {
		c, err = r.fromToken(ctx, cred, req.Host)
	} else {
		c, err = r.fromKey(ctx, cred)
	}
	if err != nil {
		return Caller{}, err
	}
	if sub := r.Subdomain(req.Host); sub != "" && sub != c.Tenant.Slug || r.foreignHost(req.Host) || r.otherTenantsDomain(ctx, req.Host, c.Tenant.ID) {
		return Caller{}, &api.Error{Status: http.StatusForbidden, Code: "tenant_mismatch",
			Message: "the credential belongs to another tenant than the subdomain names"}
	}
	return r.admit(c)
}

// ResolveKey authenticates an API key as Resolve does, without a request
// (the console's login). Errors are *api.Error values.
func (r *Resolver) ResolveKey(ctx context.Context, plaintext string) (Caller, error) {
	c, err := r.fromKey(ctx, plaintext)
	if err != nil {
		return Caller{}, err
	}
	return r.admit(c)
}

// ResolveKeyHash is ResolveKey for the key whose hash is hash (the key
// that opened a console session), with the same cache and rules.
func (r *Resolver) ResolveKeyHash(ctx context.Context, hash []byte) (Caller, error) {
	c, err := keyCaller(r.Keys.AuthenticateHash(ctx, hash))
	if err != nil {
		return Caller{}, err
	}
	return r.admit(c)
}

// admit completes c, authenticated, if its tenant may call: active, or
// refused with why.
func (r *Resolver) admit(c Caller) (Caller, error) {
	switch c.Tenant.Status {
	case tenancy.StatusActive:
	case tenancy.StatusSuspended:
		if !c.Tenant.PaymentFailedAt.IsZero() {
			return Caller{}, &api.Error{Status: http.StatusPaymentRequired, Code: "payment_required",
				Message: "this tenant is suspended for an unpaid invoice; update the payment method in the billing portal"}
		}
		return Caller{}, &api.Error{Status: http.StatusForbidden, Code: "tenant_suspended", Message: "this tenant is suspended"}
	default:
		return Caller{}, unauthorized("invalid_credentials", "the credential is not valid")
	}
	tier, ok := r.Tiers.Get(c.Tenant.Tier)
	if !ok {
		tier, _ = r.Tiers.Get(fallbackTier) // an unknown tier never lifts the limits
	}
	c.Principal.TenantID = c.Tenant.ID
	c.Principal.Tier = cmp.Or(tier.Name, fallbackTier)
	c.Principal.PeriodAnchor = c.Tenant.BillingAnchor
	c.Principal.TokensPerQuery = tier.TokensPerQuery
	return c, nil
}

// credential returns the API key or bearer token of req.
func credential(req *http.Request) (cred string, isJWT bool, err error) {
	if key := req.Header.Get("X-API-Key"); key != "" {
		return key, false, nil
	}
	authz := req.Header.Get("Authorization")
	if authz == "" {
		return "", false, unauthorized("missing_credentials", "send an API key in X-API-Key or Authorization: Bearer")
	}
	scheme, token, ok := strings.Cut(authz, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false, unauthorized("invalid_credentials", "the Authorization header must be Bearer <key or token>")
	}
	return token, jwtauth.LooksLikeJWT(token), nil
}

func (r *Resolver) fromKey(ctx context.Context, plaintext string) (Caller, error) {
	return keyCaller(r.Keys.Authenticate(ctx, plaintext))
}

// keyCaller is the caller of an authenticated key, or the error of its
// authentication as the client sees it.
func keyCaller(key tenancy.APIKey, tenant tenancy.Tenant, err error) (Caller, error) {
	switch {
	case errors.Is(err, tenancy.ErrKeyRevoked):
		return Caller{}, unauthorized("key_revoked", "this API key has been revoked")
	case errors.Is(err, tenancy.ErrKeyExpired):
		return Caller{}, unauthorized("key_expired", "this API key has expired")
	case errors.Is(err, tenancy.ErrMalformedKey), errors.Is(err, tenancy.ErrInvalidKey):
		return Caller{}, unauthorized("invalid_credentials", "the API key is not valid")
	case err != nil:
		return Caller{}, err
	}
	return Caller{Tenant: tenant, Principal: api.Principal{KeyID: key.ID, Scopes: key.Scopes}}, nil
}

// fromToken resolves a JWT: of an issuer configured for the service (its
// tenant claim names the tenant), else of a tenant's single sign-on.
func (r *Resolver) fromToken(ctx context.Context, token, host string) (Caller, error) {
	if r.Tokens == nil && r.SSO == nil {
		return Caller{}, unauthorized("invalid_credentials", "bearer tokens are not accepted here")
	}
	if r.Tokens == nil {
		return r.fromSSO(ctx, token, host)
	}
	claims, err := r.Tokens.Verify(ctx, token)
	if r.SSO != nil && errors.Is(err, jwtauth.ErrUnknownIssuer) {
		return r.fromSSO(ctx, token, host)
	}
	if errors.Is(err, jwtauth.ErrInvalidToken) {
		return Caller{}, unauthorized("invalid_token", err.Error())
	}
	if err != nil {
		return Caller{}, err
	}
	tenant, err := r.tenantFor(ctx, claims.Tenant)
	if err != nil {
		return Caller{}, err
	}
	return Caller{Tenant: tenant, Principal: api.Principal{Scopes: jwtScopes}}, nil
}

// fromSSO resolves a JWT of a tenant's single sign-on: the tenant is the
// one whose configuration names the token's issuer and audience. When
// several do, the host must name one of them. The caller may read and
// write, not administer.
func (r *Resolver) fromSSO(ctx context.Context, token, host string) (Caller, error) {
	cs, err := r.SSO.Verify(ctx, token)
	if errors.Is(err, jwtauth.ErrInvalidToken) {
		return Caller{}, unauthorized("invalid_token", err.Error())
	}
	if err != nil {
		return Caller{}, err
	}
	tenant, err := r.ssoTenant(ctx, cs, host)
	if err != nil {
		return Caller{}, err
	}
	if !sso.Eligible(tenant.Tier) {
		return Caller{}, &api.Error{Status: http.StatusForbidden, Code: "upgrade_required",
			Message: "single sign-on needs the " + sso.Tier + " tier"}
	}
	return Caller{Tenant: tenant, Principal: api.Principal{Scopes: jwtScopes}}, nil
}

// ssoTenant picks the tenant of configurations cs: the only one, or the
// one host names.
func (r *Resolver) ssoTenant(ctx context.Context, cs []tenancy.SSOConfig, host string) (tenancy.Tenant, error) {
	ts := make([]tenancy.Tenant, 0, len(cs))
	for _, c := range cs {
		t, err := r.Tenants.Tenant(ctx, c.TenantID)
		if errors.Is(err, tenancy.ErrNotFound) {
			continue
		}
		if err != nil {
			return tenancy.Tenant{}, err
		}
		ts = append(ts, t)
	}
	if len(ts) == 1 {
		return ts[0], nil
	}
	for _, t := range ts {
		if r.hostOf(ctx, host, t) {
			return t, nil
		}
	}
	if len(ts) == 0 {
		return tenancy.Tenant{}, unauthorized("invalid_token", "the token names no known tenant")
	}
	return tenancy.Tenant{}, unauthorized("invalid_token",
		"several tenants accept tokens of this issuer and audience; call your tenant's own host")
}

// hostOf reports whether host is t's subdomain or verified custom domain.
func (r *Resolver) hostOf(ctx context.Context, host string, t tenancy.Tenant) bool {
	if sub := r.Subdomain(host); sub != "" {
		return sub == t.Slug
	}
	if r.Domains == nil {
		return false
	}
	d, err := r.Domains.Domain(ctx, normalizeHost(host))
	return err == nil && d.TenantID == t.ID && d.Verified()
}

// tenantFor finds the tenant a token's claim names, by id or by slug.
func (r *Resolver) tenantFor(ctx context.Context, name string) (tenancy.Tenant, error) {
	t, err := r.findTenant(ctx, name)
	if errors.Is(err, tenancy.ErrNotFound) {
		return tenancy.Tenant{}, unauthorized("invalid_token", "the token names no known tenant")
	}
	return t, err
}

// findTenant finds a tenant by id, else by slug; tenancy.ErrNotFound if
// neither names one.
func (r *Resolver) findTenant(ctx context.Context, name string) (tenancy.Tenant, error) {
	t, err := r.Tenants.Tenant(ctx, name)
	if errors.Is(err, tenancy.ErrNotFound) {
		t, err = r.Tenants.TenantBySlug(ctx, name)
	}
	return t, err
}

// ResolveTenant finds the tenant name names (its id or slug), through
// the same cache as JWT callers' tenants, and admits it as Resolve
// would. It serves callers that the tenant's own identity provider
// vouches for (the console's single sign-on), not a credential of the
// service: the caller has no scopes. Errors are *api.Error values.
func (r *Resolver) ResolveTenant(ctx context.Context, name string) (Caller, error) {
	t, err := r.findTenant(ctx, name)
	if errors.Is(err, tenancy.ErrNotFound) || err == nil && t.Status == tenancy.StatusDeleted {
		return Caller{}, &api.Error{Status: http.StatusNotFound, Code: "tenant_not_found", Message: "no tenant has this subdomain or id"}
	}
	if err != nil {
		return Caller{}, err
	}
	return r.admit(Caller{Tenant: t})
}

// Subdomain returns the tenant label of host under the apex domain, or ""
// for the apex itself and other hosts.
func (r *Resolver) Subdomain(host string) string {
	label, ok := strings.CutSuffix(normalizeHost(host), "."+strings.ToLower(r.Domain))
	if !ok || label == "" || strings.Contains(label, ".") {
		return ""
	}
	return label
}

// foreignHost reports whether host is below the apex domain but names no
// single tenant label (such as x.acme.example.com).
func (r *Resolver) foreignHost(host string) bool {
	h := normalizeHost(host)
	return strings.HasSuffix(h, "."+strings.ToLower(r.Domain)) && r.Subdomain(h) == ""
}

// normalizeHost lowercases host and drops its port and final dot.
func normalizeHost(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.ToLower(strings.TrimSuffix(host, "."))
}

func unauthorized(code, msg string) *api.Error {
	return &api.Error{Status: http.StatusUnauthorized, Code: code, Message: msg}
}

// ErrUnknownHost is returned for host names that belong to no tenant.
var ErrUnknownHost = errors.New("host belongs to no tenant")

// otherTenantsDomain reports whether host is a custom domain outside the
// apex that is not a verified domain of tenantID.
func (r *Resolver) otherTenantsDomain(ctx context.Context, host, tenantID string) bool {
	h := normalizeHost(host)
	if r.Domains == nil || h == strings.ToLower(r.Domain) || strings.HasSuffix(h, "."+strings.ToLower(r.Domain)) {
		return false
	}
	d, err := r.Domains.Domain(ctx, h)
	return err == nil && (d.TenantID != tenantID || !d.Verified())
}

// HostAllowed reports whether host is the apex domain, the subdomain of
// a tenant that is not deleted or the verified domain of a pro or
// enterprise tenant that is not deleted, so a certificate may be issued
// for it. Suspended tenants keep getting certificates, so that their
// callers read the 402 or 403 answer that says why instead of a TLS
// alert.
func (r *Resolver) HostAllowed(ctx context.Context, host string) error {
	if normalizeHost(host) == strings.ToLower(r.Domain) {
		return nil
	}
	sub := r.Subdomain(host)
	if sub == "" {
		return r.customDomainAllowed(ctx, normalizeHost(host))
	}
	t, err := r.Tenants.TenantBySlug(ctx, sub)
	if errors.Is(err, tenancy.ErrNotFound) || err == nil && !served(t) {
		return fmt.Errorf("%w: %s", ErrUnknownHost, host)
	}
	return err
}

// served reports whether t's hosts get certificates: it is active or
// suspended, not deleted.
func served(t tenancy.Tenant) bool {
	return t.Status == tenancy.StatusActive || t.Status == tenancy.StatusSuspended
}

// customDomainAllowed allows the verified domain of a pro or enterprise
// tenant that is not deleted.
func (r *Resolver) customDomainAllowed(ctx context.Context, host string) error {
	if r.Domains == nil || strings.HasSuffix(host, "."+strings.ToLower(r.Domain)) {
		return fmt.Errorf("%w: %s", ErrUnknownHost, host)
	}
	d, err := r.Domains.Domain(ctx, host)
	if errors.Is(err, tenancy.ErrNotFound) || err == nil && !d.Verified() {
		return fmt.Errorf("%w: %s", ErrUnknownHost, host)
	}
	if err != nil {
		return err
	}
	t, err := r.Tenants.Tenant(ctx, d.TenantID)
	if err != nil {
		return err
	}
	if !served(t) || !domains.Eligible(t.Tier) {
		return fmt.Errorf("%w: %s", ErrUnknownHost, host)
	}
	return nil
}
