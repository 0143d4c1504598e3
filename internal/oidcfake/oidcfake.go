// Package oidcfake is an OpenID Provider for tests, served over HTTP on
// loopback: discovery and JWKS, an authorization endpoint that logs its
// user in at once and sends the browser back with a code, and a token
// endpoint that checks the client, the redirect URI, the PKCE verifier
// (S256 only, and required) and that each code is used once.
//
// Tests can make it refuse logins (Deny) and tamper with the ID tokens it
// signs (EditClaims), to check what a relying party refuses.
package oidcfake

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc/oidctest"
)

// keyID is the id of the provider's signing key.
const keyID = "oidcfake-1"

// Provider is a running fake OpenID Provider.
type Provider struct {
	// URL is the issuer, the server's base URL.
	URL string
	// ClientID and ClientSecret are the one client it knows.
	ClientID, ClientSecret string

	key *rsa.PrivateKey

	mu        sync.Mutex
	subject   string
	deny      string
	edit      func(claims map[string]any)
	redirects []string
	codes     map[string]*grant
	exchanges int
}

// grant is an authorization code and what it was issued for.
type grant struct {
	redirectURI, challenge, nonce, subject string
	used                                   bool
}

// New starts a provider for client clientID with clientSecret, stopped
// when t ends. It logs in the subject "alice" until SetSubject says
// otherwise.
func New(t testing.TB, clientID, clientSecret string) *Provider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &Provider{ClientID: clientID, ClientSecret: clientSecret, key: key, subject: "alice", codes: make(map[string]*grant)}
	discovery := &oidctest.Server{PublicKeys: []oidctest.PublicKey{{PublicKey: key.Public(), KeyID: keyID, Algorithm: "RS256"}},
		Algorithms: []string{"RS256"}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /auth", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	mux.Handle("/", discovery) // discovery document and keys
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	discovery.SetIssuer(srv.URL)
	p.URL = srv.URL
	return p
}

// SetSubject sets whom the authorization endpoint logs in.
func (p *Provider) SetSubject(sub string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.subject = sub
}

// Deny makes the authorization endpoint answer with error code (such as
// access_denied) instead of a code; "" logs users in again.
func (p *Provider) Deny(code string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.deny = code
}

// EditClaims sets a function that changes the claims of each ID token
// before it is signed; nil signs them as issued.
func (p *Provider) EditClaims(edit func(claims map[string]any)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.edit = edit
}

// AllowRedirects registers the redirect URIs the client may use; with
// none registered, any is accepted.
func (p *Provider) AllowRedirects(uris ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.redirects = uris
}

// Exchanges returns how many codes were exchanged for tokens.
func (p *Provider) Exchanges() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exchanges
}

// authorize serves the authorization endpoint: it checks the request and
// sends the browser back to the redirect URI with a code and the state.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	defer p.mu.Unlock()
	redirect := q.Get("redirect_uri")
	back, err := url.Parse(redirect)
	if q.Get("client_id") != p.ClientID || err != nil || !back.IsAbs() || len(p.redirects) > 0 && !slices.Contains(p.redirects, redirect) {
		http.Error(w, "unknown client or redirect URI", http.StatusBadRequest) // never redirected, as the spec says
		return
	}
	reply := url.Values{"state": {q.Get("state")}}
	switch {
	case p.deny != "":
		reply.Set("error", p.deny)
	case q.Get("response_type") != "code" || !slices.Contains(strings.Fields(q.Get("scope")), "openid"):
		reply.Set("error", "unsupported_response_type")
	case q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256":
		reply.Set("error", "invalid_request")
		reply.Set("error_description", "PKCE with S256 is required")
	default:
		code := rand.Text()
		p.codes[code] = &grant{redirectURI: redirect, challenge: q.Get("code_challenge"), nonce: q.Get("nonce"), subject: p.subject}
		reply.Set("code", code)
	}
	back.RawQuery = reply.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// token serves the token endpoint: a code, once, for the client that
// authenticates (HTTP Basic or form), with the redirect URI and the PKCE
// verifier of its authorization.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != p.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(p.ClientSecret)) != 1 {
		tokenError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	g := p.codes[r.PostForm.Get("code")]
	if r.PostForm.Get("grant_type") != "authorization_code" || g == nil || g.used {
		tokenError(w, http.StatusBadRequest, "invalid_grant")
		return
	}
	g.used = true // a code is spent by its first use, good or bad
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if r.PostForm.Get("redirect_uri") != g.redirectURI || base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		tokenError(w, http.StatusBadRequest, "invalid_grant")
		return
	}
	now := time.Now()
	claims := map[string]any{"iss": p.URL, "sub": g.subject, "aud": p.ClientID, "iat": now.Unix(),
		"exp": now.Add(10 * time.Minute).Unix(), "nonce": g.nonce}
	if p.edit != nil {
		p.edit(claims)
	}
	body, err := json.Marshal(claims)
	if err != nil {
		tokenError(w, http.StatusInternalServerError, "server_error")
		return
	}
	p.exchanges++
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]any{"access_token": rand.Text(), "token_type": "Bearer", "expires_in": 600,
		"id_token": oidctest.SignIDToken(p.key, keyID, "RS256", string(body))})
}

// tokenError answers an OAuth 2.0 error of the token endpoint.
func tokenError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code})
}
