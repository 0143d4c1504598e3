// Package console serves the tenant console: server-rendered pages under
// /console/ to sign up, log in with an admin-scope API key or through an
// enterprise tenant's single sign-on, see the period's usage and manage
// keys. It calls the API's own operations
// (package api, access and tenancy), so no rule is implemented twice.
// Pages need no JavaScript; small scripts of static/ add to some of them.
package console

import (
	"context"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/contextlite/cloud/access"
	"github.com/contextlite/cloud/api"
	"github.com/contextlite/cloud/metering"
	"github.com/contextlite/cloud/sso"
	"github.com/contextlite/cloud/tenancy"
)

//go:embed templates/*.html static/*
var files embed.FS

// Signups signs tenants up as POST /signup does (api.Signup).
type Signups interface {
	Create(r *http.Request, email, company string) (api.SignupOutcome, error)
}

// Callers authenticates keys and admits tenants as the API does
// (access.Resolver).
type Callers interface {
	ResolveKey(ctx context.Context, plaintext string) (access.Caller, error)
	ResolveKeyHash(ctx context.Context, hash []byte) (access.Caller, error)
	ResolveTenant(ctx context.Context, name string) (access.Caller, error)
}

// SSOLogins runs logins through enterprise tenants' identity providers
// and says whether their sessions still hold (sso.Login).
type SSOLogins interface {
	Start(ctx context.Context, t tenancy.Tenant, redirectURL string) (string, sso.Attempt, error)
	Finish(ctx context.Context, t tenancy.Tenant, redirectURL string, a sso.Attempt, state, code string) (sso.Identity, error)
	Check(ctx context.Context, t tenancy.Tenant, issuer string) error
}

// API holds the API's key and usage operations (api.Handler).
type API interface {
	KeysOf(ctx context.Context, p api.Principal) ([]tenancy.APIKey, error)
	CreateKeyFor(r *http.Request, p api.Principal, name string, scopes []string, expiresAt *time.Time) (string, tenancy.APIKey, error)
	RotateKeyFor(r *http.Request, p api.Principal, id string, grace time.Duration) (string, tenancy.APIKey, error)
	RevokeKeyFor(r *http.Request, p api.Principal, id string) error
	UsageReport(ctx context.Context, p api.Principal) (metering.Report, error)
	Settings // billing, settings and audit log (settings.go)
	Documents
}

// Store keeps the console's sessions and reads usage history (tenancy.Store).
type Store interface {
	CreateSession(ctx context.Context, s tenancy.Session) error
	Session(ctx context.Context, idHash []byte) (tenancy.Session, error)
	TouchSession(ctx context.Context, idHash []byte, seen, expires time.Time) error
	DeleteSession(ctx context.Context, idHash []byte) error
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error)
	UsageTotals(ctx context.Context, tenantID string, from, to time.Time) (map[string]int64, error)
	DailyUsage(ctx context.Context, tenantID string, from, to time.Time) ([]tenancy.UsageDay, error)
	Notices(ctx context.Context, tenantID string, periodStart time.Time) ([]tenancy.Notice, error)
}

// Config is what a Console calls.
type Config struct {
	Signups Signups
	Callers Callers
	API     API
	Store   Store
	SSO     SSOLogins        // nil: no single sign-on login
	Hasher  tenancy.Hasher   // the API keys' hasher (the Authenticator's)
	Now     func() time.Time // nil: time.Now
	Logger  *slog.Logger     // nil: discard
	// LoginsPerTenant bounds the logins to one tenant per minute (default 10).
	LoginsPerTenant int
	// SSOStartsPerTenant bounds the single sign-on logins started for one
	// tenant per minute (default 30).
	SSOStartsPerTenant int
}

// Console serves /console/.
type Console struct {
	cfg       Config
	mux       *http.ServeMux
	pages     map[string]*template.Template
	logins    *limiter
	ssoStarts *limiter
}

// pageNames are the templates besides the layout.
var pageNames = []string{"signup", "signup_done", "login", "sso_continue", "overview", "keys", "key_done", "error",
	"documents", "uploaded", "playground", "billing", "settings", "webhook_secret", "tenant_deleted", "audit"}

// New returns the console of cfg.
func New(cfg Config) (*Console, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.LoginsPerTenant <= 0 {
		cfg.LoginsPerTenant = 10
	}
	if cfg.SSOStartsPerTenant <= 0 {
		cfg.SSOStartsPerTenant = 30
	}
	c := &Console{cfg: cfg, pages: make(map[string]*template.Template),
		logins: newLimiter(cfg.LoginsPerTenant, time.Minute), ssoStarts: newLimiter(cfg.SSOStartsPerTenant, time.Minute)}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", name, err)
		}
		c.pages[name] = t
	}
	c.routes()
	return c, nil
}

// routes registers the pages.
func (c *Console) routes() {
	static, _ := fs.Sub(files, "static") // a directory of the embed pattern
	m := http.NewServeMux()
	m.Handle("GET /console/static/", http.StripPrefix("/console/static/", staticFiles(http.FileServerFS(static))))
	m.HandleFunc("GET /console/{$}", c.home)
	m.HandleFunc("GET /console/signup", c.signupForm)
	m.HandleFunc("POST /console/signup", c.signup)
	m.HandleFunc("GET /console/login", c.loginForm)
	m.HandleFunc("POST /console/login", c.login)
	m.HandleFunc("GET /console/sso/start", c.ssoStart)
	m.HandleFunc("POST /console/sso/start", c.ssoStart)
	m.HandleFunc("GET /console/sso/callback", c.ssoCallback)
	m.HandleFunc("POST /console/logout", c.authed(c.logout))
	m.HandleFunc("GET /console/overview", c.authed(c.overview))
	m.HandleFunc("GET /console/keys", c.authed(c.keys))
	m.HandleFunc("POST /console/keys", c.authed(c.createKey))
	m.HandleFunc("POST /console/keys/{id}/rotate", c.authed(c.rotateKey))
	m.HandleFunc("POST /console/keys/{id}/revoke", c.authed(c.revokeKey))
	m.HandleFunc("GET /console/billing", c.authed(c.billingPage))
	m.HandleFunc("POST /console/billing", c.authed(c.changeTier))
	m.HandleFunc("GET /console/billing/portal", c.authed(c.billingPortal))
	m.HandleFunc("GET /console/settings", c.authed(c.settings))
	m.HandleFunc("POST /console/settings/webhook", c.authed(c.setWebhook))
	m.HandleFunc("POST /console/settings/domains", c.authed(c.claimDomain))
	m.HandleFunc("POST /console/settings/domains/{domain}/verify", c.authed(c.verifyDomain))
	m.HandleFunc("POST /console/settings/domains/{domain}/delete", c.authed(c.deleteDomain))
	m.HandleFunc("POST /console/settings/sso", c.authed(c.setSSO))
	m.HandleFunc("POST /console/settings/sso/delete", c.authed(c.deleteSSO))
	m.HandleFunc("POST /console/settings/delete", c.authed(c.deleteTenant))
	m.HandleFunc("GET /console/audit", c.authed(c.audit))
	m.HandleFunc("GET /console/documents", c.authed(c.documents))
	m.HandleFunc("POST /console/documents/upload", c.authedWithin(maxUpload, c.upload))
	m.HandleFunc("POST /console/documents/{id}/delete", c.authed(c.deleteDocument))
	m.HandleFunc("GET /console/playground", c.authed(c.playground))
	m.HandleFunc("POST /console/playground", c.authed(c.assemble))
	m.HandleFunc("/console/", c.notFound)
	c.mux = m
}

// contentSecurityPolicy allows the console's own files only: no inline
// script or style, no framing, forms posted to the console only.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

// ServeHTTP sets the security headers, refuses cross-site form posts and
// serves the page.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	if r.Method == http.MethodPost && crossSite(r) {
		c.fail(w, r, http.StatusForbidden, "This form was sent from another site; it was refused.")
		return
	}
	c.mux.ServeHTTP(w, r)
}

// crossSite reports whether the browser says r comes from another origin.
// Browsers that send no Sec-Fetch-Site are left to the CSRF token.
func crossSite(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return false
	}
	return true
}

// staticFiles lets the console's CSS and script be cached for an hour.
func staticFiles(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

// notFound answers a path the console does not have.
func (c *Console) notFound(w http.ResponseWriter, r *http.Request) {
	c.fail(w, r, http.StatusNotFound, "There is no such page.")
}
