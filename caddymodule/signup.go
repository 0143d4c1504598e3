package caddymodule

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	caddy.RegisterModule(Signup{})
	httpcaddyfile.RegisterHandlerDirective("contextlite_signup", func(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
		m := new(Signup)
		return m, m.UnmarshalCaddyfile(h.Dispenser)
	})
}

// Signup creates a tenant and its first admin key from {email, company}
// (POST on the apex domain). It ends the chain.
type Signup struct {
	terminal
}

// CaddyModule returns the Caddy module information.
func (Signup) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.contextlite_signup", New: func() caddy.Module { return new(Signup) }}
}

// Provision finds the contextlite app.
func (m *Signup) Provision(ctx caddy.Context) error {
	return m.provision(ctx, func(a *App) http.Handler { return a.signup })
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Signup)(nil)
	_ caddyhttp.MiddlewareHandler = (*Signup)(nil)
	_ caddyfile.Unmarshaler       = (*Signup)(nil)
)
