package caddymodule

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/contextlite/cloud/api"
)

// terminals are the handlers that end a chain, by directive, with the
// app's plain http.Handler each one serves:
//
//	contextlite_api             the tenant REST API v1 (after contextlite_auth)
//	contextlite_mcp             the tenant MCP endpoint (after contextlite_auth)
//	contextlite_signup          POST /signup on the apex domain
//	contextlite_health          GET /health on the apex domain
//	contextlite_operator        the operator API, /admin/v1, for the admin token
//	contextlite_stripe_webhook  POST /webhooks/stripe (404 without billing)
//	contextlite_openapi         GET /api/v1/openapi.json, without credential
//	contextlite_console         the tenant console, /console/, on the apex domain
//	contextlite_cluster         /cluster/v1, the signed calls between cluster nodes (404 outside a cluster)
var terminals = map[string]func(*App) http.Handler{
	"contextlite_api":            func(a *App) http.Handler { return a.api },
	"contextlite_mcp":            func(a *App) http.Handler { return a.mcp },
	"contextlite_signup":         func(a *App) http.Handler { return a.signup },
	"contextlite_health":         func(a *App) http.Handler { return a.health },
	"contextlite_operator":       func(a *App) http.Handler { return a.operator },
	"contextlite_stripe_webhook": func(a *App) http.Handler { return a.webhook },
	"contextlite_openapi":        func(*App) http.Handler { return api.OpenAPI{} },
	"contextlite_console":        func(a *App) http.Handler { return a.console },
	"contextlite_cluster":        func(a *App) http.Handler { return a.peers },
}

func init() {
	for name, pick := range terminals {
		caddy.RegisterModule(&Terminal{name: name, pick: pick})
		httpcaddyfile.RegisterHandlerDirective(name, func(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
			m := &Terminal{name: name, pick: pick}
			return m, m.UnmarshalCaddyfile(h.Dispenser)
		})
	}
}

// Terminal ends the chain with one of the contextlite app's handlers; one
// type serves every directive of terminals.
type Terminal struct {
	name string
	pick func(*App) http.Handler
	h    http.Handler
}

// CaddyModule returns the Caddy module information.
func (t *Terminal) CaddyModule() caddy.ModuleInfo {
	name, pick := t.name, t.pick
	return caddy.ModuleInfo{ID: caddy.ModuleID("http.handlers." + name),
		New: func() caddy.Module { return &Terminal{name: name, pick: pick} }}
}

// Provision finds the contextlite app's handler.
func (t *Terminal) Provision(ctx caddy.Context) error {
	app, err := contextliteApp(ctx)
	if err != nil {
		return err
	}
	t.h = t.pick(app)
	return nil
}

// ServeHTTP answers the request.
func (t *Terminal) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	t.h.ServeHTTP(w, r)
	return nil
}

// UnmarshalCaddyfile sets up the handler; it takes no arguments.
func (t *Terminal) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return noArgs(d)
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Terminal)(nil)
	_ caddyhttp.MiddlewareHandler = (*Terminal)(nil)
	_ caddyfile.Unmarshaler       = (*Terminal)(nil)
)
