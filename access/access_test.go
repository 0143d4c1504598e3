package access_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/contextlite/cloud/access"
	"github.com/contextlite/cloud/api"
	"github.com/contextlite/cloud/contextengine"
	"github.com/contextlite/cloud/jwtauth"
	"github.com/contextlite/cloud/tenancy"
)

// Tokens that fakeTokens knows; each has the three-part base64url shape.
const (
	tokAcmeByID   = "eyJhbGciOiJSUzI1NiJ9.eyJhY21lLWlkIjoxfQ.c2lnLWFjbWUtaWQ"
	tokAcmeBySlug = "eyJhbGciOiJSUzI1NiJ9.eyJhY21lLXNsdWciOjF9.c2lnLWFjbWUtc2x1Zw"
	tokUnknown    = "eyJhbGciOiJSUzI1NiJ9.eyJ1bmtub3duIjoxfQ.c2lnLXVua25vd24"
	tokBad        = "eyJhbGciOiJSUzI1NiJ9.eyJiYWQiOjF9.c2lnLWJhZA"
)

// fakeTokens maps fixed tokens to claims; every other token is invalid.
type fakeTokens map[string]jwtauth.Claims

func (f fakeTokens) Verify(_ context.Context, token string) (jwtauth.Claims, error) {
	c, ok := f[token]
	if !ok {
		return jwtauth.Claims{}, fmt.Errorf("%w: unknown test token", jwtauth.ErrInvalidToken)
	}
	return c, nil
}

type fixture struct {
	store   tenancy.Store
	svc     *tenancy.Service
	auth    *tenancy.Authenticator
	res     *access.Resolver
	acme    tenancy.SignupResult
	globex  tenancy.SignupResult
	extraID string // a second key of acme, read only
	extra   string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	engine, err := contextengine.NewManager(contextengine.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close() })
	store, err := tenancy.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	h := tenancy.Hasher{Pepper: []byte("test-pepper")}
	svc := &tenancy.Service{Store: store, Storage: engine, Hasher: h, Tiers: tenancy.DefaultTiers()}
	f := &fixture{store: store, svc: svc, auth: tenancy.NewAuthenticator(store, h, tenancy.AuthOptions{})}
	if f.acme, err = svc.Signup(ctx, "ops@acme.test", "Acme"); err != nil {
		t.Fatal(err)
	}
	if f.globex, err = svc.Signup(ctx, "ops@globex.test", "Globex"); err != nil {
		t.Fatal(err)
	}
	if f.acme.Tenant.Slug != "acme" || f.globex.Tenant.Slug != "globex" {
		t.Fatalf("slugs = %q, %q; want acme, globex", f.acme.Tenant.Slug, f.globex.Tenant.Slug)
	}
	plain, k, err := svc.CreateKey(ctx, f.acme.Tenant.ID, "reader", []string{tenancy.ScopeRead}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.extra, f.extraID = plain, k.ID
	f.res = &access.Resolver{
		Domain:  "example.com",
		Keys:    f.auth,
		Tenants: store,
		Tiers:   tenancy.DefaultTiers(),
		Tokens: fakeTokens{
			tokAcmeByID:   {Issuer: "https://idp.test", Subject: "u1", Tenant: f.acme.Tenant.ID},
			tokAcmeBySlug: {Issuer: "https://idp.test", Subject: "u2", Tenant: "acme"},
			tokUnknown:    {Issuer: "https://idp.test", Subject: "u3", Tenant: "no-such-tenant"},
		},
	}
	return f
}

func request(host string, headers map[string]string) *http.Request {
	req := httptest.NewRequest(http.MethodGet, "http://"+host+"/api/v1/tenant", nil)
	req.Host = host
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return req
}

// wantAPIError checks that err is an *api.Error with status and code.
func wantAPIError(t *testing.T, err error, status int, code string) {
	t.Helper()
	var ae *api.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error = %v (%T), want *api.Error %d %s", err, err, status, code)
	}
	if ae.Status != status || ae.Code != code {
		t.Fatalf("error = %d %s (%s), want %d %s", ae.Status, ae.Code, ae.Message, status, code)
	}
}

func TestResolve(t *testing.T) {
	f := newFixture(t)
	acmeKey, globexKey := f.acme.APIKey, f.globex.APIKey
	all := []string{tenancy.ScopeRead, tenancy.ScopeWrite, tenancy.ScopeAdmin}
	malformed := acmeKey[:len(acmeKey)-1] + "x"
	if malformed == acmeKey {
		malformed = acmeKey[:len(acmeKey)-1] + "y"
	}
	tests := []struct {
		name       string
		host       string
		headers    map[string]string
		wantTenant string // tenant id on success
		wantKeyID  string
		wantScopes []string
		wantStatus int // non-zero: an *api.Error is expected
		wantCode   string
	}{
		{name: "key on apex", host: "example.com", headers: map[string]string{"X-API-Key": acmeKey},
			wantTenant: f.acme.Tenant.ID, wantKeyID: f.acme.Key.ID, wantScopes: all},
		{name: "key on apex with port", host: "example.com:8443", headers: map[string]string{"X-API-Key": acmeKey},
			wantTenant: f.acme.Tenant.ID, wantKeyID: f.acme.Key.ID, wantScopes: all},
		{name: "key on own subdomain", host: "globex.example.com", headers: map[string]string{"X-API-Key": globexKey},
			wantTenant: f.globex.Tenant.ID, wantKeyID: f.globex.Key.ID, wantScopes: all},
		{name: "key on own subdomain uppercase", host: "ACME.Example.COM", headers: map[string]string{"X-API-Key": acmeKey},
			wantTenant: f.acme.Tenant.ID, wantKeyID: f.acme.Key.ID, wantScopes: all},
		{name: "read-only key", host: "acme.example.com", headers: map[string]string{"X-API-Key": f.extra},
			wantTenant: f.acme.Tenant.ID, wantKeyID: f.extraID, wantScopes: []string{tenancy.ScopeRead}},
		{name: "bearer key", host: "acme.example.com", headers: map[string]string{"Authorization": "Bearer " + acmeKey},
			wantTenant: f.acme.Tenant.ID, wantKeyID: f.acme.Key.ID, wantScopes: all},
		{name: "bearer scheme case-insensitive", host: "example.com", headers: map[string]string{"Authorization": "bearer " + globexKey},
			wantTenant: f.globex.Tenant.ID, wantKeyID: f.globex.Key.ID, wantScopes: all},
		{name: "X-API-Key wins over Authorization", host: "example.com",
			headers:    map[string]string{"X-API-Key": acmeKey, "Authorization": "Bearer " + globexKey},
			wantTenant: f.acme.Tenant.ID, wantKeyID: f.acme.Key.ID, wantScopes: all},
		{name: "key on other tenant's subdomain", host: "globex.example.com", headers: map[string]string{"X-API-Key": acmeKey},
			wantStatus: http.StatusForbidden, wantCode: "tenant_mismatch"},
		{name: "bearer key on other tenant's subdomain", host: "acme.example.com", headers: map[string]string{"Authorization": "Bearer " + globexKey},
			wantStatus: http.StatusForbidden, wantCode: "tenant_mismatch"},
		{name: "key on unknown subdomain", host: "initech.example.com", headers: map[string]string{"X-API-Key": acmeKey},
			wantStatus: http.StatusForbidden, wantCode: "tenant_mismatch"},
		{name: "no credential", host: "acme.example.com",
			wantStatus: http.StatusUnauthorized, wantCode: "missing_credentials"},
		{name: "basic auth", host: "acme.example.com", headers: map[string]string{"Authorization": "Basic x"},
			wantStatus: http.StatusUnauthorized, wantCode: "invalid_credentials"},
		{name: "bearer without token", host: "acme.example.com", headers: map[string]string{"Authorization": "Bearer "},
			wantStatus: http.StatusUnauthorized, wantCode: "invalid_credentials"},
		{name: "scheme only", host: "acme.example.com", headers: map[string]string{"Authorization": "Bearer"},
			wantStatus: http.StatusUnauthorized, wantCode: "invalid_credentials"},
		{name: "malformed key", host: "acme.example.com", headers: map[string]string{"X-API-Key": "clc_live_nope"},
			wantStatus: http.StatusUnauthorized, wantCode: "invalid_credentials"},
		{name: "bad checksum", host: "acme.example.com", headers: map[string]string{"X-API-Key": malformed},
			wantStatus: http.StatusUnauthorized, wantCode: "invalid_credentials"},
		{name: "unknown well-formed key", host: "acme.example.com", headers: map[string]string{"X-API-Key": mustNewKey(t)},
			wantStatus: http.StatusUnauthorized, wantCode: "invalid_credentials"},
		{name: "jwt naming tenant by id", host: "acme.example.com", headers: map[string]string{"Authorization": "Bearer " + tokAcmeByID},
			wantTenant: f.acme.Tenant.ID, wantScopes: []string{tenancy.ScopeRead, tenancy.ScopeWrite}},
		{name: "jwt naming tenant by slug on apex", host: "example.com", headers: map[string]string{"Authorization": "Bearer " + tokAcmeBySlug},
			wantTenant: f.acme.Tenant.ID, wantScopes: []string{tenancy.ScopeRead, tenancy.ScopeWrite}},
		{name: "jwt on other tenant's subdomain", host: "globex.example.com", headers: map[string]string{"Authorization": "Bearer " + tokAcmeByID},
			wantStatus: http.StatusForbidden, wantCode: "tenant_mismatch"},
		{name: "jwt naming unknown tenant", host: "example.com", headers: map[string]string{"Authorization": "Bearer " + tokUnknown},
			wantStatus: http.StatusUnauthorized, wantCode: "invalid_token"},
		{name: "jwt the verifier refuses", host: "example.com", headers: map[string]string{"Authorization": "Bearer " + tokBad},
			wantStatus: http.StatusUnauthorized, wantCode: "invalid_token"},
		{name: "jwt in X-API-Key is treated as a key", host: "example.com", headers: map[string]string{"X-API-Key": tokAcmeByID},
			wantStatus: http.StatusUnauthorized, wantCode: "invalid_credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := f.res.Resolve(context.Background(), request(tt.host, tt.headers))
			if tt.wantStatus != 0 {
				wantAPIError(t, err, tt.wantStatus, tt.wantCode)
				if c.Tenant.ID != "" || c.Principal.TenantID != "" {
					t.Errorf("caller = %+v on error, want zero", c)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if c.Tenant.ID != tt.wantTenant || c.Principal.TenantID != tt.wantTenant {
				t.Errorf("tenant = %q, principal tenant = %q, want %q", c.Tenant.ID, c.Principal.TenantID, tt.wantTenant)
			}
			if c.Principal.KeyID != tt.wantKeyID {
				t.Errorf("KeyID = %q, want %q", c.Principal.KeyID, tt.wantKeyID)
			}
			if !slices.Equal(c.Principal.Scopes, tt.wantScopes) {
				t.Errorf("Scopes = %v, want %v", c.Principal.Scopes, tt.wantScopes)
			}
			if c.Principal.TokensPerQuery != 4000 {
				t.Errorf("TokensPerQuery = %d, want 4000 (free tier)", c.Principal.TokensPerQuery)
			}
		})
	}
}

func mustNewKey(t *testing.T) string {
	t.Helper()
	k, err := tenancy.NewKey(true)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestResolveTierLimit(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.store.SetTier(ctx, f.acme.Tenant.ID, "pro"); err != nil {
		t.Fatal(err)
	}
	c, err := f.res.Resolve(ctx, request("acme.example.com", map[string]string{"Authorization": "Bearer " + tokAcmeBySlug}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Principal.TokensPerQuery != 16000 {
		t.Errorf("TokensPerQuery = %d, want 16000 (pro tier)", c.Principal.TokensPerQuery)
	}
}

func TestResolveRevokedKey(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	req := func() *http.Request {
		return request("acme.example.com", map[string]string{"X-API-Key": f.extra})
	}
	if _, err := f.res.Resolve(ctx, req()); err != nil {
		t.Fatalf("before revocation: %v", err)
	}
	if err := f.svc.RevokeKey(ctx, f.acme.Tenant.ID, f.extraID); err != nil {
		t.Fatal(err)
	}
	f.auth.Forget(f.acme.Tenant.ID)
	_, err := f.res.Resolve(ctx, req())
	wantAPIError(t, err, http.StatusUnauthorized, "key_revoked")

	// The tenant's other key still works.
	if _, err := f.res.Resolve(ctx, request("acme.example.com", map[string]string{"X-API-Key": f.acme.APIKey})); err != nil {
		t.Errorf("other key after revocation: %v", err)
	}
}

func TestResolveTenantStatus(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	keyReq := func() *http.Request {
		return request("acme.example.com", map[string]string{"X-API-Key": f.acme.APIKey})
	}
	jwtReq := func() *http.Request {
		return request("acme.example.com", map[string]string{"Authorization": "Bearer " + tokAcmeByID})
	}
	if _, err := f.res.Resolve(ctx, keyReq()); err != nil { // warms the cache
		t.Fatalf("active tenant: %v", err)
	}

	if err := f.store.SetStatus(ctx, f.acme.Tenant.ID, tenancy.StatusSuspended); err != nil {
		t.Fatal(err)
	}
	f.auth.Forget(f.acme.Tenant.ID)
	_, err := f.res.Resolve(ctx, keyReq())
	wantAPIError(t, err, http.StatusForbidden, "tenant_suspended")
	_, err = f.res.Resolve(ctx, jwtReq())
	wantAPIError(t, err, http.StatusForbidden, "tenant_suspended")

	// Suspended for an unpaid invoice: 402.
	if err := f.store.SetPaymentFailed(ctx, f.acme.Tenant.ID, time.Now().Add(-96*time.Hour)); err != nil {
		t.Fatal(err)
	}
	f.auth.Forget(f.acme.Tenant.ID)
	_, err = f.res.Resolve(ctx, keyReq())
	wantAPIError(t, err, http.StatusPaymentRequired, "payment_required")
	if err := f.store.SetPaymentFailed(ctx, f.acme.Tenant.ID, time.Time{}); err != nil {
		t.Fatal(err)
	}

	// Another tenant is unaffected.
	if _, err := f.res.Resolve(ctx, request("globex.example.com", map[string]string{"X-API-Key": f.globex.APIKey})); err != nil {
		t.Errorf("other tenant: %v", err)
	}

	if err := f.store.SetStatus(ctx, f.acme.Tenant.ID, tenancy.StatusDeleted); err != nil {
		t.Fatal(err)
	}
	f.auth.Forget(f.acme.Tenant.ID)
	_, err = f.res.Resolve(ctx, keyReq())
	wantAPIError(t, err, http.StatusUnauthorized, "invalid_credentials")
	_, err = f.res.Resolve(ctx, jwtReq())
	wantAPIError(t, err, http.StatusUnauthorized, "invalid_credentials")

	if err := f.store.SetStatus(ctx, f.acme.Tenant.ID, tenancy.StatusActive); err != nil {
		t.Fatal(err)
	}
	f.auth.Forget(f.acme.Tenant.ID)
	if _, err := f.res.Resolve(ctx, keyReq()); err != nil {
		t.Errorf("reactivated tenant: %v", err)
	}
}

func TestResolveJWTWithoutVerifier(t *testing.T) {
	f := newFixture(t)
	f.res.Tokens = nil
	for _, tok := range []string{tokAcmeByID, tokBad} {
		_, err := f.res.Resolve(context.Background(), request("acme.example.com", map[string]string{"Authorization": "Bearer " + tok}))
		wantAPIError(t, err, http.StatusUnauthorized, "invalid_credentials")
	}
	// Keys still work.
	if _, err := f.res.Resolve(context.Background(), request("acme.example.com", map[string]string{"X-API-Key": f.acme.APIKey})); err != nil {
		t.Errorf("key without a verifier: %v", err)
	}
}

func TestTokensLookLikeJWTs(t *testing.T) {
	for _, tok := range []string{tokAcmeByID, tokAcmeBySlug, tokUnknown, tokBad} {
		if !jwtauth.LooksLikeJWT(tok) {
			t.Errorf("LooksLikeJWT(%q) = false", tok)
		}
	}
}

func TestSubdomain(t *testing.T) {
	r := &access.Resolver{Domain: "example.com"}
	tests := []struct {
		host, want string
	}{
		{"acme.example.com", "acme"},
		{"acme.example.com:443", "acme"},
		{"acme.example.com.", "acme"},
		{"acme.example.com.:8080", "acme"},
		{"ACME.EXAMPLE.COM", "acme"},
		{"Acme.Example.Com", "acme"},
		{"my-co.example.com", "my-co"},
		{"a.b.example.com", ""},
		{"x.acme.example.com:443", ""},
		{"example.com", ""},
		{"example.com:443", ""},
		{"example.com.", ""},
		{".example.com", ""},
		{"acme.example.org", ""},
		{"acme.notexample.com", ""},
		{"acmeexample.com", ""},
		{"example.com.evil.test", ""},
		{"localhost:8080", ""},
		{"127.0.0.1:8080", ""},
		{"[::1]:8080", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := r.Subdomain(tt.host); got != tt.want {
			t.Errorf("Subdomain(%q) = %q, want %q", tt.host, got, tt.want)
		}
	}

	upper := &access.Resolver{Domain: "Example.COM"}
	if got := upper.Subdomain("acme.example.com"); got != "acme" {
		t.Errorf("Subdomain with an uppercase domain = %q, want acme", got)
	}
}

func TestHostAllowed(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.store.SetStatus(ctx, f.globex.Tenant.ID, tenancy.StatusSuspended); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host string
		ok   bool
	}{
		{"example.com", true},
		{"EXAMPLE.com", true},
		{"example.com.", true},
		{"acme.example.com", true},
		{"ACME.example.com", true},
		{"acme.example.com.", true},
		{"globex.example.com", true}, // suspended: served, to answer why
		{"initech.example.com", false},
		{"www.example.com", false},
		{"x.acme.example.com", false},
		{"acme.example.org", false},
		{"example.org", false},
		{"evil.test", false},
		{"", false},
	}
	for _, tt := range tests {
		err := f.res.HostAllowed(ctx, tt.host)
		if tt.ok {
			if err != nil {
				t.Errorf("HostAllowed(%q) = %v, want nil", tt.host, err)
			}
			continue
		}
		if !errors.Is(err, access.ErrUnknownHost) {
			t.Errorf("HostAllowed(%q) = %v, want ErrUnknownHost", tt.host, err)
		}
	}

	if err := f.store.SetStatus(ctx, f.acme.Tenant.ID, tenancy.StatusDeleted); err != nil {
		t.Fatal(err)
	}
	if err := f.res.HostAllowed(ctx, "acme.example.com"); !errors.Is(err, access.ErrUnknownHost) {
		t.Errorf("HostAllowed of a deleted tenant = %v, want ErrUnknownHost", err)
	}
}

func TestResolveEdgeHosts(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	key := map[string]string{"X-API-Key": f.acme.APIKey}
	_, err := f.res.Resolve(ctx, request("x.globex.example.com", key))
	wantAPIError(t, err, http.StatusForbidden, "tenant_mismatch")
	if err := f.res.HostAllowed(ctx, "example.com:443"); err != nil {
		t.Fatalf("apex with a port refused: %v", err)
	}
	if err := f.store.SetTier(ctx, f.acme.Tenant.ID, "retired-tier"); err != nil {
		t.Fatal(err)
	}
	f.auth.Forget(f.acme.Tenant.ID)
	c, err := f.res.Resolve(ctx, request("acme.example.com", key))
	if err != nil {
		t.Fatal(err)
	}
	if c.Principal.TokensPerQuery != 4000 {
		t.Fatalf("unknown tier: TokensPerQuery = %d, want the free tier's 4000", c.Principal.TokensPerQuery)
	}
}

// countingFinder counts the lookups that reach the store.
type countingFinder struct {
	access.TenantFinder
	calls int
}

func (f *countingFinder) TenantBySlug(ctx context.Context, slug string) (tenancy.Tenant, error) {
	f.calls++
	return f.TenantFinder.TenantBySlug(ctx, slug)
}

func TestCacheTenants(t *testing.T) {
	f := newFixture(t)
	counting := &countingFinder{TenantFinder: f.store}
	cached := access.CacheTenants(counting, time.Minute)
	for range 3 {
		got, err := cached.TenantBySlug(context.Background(), "acme")
		if err != nil || got.ID != f.acme.Tenant.ID {
			t.Fatalf("TenantBySlug = %+v, %v", got, err)
		}
	}
	if counting.calls != 1 {
		t.Fatalf("%d store lookups for 3 cached calls, want 1", counting.calls)
	}
	if _, err := cached.TenantBySlug(context.Background(), "nobody"); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("unknown slug: %v", err)
	}
}
