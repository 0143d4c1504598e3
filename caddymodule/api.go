package caddymodule

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	caddy.RegisterModule(API{})
	httpcaddyfile.RegisterHandlerDirective("contextlite_api", func(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
		m := new(API)
		return m, m.UnmarshalCaddyfile(h.Dispenser)
	})
}

// API serves the tenant REST API v1. It ends the chain and expects
// contextlite_auth before it.
type API struct {
	terminal
}

// CaddyModule returns the Caddy module information.
func (API) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.contextlite_api", New: func() caddy.Module { return new(API) }}
}

// Provision finds the contextlite app.
func (m *API) Provision(ctx caddy.Context) error {
	return m.provision(ctx, func(a *App) http.Handler { return a.api })
}

// terminal ends the chain with one of the app's handlers.
type terminal struct {
	h http.Handler
}

func (t *terminal) provision(ctx caddy.Context, pick func(*App) http.Handler) error {
	app, err := contextliteApp(ctx)
	if err != nil {
		return err
	}
	t.h = pick(app)
	return nil
}

// ServeHTTP answers the request.
func (t *terminal) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	t.h.ServeHTTP(w, r)
	return nil
}

// UnmarshalCaddyfile sets up the handler; it takes no arguments.
func (t *terminal) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return noArgs(d)
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*API)(nil)
	_ caddyhttp.MiddlewareHandler = (*API)(nil)
	_ caddyfile.Unmarshaler       = (*API)(nil)
)
