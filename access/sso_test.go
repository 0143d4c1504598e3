package access_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/contextlite/cloud/jwtauth"
	"github.com/contextlite/cloud/tenancy"
)

// SSO tokens that fakeSSO knows.
const (
	tokSSOAcme = "eyJhbGciOiJSUzI1NiJ9.eyJzc28iOiJhY21lIn0.c2lnLXNzby1hY21l"
	tokSSOBoth = "eyJhbGciOiJSUzI1NiJ9.eyJzc28iOiJib3RoIn0.c2lnLXNzby1ib3Ro"
	tokSSOBad  = "eyJhbGciOiJSUzI1NiJ9.eyJzc28iOiJiYWQifQ.c2lnLXNzby1iYWQ"
)

// fakeSSO maps fixed tokens to the configurations accepting them; it
// counts its calls.
type fakeSSO struct {
	configs map[string][]tenancy.SSOConfig
	calls   int
}

func (f *fakeSSO) Verify(_ context.Context, token string) ([]tenancy.SSOConfig, error) {
	f.calls++
	if token == tokSSOBad {
		return nil, fmt.Errorf("%w: token expired", jwtauth.ErrInvalidToken)
	}
	cs, ok := f.configs[token]
	if !ok {
		return nil, fmt.Errorf("%w: %w", jwtauth.ErrInvalidToken, jwtauth.ErrUnknownIssuer)
	}
	return cs, nil
}

// serviceTokens are fakeTokens whose unknown tokens are of an unknown
// issuer, as jwtauth.Verifier answers for SSO issuers.
type serviceTokens struct{ fakeTokens }

func (s serviceTokens) Verify(ctx context.Context, token string) (jwtauth.Claims, error) {
	if _, ok := s.fakeTokens[token]; !ok {
		return jwtauth.Claims{}, fmt.Errorf("%w: %w", jwtauth.ErrInvalidToken, jwtauth.ErrUnknownIssuer)
	}
	return s.fakeTokens.Verify(ctx, token)
}

func TestResolveSSO(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	acme, globex := f.acme.Tenant.ID, f.globex.Tenant.ID
	for _, id := range []string{acme, globex} {
		if err := f.store.SetTier(ctx, id, "enterprise"); err != nil {
			t.Fatal(err)
		}
	}
	sso := &fakeSSO{configs: map[string][]tenancy.SSOConfig{
		tokSSOAcme: {{TenantID: acme}},
		tokSSOBoth: {{TenantID: acme}, {TenantID: globex}},
	}}
	f.res.Tokens = serviceTokens{f.res.Tokens.(fakeTokens)}
	f.res.SSO = sso
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

	c, err := f.res.Resolve(ctx, request("acme.example.com", bearer(tokSSOAcme)))
	if err != nil || c.Tenant.ID != acme || !slices.Equal(c.Principal.Scopes, []string{tenancy.ScopeRead, tenancy.ScopeWrite}) {
		t.Fatalf("SSO token on its tenant's host = %+v, %v; want acme, read and write", c, err)
	}
	if c, err := f.res.Resolve(ctx, request("example.com", bearer(tokSSOAcme))); err != nil || c.Tenant.ID != acme {
		t.Fatalf("SSO token on the apex = %+v, %v", c, err)
	}
	_, err = f.res.Resolve(ctx, request("globex.example.com", bearer(tokSSOAcme)))
	wantAPIError(t, err, http.StatusForbidden, "tenant_mismatch")
	_, err = f.res.Resolve(ctx, request("acme.example.com", bearer(tokSSOBad)))
	wantAPIError(t, err, http.StatusUnauthorized, "invalid_token")

	// Accepted by two tenants: the host decides; the apex cannot.
	if c, err := f.res.Resolve(ctx, request("globex.example.com", bearer(tokSSOBoth))); err != nil || c.Tenant.ID != globex {
		t.Fatalf("shared issuer on globex's host = %+v, %v", c, err)
	}
	_, err = f.res.Resolve(ctx, request("example.com", bearer(tokSSOBoth)))
	wantAPIError(t, err, http.StatusUnauthorized, "invalid_token")

	// The service's own issuers come first: SSO is not asked.
	sso.calls = 0
	if c, err := f.res.Resolve(ctx, request("acme.example.com", bearer(tokAcmeByID))); err != nil || c.Tenant.ID != acme || sso.calls != 0 {
		t.Fatalf("service issuer's token = %+v, %v (SSO calls %d)", c, err, sso.calls)
	}

	// Without service issuers, SSO tokens still work.
	f.res.Tokens = nil
	if _, err := f.res.Resolve(ctx, request("acme.example.com", bearer(tokSSOAcme))); err != nil {
		t.Fatalf("SSO without service issuers: %v", err)
	}

	// A tenant below the enterprise tier is refused.
	if err := f.store.SetTier(ctx, acme, "pro"); err != nil {
		t.Fatal(err)
	}
	_, err = f.res.Resolve(ctx, request("acme.example.com", bearer(tokSSOAcme)))
	wantAPIError(t, err, http.StatusForbidden, "upgrade_required")
}

func TestResolveTenant(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	acme := f.acme.Tenant
	for _, name := range []string{acme.ID, acme.Slug} {
		c, err := f.res.ResolveTenant(ctx, name)
		if err != nil || c.Tenant.ID != acme.ID || c.Principal.TenantID != acme.ID || c.Principal.Tier != "free" ||
			len(c.Principal.Scopes) != 0 || c.Principal.KeyID != "" {
			t.Fatalf("ResolveTenant(%q) = %+v, %v; want acme without scopes", name, c, err)
		}
	}
	_, err := f.res.ResolveTenant(ctx, "nobody")
	wantAPIError(t, err, http.StatusNotFound, "tenant_not_found")
	if err := f.store.SetStatus(ctx, acme.ID, tenancy.StatusSuspended); err != nil {
		t.Fatal(err)
	}
	_, err = f.res.ResolveTenant(ctx, acme.Slug)
	wantAPIError(t, err, http.StatusForbidden, "tenant_suspended")
	if err := f.store.SetStatus(ctx, acme.ID, tenancy.StatusDeleted); err != nil {
		t.Fatal(err)
	}
	_, err = f.res.ResolveTenant(ctx, acme.ID)
	wantAPIError(t, err, http.StatusNotFound, "tenant_not_found")
}
