package caddymodule

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	caddy.RegisterModule(StripeWebhook{})
	httpcaddyfile.RegisterHandlerDirective("contextlite_stripe_webhook", func(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
		m := new(StripeWebhook)
		return m, m.UnmarshalCaddyfile(h.Dispenser)
	})
}

// StripeWebhook receives Stripe's signed events (POST /webhooks/stripe on
// the apex domain); without billing it answers 404. It ends the chain.
type StripeWebhook struct {
	terminal
}

// CaddyModule returns the Caddy module information.
func (StripeWebhook) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.contextlite_stripe_webhook", New: func() caddy.Module { return new(StripeWebhook) }}
}

// Provision finds the contextlite app.
func (m *StripeWebhook) Provision(ctx caddy.Context) error {
	return m.provision(ctx, func(a *App) http.Handler { return a.shared.metrics.countWebhooks(a.webhook) })
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*StripeWebhook)(nil)
	_ caddyhttp.MiddlewareHandler = (*StripeWebhook)(nil)
	_ caddyfile.Unmarshaler       = (*StripeWebhook)(nil)
)
