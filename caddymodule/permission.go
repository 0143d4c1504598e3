package caddymodule

import (
	"context"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddytls"
)

func init() {
	caddy.RegisterModule(Permission{})
}

// Permission allows on-demand certificates only for the apex domain, the
// subdomains of tenants that are not deleted (suspended ones too, so
// their callers read why) and the verified domains of such pro and
// enterprise tenants:
//
//	on_demand_tls {
//		permission contextlite
//	}
type Permission struct {
	app *App
}

// CaddyModule returns the Caddy module information.
func (Permission) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "tls.permission.contextlite", New: func() caddy.Module { return new(Permission) }}
}

// Provision finds the contextlite app.
func (p *Permission) Provision(ctx caddy.Context) error {
	var err error
	p.app, err = contextliteApp(ctx)
	return err
}

// CertificateAllowed returns nil when a certificate may be issued for name.
func (p *Permission) CertificateAllowed(ctx context.Context, name string) error {
	return p.app.resolver.HostAllowed(ctx, name)
}

// UnmarshalCaddyfile sets up the module; it takes no arguments.
func (p *Permission) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return noArgs(d)
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Permission)(nil)
	_ caddytls.OnDemandPermission = (*Permission)(nil)
	_ caddyfile.Unmarshaler       = (*Permission)(nil)
)
