package sso

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/contextlite/cloud/tenancy"
)

// AttemptTTL is how long a login may take from its start to the callback.
const AttemptTTL = 10 * time.Minute

// Errors of Login; match them with errors.Is. Their texts are safe to
// show the user.
var (
	ErrNotConfigured    = errors.New("this tenant has no single sign-on set")
	ErrAttemptExpired   = errors.New("the login took too long or was started in another browser; start it again")
	ErrStateMismatch    = errors.New("the answer of the identity provider does not belong to the login this browser started; start it again")
	ErrProviderRefused  = errors.New("the identity provider refused to complete the login (the code was used or expired); start it again")
	ErrProviderDown     = errors.New("the identity provider could not be reached")
	ErrInvalidIDToken   = errors.New("the identity provider's ID token is not valid for this tenant")
	ErrInvalidEndpoints = errors.New("the identity provider's endpoints are not https URLs")
)

// Login runs the console logins of enterprise tenants through their own
// OpenID Provider: the authorization code flow with PKCE (S256), and the
// checks of the ID token it answers. Providers are discovered and kept by
// Providers; the code is exchanged with the same restricted HTTP client.
type Login struct {
	Store     Store
	Providers *Providers
	Now       func() time.Time // nil: time.Now
}

// Attempt is a login under way: what the browser that started it keeps
// (the console holds it in a short-lived cookie) and brings back to the
// callback. Its values are random; none is secret from that browser.
type Attempt struct {
	TenantID string
	State    string    // the state parameter the provider sends back
	Nonce    string    // the nonce the ID token must carry
	Verifier string    // the PKCE code verifier
	Started  time.Time // the attempt expires AttemptTTL after it
}

// Identity is whom a provider logged in.
type Identity struct {
	Issuer, Subject string
}

// Start begins a login to tenant t, whose provider is to send the browser
// back to redirectURL. It returns the provider's authorization URL and the
// attempt for the callback. Errors wrap ErrNotEligible, ErrNotConfigured,
// ErrDiscovery, ErrIssuerMismatch or ErrInvalidEndpoints, or are the
// store's.
func (l *Login) Start(ctx context.Context, t tenancy.Tenant, redirectURL string) (string, Attempt, error) {
	c, p, err := l.provider(ctx, t)
	if err != nil {
		return "", Attempt{}, err
	}
	if checkEndpoint(p.Endpoint().AuthURL) != nil || checkEndpoint(p.Endpoint().TokenURL) != nil {
		return "", Attempt{}, ErrInvalidEndpoints
	}
	a := Attempt{TenantID: t.ID, State: randomValue(), Nonce: randomValue(), Verifier: oauth2.GenerateVerifier(), Started: l.now()}
	to := oauthConfig(c, p, redirectURL).AuthCodeURL(a.State, oauth2.S256ChallengeOption(a.Verifier), oidc.Nonce(a.Nonce))
	return to, a, nil
}

// Finish completes attempt a, to tenant t, with the state and code the
// provider sent the browser back with: the state must be a's (compared in
// constant time), the code is exchanged with a's PKCE verifier, and the ID
// token must be signed by t's provider, issued by it, for t's client id,
// unexpired and carry a's nonce. Errors wrap ErrAttemptExpired,
// ErrStateMismatch, ErrProviderRefused, ErrProviderDown,
// ErrInvalidIDToken or the errors of Start.
func (l *Login) Finish(ctx context.Context, t tenancy.Tenant, redirectURL string, a Attempt, state, code string) (Identity, error) {
	if age := l.now().Sub(a.Started); a.TenantID != t.ID || age < 0 || age > AttemptTTL {
		return Identity{}, ErrAttemptExpired
	}
	if !sameValue(state, a.State) {
		return Identity{}, ErrStateMismatch
	}
	c, p, err := l.provider(ctx, t)
	if err != nil {
		return Identity{}, err
	}
	ctx = oidc.ClientContext(ctx, l.Providers.client)
	tok, err := oauthConfig(c, p, redirectURL).Exchange(ctx, code, oauth2.VerifierOption(a.Verifier))
	if _, refused := errors.AsType[*oauth2.RetrieveError](err); refused {
		return Identity{}, ErrProviderRefused
	}
	if err != nil {
		return Identity{}, ErrProviderDown // not err: it may quote the provider's answer
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Identity{}, fmt.Errorf("%w: the answer has no ID token", ErrInvalidIDToken)
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: c.ClientID, Now: l.now}).Verify(ctx, raw)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %s", ErrInvalidIDToken, idTokenProblem(err))
	}
	if !sameValue(idt.Nonce, a.Nonce) {
		return Identity{}, fmt.Errorf("%w: its nonce is not this login's", ErrInvalidIDToken)
	}
	if idt.Subject == "" {
		return Identity{}, fmt.Errorf("%w: it names no subject", ErrInvalidIDToken)
	}
	return Identity{Issuer: idt.Issuer, Subject: idt.Subject}, nil
}

// Check reports whether tenant t may still use the single sign-on of
// issuer, as a session opened through it requires at each request: t is
// on the enterprise tier and its configuration is enabled and names
// issuer. Errors wrap ErrNotEligible or ErrNotConfigured, or are the
// store's.
func (l *Login) Check(ctx context.Context, t tenancy.Tenant, issuer string) error {
	c, err := l.config(ctx, t)
	if err != nil {
		return err
	}
	if c.Issuer != issuer {
		return ErrNotConfigured
	}
	return nil
}

// config returns t's enabled configuration if t may use single sign-on.
func (l *Login) config(ctx context.Context, t tenancy.Tenant) (tenancy.SSOConfig, error) {
	if !Eligible(t.Tier) {
		return tenancy.SSOConfig{}, ErrNotEligible
	}
	c, err := l.Store.SSO(ctx, t.ID)
	if errors.Is(err, tenancy.ErrNotFound) || err == nil && !c.Enabled {
		return tenancy.SSOConfig{}, ErrNotConfigured
	}
	return c, err
}

// provider returns t's configuration and its discovered provider.
func (l *Login) provider(ctx context.Context, t tenancy.Tenant) (tenancy.SSOConfig, *oidc.Provider, error) {
	c, err := l.config(ctx, t)
	if err != nil {
		return tenancy.SSOConfig{}, nil, err
	}
	p, err := l.Providers.Get(ctx, c.Issuer)
	if err != nil {
		return tenancy.SSOConfig{}, nil, err
	}
	return c, p, nil
}

// oauthConfig is the OAuth 2.0 client of configuration c at provider p.
func oauthConfig(c tenancy.SSOConfig, p *oidc.Provider, redirectURL string) *oauth2.Config {
	return &oauth2.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: redirectURL, Scopes: []string{oidc.ScopeOpenID}}
}

// checkEndpoint checks that a provider's endpoint is an https URL (plain
// http on loopback only), as its issuer must be.
func checkEndpoint(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || u.User != nil {
		return ErrInvalidEndpoints
	}
	if u.Scheme == "https" || u.Scheme == "http" && loopback(u.Hostname()) {
		return nil
	}
	return ErrInvalidEndpoints
}

// idTokenProblem says what go-oidc found wrong with an ID token, in words
// that quote nothing of it.
func idTokenProblem(err error) string {
	if _, expired := errors.AsType[*oidc.TokenExpiredError](err); expired {
		return "it has expired"
	}
	return "its signature, issuer or audience is wrong"
}

func (l *Login) now() time.Time {
	if l.Now == nil {
		return time.Now()
	}
	return l.Now()
}

// randomValue returns 130 random bits as text, for a state or nonce.
func randomValue() string {
	return rand.Text()
}

// sameValue compares in constant time; an empty value never matches.
func sameValue(got, want string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
