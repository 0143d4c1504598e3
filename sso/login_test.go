package sso

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/contextlite/cloud/internal/oidcfake"
	"github.com/contextlite/cloud/tenancy"
)

const callbackURL = "https://console.example.com/console/sso/callback"

// loginFixture is a Login over a SQLite control plane with an enterprise
// tenant whose single sign-on is the fake provider, and a pro tenant.
type loginFixture struct {
	login      *Login
	store      tenancy.Store
	idp        *oidcfake.Provider
	enterprise tenancy.Tenant
	pro        tenancy.Tenant
}

func newLoginFixture(t *testing.T) loginFixture {
	t.Helper()
	idp := oidcfake.New(t, "console-app", "s3cret")
	idp.AllowRedirects(callbackURL)
	store, ts := newStore(t, "enterprise", "pro")
	ps := NewProviders(true, 0)
	svc := &Service{Store: store, Providers: ps}
	if _, err := svc.Set(context.Background(), ts[0], tenancy.SSOConfig{Issuer: idp.URL, ClientID: "console-app",
		ClientSecret: "s3cret", Audience: "contextlite-api"}); err != nil {
		t.Fatal(err)
	}
	return loginFixture{login: &Login{Store: store, Providers: ps}, store: store, idp: idp, enterprise: ts[0], pro: ts[1]}
}

// authorize follows authURL to the provider, as a browser would, and
// returns the query it sends the browser back with.
func authorize(t *testing.T, authURL string) url.Values {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("authorization = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := back.Scheme + "://" + back.Host + back.Path; got != callbackURL {
		t.Fatalf("the provider sent the browser to %s", got)
	}
	return back.Query()
}

// start starts a login to the enterprise tenant and runs it at the
// provider, returning the attempt and the provider's answer.
func (f loginFixture) start(t *testing.T) (Attempt, url.Values) {
	t.Helper()
	to, a, err := f.login.Start(context.Background(), f.enterprise, callbackURL)
	if err != nil {
		t.Fatal(err)
	}
	return a, authorize(t, to)
}

func TestLoginStart(t *testing.T) {
	f := newLoginFixture(t)
	ctx := context.Background()
	to, a, err := f.login.Start(ctx, f.enterprise, callbackURL)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(to)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	want := map[string]string{"response_type": "code", "client_id": "console-app", "redirect_uri": callbackURL, "scope": "openid",
		"state": a.State, "nonce": a.Nonce, "code_challenge_method": "S256"}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("authorization URL %s = %q, want %q", k, q.Get(k), v)
		}
	}
	if u.Scheme+"://"+u.Host+u.Path != f.idp.URL+"/auth" || q.Get("code_challenge") == "" || q.Get("code_challenge") == a.Verifier ||
		q.Has("client_secret") || a.TenantID != f.enterprise.ID || len(a.State) < 22 || len(a.Nonce) < 22 || a.State == a.Nonce {
		t.Errorf("authorization URL %s for attempt %+v", to, a)
	}
	if _, b, err := f.login.Start(ctx, f.enterprise, callbackURL); err != nil || b.State == a.State || b.Verifier == a.Verifier {
		t.Errorf("a second start reuses the first's values: %+v, %v", b, err)
	}

	if _, _, err := f.login.Start(ctx, f.pro, callbackURL); !errors.Is(err, ErrNotEligible) {
		t.Errorf("start for a pro tenant: %v", err)
	}
	if err := f.store.SetTier(ctx, f.pro.ID, "enterprise"); err != nil {
		t.Fatal(err)
	}
	f.pro.Tier = "enterprise"
	if _, _, err := f.login.Start(ctx, f.pro, callbackURL); !errors.Is(err, ErrNotConfigured) {
		t.Errorf("start for a tenant without single sign-on: %v", err)
	}
}

func TestLoginFinish(t *testing.T) {
	f := newLoginFixture(t)
	ctx := context.Background()
	f.idp.SetSubject("bob")
	a, back := f.start(t)
	id, err := f.login.Finish(ctx, f.enterprise, callbackURL, a, back.Get("state"), back.Get("code"))
	if err != nil || id.Issuer != f.idp.URL || id.Subject != "bob" {
		t.Fatalf("Finish = %+v, %v; want bob of %s", id, err, f.idp.URL)
	}
	if _, err := f.login.Finish(ctx, f.enterprise, callbackURL, a, back.Get("state"), back.Get("code")); !errors.Is(err, ErrProviderRefused) {
		t.Fatalf("the code replayed: %v", err)
	}
	if n := f.idp.Exchanges(); n != 1 {
		t.Fatalf("exchanges = %d, want 1", n)
	}
}

func TestLoginRefusals(t *testing.T) {
	f := newLoginFixture(t)
	ctx := context.Background()
	cases := []struct {
		name  string
		edit  func(claims map[string]any)           // of the ID token
		alter func(a *Attempt, state, code *string) // of the callback
		want  error
	}{
		{name: "state of another attempt", alter: func(_ *Attempt, state, _ *string) { *state = "forged" }, want: ErrStateMismatch},
		{name: "no state", alter: func(_ *Attempt, state, _ *string) { *state = "" }, want: ErrStateMismatch},
		{name: "verifier of another attempt", alter: func(a *Attempt, _, _ *string) { a.Verifier = "x" + a.Verifier[1:] }, want: ErrProviderRefused},
		{name: "made-up code", alter: func(_ *Attempt, _, code *string) { *code = "made-up" }, want: ErrProviderRefused},
		{name: "attempt too old", alter: func(a *Attempt, _, _ *string) { a.Started = a.Started.Add(-AttemptTTL - time.Second) }, want: ErrAttemptExpired},
		{name: "attempt of another tenant", alter: func(a *Attempt, _, _ *string) { a.TenantID = f.pro.ID }, want: ErrAttemptExpired},
		{name: "nonce of another attempt", edit: func(c map[string]any) { c["nonce"] = "other" }, want: ErrInvalidIDToken},
		{name: "no nonce", edit: func(c map[string]any) { delete(c, "nonce") }, want: ErrInvalidIDToken},
		{name: "another issuer", edit: func(c map[string]any) { c["iss"] = "https://evil.example.com" }, want: ErrInvalidIDToken},
		{name: "another audience", edit: func(c map[string]any) { c["aud"] = "contextlite-api" }, want: ErrInvalidIDToken},
		{name: "expired", edit: func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() }, want: ErrInvalidIDToken},
		{name: "no subject", edit: func(c map[string]any) { delete(c, "sub") }, want: ErrInvalidIDToken},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f.idp.EditClaims(c.edit)
			a, back := f.start(t)
			state, code := back.Get("state"), back.Get("code")
			if c.alter != nil {
				c.alter(&a, &state, &code)
			}
			if id, err := f.login.Finish(ctx, f.enterprise, callbackURL, a, state, code); !errors.Is(err, c.want) {
				t.Fatalf("Finish = %+v, %v; want %v", id, err, c.want)
			}
		})
	}
	f.idp.EditClaims(nil)

	// The provider's answer for another redirect URI is refused by it.
	a, back := f.start(t)
	if _, err := f.login.Finish(ctx, f.enterprise, "https://evil.example.com/cb", a, back.Get("state"), back.Get("code")); !errors.Is(err, ErrProviderRefused) {
		t.Fatalf("Finish with another redirect URI: %v", err)
	}
	// The provider refuses the login: it sends an error, no code.
	f.idp.Deny("access_denied")
	if _, back := f.start(t); back.Get("error") != "access_denied" || back.Has("code") {
		t.Fatalf("denied login came back with %v", back)
	}
}

// A login's provider requires PKCE: without the challenge it issues no
// code, so the flow above fails if Start stops sending it.
func TestProviderRequiresPKCE(t *testing.T) {
	f := newLoginFixture(t)
	to, _, err := f.login.Start(context.Background(), f.enterprise, callbackURL)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(to)
	q := u.Query()
	q.Del("code_challenge")
	q.Del("code_challenge_method")
	u.RawQuery = q.Encode()
	if back := authorize(t, u.String()); back.Get("error") != "invalid_request" || back.Has("code") {
		t.Fatalf("authorization without PKCE came back with %v", back)
	}
}

func TestLoginCheck(t *testing.T) {
	f := newLoginFixture(t)
	ctx := context.Background()
	if err := f.login.Check(ctx, f.enterprise, f.idp.URL); err != nil {
		t.Fatalf("Check = %v", err)
	}
	if err := f.login.Check(ctx, f.enterprise, "https://other.example.com"); !errors.Is(err, ErrNotConfigured) {
		t.Errorf("Check of another issuer = %v", err)
	}
	downgraded := f.enterprise
	downgraded.Tier = "pro"
	if err := f.login.Check(ctx, downgraded, f.idp.URL); !errors.Is(err, ErrNotEligible) {
		t.Errorf("Check of a pro tenant = %v", err)
	}
	c, err := f.store.SSO(ctx, f.enterprise.ID)
	if err != nil {
		t.Fatal(err)
	}
	c.Enabled = false
	if err := f.store.SetSSO(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := f.login.Check(ctx, f.enterprise, f.idp.URL); !errors.Is(err, ErrNotConfigured) {
		t.Errorf("Check of a disabled configuration = %v", err)
	}
	if err := f.store.DeleteSSO(ctx, f.enterprise.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.login.Check(ctx, f.enterprise, f.idp.URL); !errors.Is(err, ErrNotConfigured) {
		t.Errorf("Check after the configuration is deleted = %v", err)
	}
}
