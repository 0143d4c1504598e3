package caddymodule

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	caddy.RegisterModule(Operator{})
	httpcaddyfile.RegisterHandlerDirective("contextlite_operator", func(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
		m := new(Operator)
		return m, m.UnmarshalCaddyfile(h.Dispenser)
	})
}

// Operator serves the operator API (/admin/v1/... on the apex domain)
// to callers with the admin token; without one configured it answers 404.
// It ends the chain.
type Operator struct {
	terminal
}

// CaddyModule returns the Caddy module information.
func (Operator) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.contextlite_operator", New: func() caddy.Module { return new(Operator) }}
}

// Provision finds the contextlite app.
func (m *Operator) Provision(ctx caddy.Context) error {
	return m.provision(ctx, func(a *App) http.Handler { return a.operator })
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Operator)(nil)
	_ caddyhttp.MiddlewareHandler = (*Operator)(nil)
	_ caddyfile.Unmarshaler       = (*Operator)(nil)
)
