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
// rate limits and {http.auth.user.id}, the tenant id, for the access log.
// A caller not let in gets a handler error carrying the *api.Error (401,
// 402 or 403), which contextlite_errors in handle_errors answers.
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

// ServeHTTP authenticates the request and passes it on. On a cluster
// node, a request another node forwarded with its caller signed is
// served as that caller, and a request of a tenant homed on another node
// is marked for the reverse proxy to its home (see clusterNode.route).
func (m *Auth) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	p, forwarded, err := m.app.node.received(r)
	if err != nil {
		return caddyhttp.Error(http.StatusServiceUnavailable, err)
	}
	if !forwarded {
		caller, err := m.app.resolver.Resolve(r.Context(), r)
		if err != nil {
			e := api.ErrorFrom(err)
			m.app.shared.metrics.observeAuth(e.Code)
			return caddyhttp.Error(e.Status, err)
		}
		m.app.shared.metrics.observeAuth("")
		p = caller.Principal
		if err := m.app.node.route(w, r, p); err != nil {
			return caddyhttp.Error(http.StatusServiceUnavailable, err)
		}
	}
	repl := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	repl.Set("http.auth.user.id", p.TenantID)
	caddyhttp.SetVar(r.Context(), "tenant_id", p.TenantID)
	caddyhttp.SetVar(r.Context(), "tenant_tier", p.Tier) // resolved: an unknown tier is limited as free
	return next.ServeHTTP(w, r.WithContext(api.WithPrincipal(r.Context(), p)))
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

// Interface guards.
var (
	_ caddy.Provisioner           = (*Auth)(nil)
	_ caddyhttp.MiddlewareHandler = (*Auth)(nil)
	_ caddyfile.Unmarshaler       = (*Auth)(nil)
)
