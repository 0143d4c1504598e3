package sso

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc/oidctest"

	"github.com/contextlite/cloud/jwtauth"
	"github.com/contextlite/cloud/tenancy"
)

// idp is an OpenID Provider on loopback that counts discovery reads.
type idp struct {
	url         string
	key         *rsa.PrivateKey
	discoveries atomic.Int64
}

func startIdP(t *testing.T) *idp {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &idp{key: key}
	s := &oidctest.Server{PublicKeys: []oidctest.PublicKey{{PublicKey: key.Public(), KeyID: "k", Algorithm: "RS256"}}, Algorithms: []string{"RS256"}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/.well-known/openid-configuration" {
			p.discoveries.Add(1)
		}
		s.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.SetIssuer(srv.URL)
	p.url = srv.URL
	return p
}

func (p *idp) token(t *testing.T, aud string, exp time.Duration) string {
	t.Helper()
	claims, err := json.Marshal(map[string]any{"iss": p.url, "sub": "u", "aud": aud, "exp": time.Now().Add(exp).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	return oidctest.SignIDToken(p.key, "k", "RS256", string(claims))
}

// newStore opens a SQLite control plane with tenants of the given tiers.
func newStore(t *testing.T, tiers ...string) (tenancy.Store, []tenancy.Tenant) {
	t.Helper()
	ctx := context.Background()
	s, err := tenancy.Open(ctx, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var ts []tenancy.Tenant
	for i, tier := range tiers {
		tn := tenancy.Tenant{ID: tenancy.NewTenantID(), Slug: string(rune('a'+i)) + "corp", Tier: tier, Status: tenancy.StatusActive}
		if err := s.CreateTenant(ctx, tn); err != nil {
			t.Fatal(err)
		}
		ts = append(ts, tn)
	}
	return s, ts
}

func TestCheckIssuerURL(t *testing.T) {
	for issuer, ok := range map[string]bool{
		"https://idp.example.com":          true,
		"https://idp.example.com/tenant/":  true,
		"http://127.0.0.1:8080":            true,
		"http://localhost:8080/realms/x":   true,
		"http://[::1]:9000":                true,
		"http://idp.example.com":           false,
		"http://10.0.0.1":                  false,
		"ftp://idp.example.com":            false,
		"idp.example.com":                  false,
		"https://":                         false,
		"https://idp.example.com/?x=1":     false,
		"https://idp.example.com/#f":       false,
		"https://user:pw@idp.example.com/": false,
		"":                                 false,
	} {
		if err := CheckIssuerURL(issuer); (err == nil) != ok {
			t.Errorf("CheckIssuerURL(%q) = %v, want ok %v", issuer, err, ok)
		}
	}
}

func TestServiceSet(t *testing.T) {
	p := startIdP(t)
	store, ts := newStore(t, "enterprise", "pro")
	changes := 0
	svc := &Service{Store: store, Providers: NewProviders(true, 0), Changed: func() { changes++ }}
	ctx := context.Background()
	good := tenancy.SSOConfig{Issuer: p.url, ClientID: "app", ClientSecret: "sec"}
	cases := []struct {
		name string
		t    tenancy.Tenant
		c    tenancy.SSOConfig
		want error
	}{
		{"pro tier", ts[1], good, ErrNotEligible},
		{"no client id", ts[0], tenancy.SSOConfig{Issuer: p.url, ClientSecret: "s"}, ErrMissingClient},
		{"no secret", ts[0], tenancy.SSOConfig{Issuer: p.url, ClientID: "c"}, ErrMissingClient},
		{"http off loopback", ts[0], tenancy.SSOConfig{Issuer: "http://idp.example.com", ClientID: "c", ClientSecret: "s"}, ErrInvalidIssuer},
		{"no discovery", ts[0], tenancy.SSOConfig{Issuer: p.url + "/x", ClientID: "c", ClientSecret: "s"}, ErrDiscovery},
		{"other issuer", ts[0], tenancy.SSOConfig{Issuer: p.url + "/", ClientID: "c", ClientSecret: "s"}, ErrIssuerMismatch},
	}
	for _, c := range cases {
		if _, err := svc.Set(ctx, c.t, c.c); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if changes != 0 {
		t.Fatalf("refused configurations called Changed %d times", changes)
	}
	got, err := svc.Set(ctx, ts[0], good)
	if err != nil {
		t.Fatal(err)
	}
	if got.Audience != "app" || !got.Enabled || got.TenantID != ts[0].ID || changes != 1 {
		t.Fatalf("Set = %+v (changes %d); want audience app, enabled", got, changes)
	}
	if stored, err := svc.Get(ctx, ts[0].ID); err != nil || stored.ClientSecret != "sec" {
		t.Fatalf("Get = %+v, %v", stored, err)
	}
	if err := svc.Delete(ctx, ts[0].ID); err != nil || changes != 2 {
		t.Fatalf("Delete = %v (changes %d)", err, changes)
	}
	if err := svc.Delete(ctx, ts[0].ID); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("Delete twice = %v", err)
	}
}

func TestVerifier(t *testing.T) {
	p := startIdP(t)
	store, ts := newStore(t, "enterprise", "enterprise")
	ctx := context.Background()
	ps := NewProviders(true, time.Hour)
	svc := &Service{Store: store, Providers: ps}
	v := NewVerifier(store, ps, time.Hour)
	svc.Changed = v.ForgetAll

	tok := p.token(t, "api-a", time.Hour)
	if _, err := v.Verify(ctx, tok); !errors.Is(err, jwtauth.ErrUnknownIssuer) || !errors.Is(err, jwtauth.ErrInvalidToken) {
		t.Fatalf("before any configuration: %v", err)
	}
	// Changed drops the cached "no configuration" at once.
	if _, err := svc.Set(ctx, ts[0], tenancy.SSOConfig{Issuer: p.url, ClientID: "app-a", ClientSecret: "s", Audience: "api-a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Set(ctx, ts[1], tenancy.SSOConfig{Issuer: p.url, ClientID: "app-b", ClientSecret: "s", Audience: "api-b"}); err != nil {
		t.Fatal(err)
	}
	cs, err := v.Verify(ctx, tok)
	if err != nil || len(cs) != 1 || cs[0].TenantID != ts[0].ID {
		t.Fatalf("token for api-a = %+v, %v; want tenant a only", cs, err)
	}
	for name, bad := range map[string]string{
		"other audience": p.token(t, "api-c", time.Hour),
		"expired":        p.token(t, "api-a", -time.Hour),
		"malformed":      "a.b.c",
	} {
		if _, err := v.Verify(ctx, bad); !errors.Is(err, jwtauth.ErrInvalidToken) || errors.Is(err, jwtauth.ErrUnknownIssuer) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// One discovery at Set per tenant, then the cached provider serves.
	if n := p.discoveries.Load(); n != 2 {
		t.Errorf("discoveries = %d, want 2", n)
	}
	// A change made behind the verifier's back shows after ForgetAll.
	if err := store.DeleteSSO(ctx, ts[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatalf("cached configuration: %v", err)
	}
	v.ForgetAll()
	if _, err := v.Verify(ctx, tok); !errors.Is(err, jwtauth.ErrInvalidToken) {
		t.Fatalf("after ForgetAll: %v", err)
	}
}

func TestProvidersTTL(t *testing.T) {
	p := startIdP(t)
	ps := NewProviders(true, time.Minute)
	now := time.Now()
	ps.now = func() time.Time { return now }
	ctx := context.Background()
	for range 3 {
		if _, err := ps.Get(ctx, p.url); err != nil {
			t.Fatal(err)
		}
	}
	if n := p.discoveries.Load(); n != 1 {
		t.Fatalf("discoveries within the TTL = %d, want 1", n)
	}
	now = now.Add(2 * time.Minute)
	if _, err := ps.Get(ctx, p.url); err != nil {
		t.Fatal(err)
	}
	if n := p.discoveries.Load(); n != 2 {
		t.Fatalf("discoveries after the TTL = %d, want 2", n)
	}
}

// Without allowPrivate, an issuer on loopback is not fetched.
func TestProvidersRefusePrivateAddresses(t *testing.T) {
	p := startIdP(t)
	if _, err := NewProviders(false, 0).Discover(context.Background(), p.url); !errors.Is(err, ErrDiscovery) {
		t.Fatalf("loopback issuer without allowPrivate: %v", err)
	}
	if n := p.discoveries.Load(); n != 0 {
		t.Fatalf("discoveries = %d, want 0", n)
	}
}
