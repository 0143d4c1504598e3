package caddymodule

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	caddy.RegisterModule(SignupHome{})
	httpcaddyfile.RegisterHandlerDirective("contextlite_signup_home", func(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
		m := new(SignupHome)
		return m, m.UnmarshalCaddyfile(h.Dispenser)
	})
}

// SignupHome sends a signup to the cluster node the new tenant goes to,
// the live node with the fewest tenants: it names the node in
// {http.vars.contextlite_upstream} for the reverse proxy after it. Outside
// a cluster it only passes the request on.
type SignupHome struct {
	app *App
}

// CaddyModule returns the Caddy module information.
func (SignupHome) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.contextlite_signup_home", New: func() caddy.Module { return new(SignupHome) }}
}

// Provision finds the contextlite app.
func (m *SignupHome) Provision(ctx caddy.Context) error {
	var err error
	m.app, err = contextliteApp(ctx)
	return err
}

// ServeHTTP marks the signup for the node the tenant goes to, and passes it on.
func (m *SignupHome) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if err := m.app.node.place(r); err != nil {
		return caddyhttp.Error(http.StatusServiceUnavailable, err)
	}
	return next.ServeHTTP(w, r)
}

// UnmarshalCaddyfile sets up the handler; it takes no arguments.
func (m *SignupHome) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return noArgs(d)
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*SignupHome)(nil)
	_ caddyhttp.MiddlewareHandler = (*SignupHome)(nil)
	_ caddyfile.Unmarshaler       = (*SignupHome)(nil)
)
