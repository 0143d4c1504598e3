package caddymodule

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/contextlite/cloud/api"
)

func init() {
	caddy.RegisterModule(Auth{})
	httpcaddyfile.RegisterHandlerDirective("contextlite_auth", func(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
		m := new(Auth)
		return m, m.UnmarshalCaddyfile(h.Dispenser)
	})
}

// Auth resolves the tenant and caller of a request from its subdomain and
// credential (X-API-Key, or Authorization: Bearer with an API key or a
// JWT). It sets {http.vars.tenant_id} and {http.vars.tenant_tier} for the
// rate-limit zones and answers 401/403 JSON when the caller is not let in.
type Auth struct {
	app *App
}

// CaddyModule returns the Caddy module information.
func (Auth) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.contextlite_auth", New: func() caddy.Module { return new(Auth) }}
}

// Provision finds the contextlite app.
func (m *Auth) Provision(ctx caddy.Context) error {
	var err error
	m.app, err = contextliteApp(ctx)
	return err
}

// ServeHTTP authenticates the request and passes it on.
func (m *Auth) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	caller, err := m.app.resolver.Resolve(r.Context(), r)
	if err != nil {
		m.app.shared.metrics.observeAuth(api.ErrorFrom(err).Code)
		writeError(w, err)
		return nil
	}
	m.app.shared.metrics.observeAuth("")
	caddyhttp.SetVar(r.Context(), "tenant_id", caller.Tenant.ID)
	caddyhttp.SetVar(r.Context(), "tenant_tier", caller.Principal.Tier) // resolved: an unknown tier is limited as free
	return next.ServeHTTP(w, r.WithContext(api.WithPrincipal(r.Context(), caller.Principal)))
}

// UnmarshalCaddyfile sets up the handler; it takes no arguments.
func (m *Auth) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return noArgs(d)
}

// contextliteApp returns the contextlite app of the config.
func contextliteApp(ctx caddy.Context) (*App, error) {
	v, err := ctx.App("contextlite")
	if err != nil {
		return nil, err
	}
	return v.(*App), nil
}

// writeError answers err as JSON; unknown errors become a generic 500.
func writeError(w http.ResponseWriter, err error) {
	e := api.ErrorFrom(err)
	api.WriteError(w, e.Status, e.Code, e.Message)
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Auth)(nil)
	_ caddyhttp.MiddlewareHandler = (*Auth)(nil)
	_ caddyfile.Unmarshaler       = (*Auth)(nil)
)
