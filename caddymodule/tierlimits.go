package caddymodule

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	caddyrl "github.com/mholt/caddy-ratelimit"

	"github.com/contextlite/cloud/tenancy"
)

func init() {
	caddy.RegisterModule(TierLimits{})
	httpcaddyfile.RegisterHandlerDirective("contextlite_tier_limits", func(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
		m := new(TierLimits)
		return m, m.UnmarshalCaddyfile(h.Dispenser)
	})
}

// TierLimits enforces each tier's rate_per_second and burst, per tenant:
// it builds one caddy-ratelimit zone per tier of the contextlite app,
// custom tiers included, so the tier configuration is the only source of
// the limits. A tier's zone allows its burst over burst/rate seconds, so
// the sustained rate is the tier's. Put it after contextlite_auth, which
// resolves the tenant and its tier (an unknown tier is limited as free),
// and after contextlite_meter, which counts its rejections.
type TierLimits struct {
	limiter caddyhttp.MiddlewareHandler
}

// CaddyModule returns the Caddy module information.
func (TierLimits) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.contextlite_tier_limits", New: func() caddy.Module { return new(TierLimits) }}
}

// Provision builds the rate_limit handler of the app's tiers.
func (m *TierLimits) Provision(ctx caddy.Context) error {
	app, err := contextliteApp(ctx)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(tierZones(app.tiers))
	if err != nil {
		return fmt.Errorf("tier rate limits: %w", err)
	}
	mod, err := ctx.LoadModuleByID("http.handlers.rate_limit", raw)
	if err != nil {
		return fmt.Errorf("tier rate limits: %w", err)
	}
	m.limiter = mod.(caddyhttp.MiddlewareHandler)
	return nil
}

// ServeHTTP applies the limit of the request's tier and tenant.
func (m *TierLimits) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	return m.limiter.ServeHTTP(w, r, next)
}

// tierZones returns the rate_limit configuration of tiers: one zone per
// tier, contextlite_tier_<name>, keyed on the tenant id.
func tierZones(tiers tenancy.Tiers) *caddyrl.Handler {
	h := &caddyrl.Handler{RateLimits: make(map[string]*caddyrl.RateLimit, len(tiers))}
	for name, t := range tiers {
		events := t.Burst
		if events <= 0 {
			events = t.RatePerSecond
		}
		match, _ := json.Marshal(map[string][]string{"{http.vars.tenant_tier}": {name}}) // strings always marshal
		h.RateLimits["contextlite_tier_"+name] = &caddyrl.RateLimit{
			MatcherSetsRaw: caddyhttp.RawMatcherSets{{"vars": match}},
			Key:            "{http.vars.tenant_id}",
			MaxEvents:      events,
			Window:         caddy.Duration(time.Duration(events) * time.Second / time.Duration(t.RatePerSecond)),
		}
	}
	return h
}

// UnmarshalCaddyfile sets up the handler; it takes no arguments.
func (m *TierLimits) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return noArgs(d)
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*TierLimits)(nil)
	_ caddyhttp.MiddlewareHandler = (*TierLimits)(nil)
	_ caddyfile.Unmarshaler       = (*TierLimits)(nil)
)
