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
	caddy.RegisterModule(ConsoleHome{})
	httpcaddyfile.RegisterHandlerDirective("contextlite_console_home", func(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
		m := new(ConsoleHome)
		return m, m.UnmarshalCaddyfile(h.Dispenser)
	})
}

// ConsoleHome sends the console requests of a logged-in tenant homed on
// another cluster node to that node: it names the node in
// {http.vars.contextlite_upstream} for the reverse proxy after it, as
// contextlite_auth does for the API. The home node's console checks the
// session itself (sessions are in the shared control plane). Outside a
// cluster it only passes the request on.
type ConsoleHome struct {
	app *App
}

// CaddyModule returns the Caddy module information.
func (ConsoleHome) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.contextlite_console_home", New: func() caddy.Module { return new(ConsoleHome) }}
}

// Provision finds the contextlite app.
func (m *ConsoleHome) Provision(ctx caddy.Context) error {
	var err error
	m.app, err = contextliteApp(ctx)
	return err
}

// ServeHTTP marks the request for its tenant's home node when that is
// another node, and passes it on.
func (m *ConsoleHome) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	node := m.app.node
	_, forwarded, err := node.received(r)
	if err != nil {
		return caddyhttp.Error(http.StatusServiceUnavailable, err)
	}
	if node == nil || forwarded {
		return next.ServeHTTP(w, r)
	}
	tenantID, err := m.app.console.SessionTenant(r)
	if err != nil {
		return caddyhttp.Error(http.StatusServiceUnavailable, err)
	}
	if tenantID != "" {
		if err := node.route(w, r, api.Principal{TenantID: tenantID}); err != nil {
			return caddyhttp.Error(http.StatusServiceUnavailable, err)
		}
	}
	return next.ServeHTTP(w, r)
}

// UnmarshalCaddyfile sets up the handler; it takes no arguments.
func (m *ConsoleHome) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return noArgs(d)
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*ConsoleHome)(nil)
	_ caddyhttp.MiddlewareHandler = (*ConsoleHome)(nil)
	_ caddyfile.Unmarshaler       = (*ConsoleHome)(nil)
)
