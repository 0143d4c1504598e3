package caddymodule

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	caddy.RegisterModule(Health{})
	httpcaddyfile.RegisterHandlerDirective("contextlite_health", func(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
		m := new(Health)
		return m, m.UnmarshalCaddyfile(h.Dispenser)
	})
}

// Health answers GET /health on the apex domain: version, uptime,
// tenants and the checks of the control plane, storage and Stripe; 503
// when a required check fails. It ends the chain.
type Health struct {
	terminal
}

// CaddyModule returns the Caddy module information.
func (Health) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.contextlite_health", New: func() caddy.Module { return new(Health) }}
}

// Provision finds the contextlite app.
func (m *Health) Provision(ctx caddy.Context) error {
	return m.provision(ctx, func(a *App) http.Handler { return a.health })
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Health)(nil)
	_ caddyhttp.MiddlewareHandler = (*Health)(nil)
	_ caddyfile.Unmarshaler       = (*Health)(nil)
)
