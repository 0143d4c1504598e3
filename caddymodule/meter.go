package caddymodule

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/contextlite/cloud/api"
	"github.com/contextlite/cloud/metering"
)

func init() {
	caddy.RegisterModule(Meter{})
	httpcaddyfile.RegisterHandlerDirective("contextlite_meter", func(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
		m := new(Meter)
		return m, m.UnmarshalCaddyfile(h.Dispenser)
	})
}

// Meter enforces the tenant's query quota before the rest of the chain and
// sets the X-Quota-* headers on every response; put it after
// contextlite_auth and before the tier rate limits, whose rejections it
// counts. A request over quota gets a 429 handler error carrying the
// *metering.QuotaError, which contextlite_errors answers. The API
// records the usage itself.
type Meter struct {
	app *App
}

// CaddyModule returns the Caddy module information.
func (Meter) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.contextlite_meter", New: func() caddy.Module { return new(Meter) }}
}

// Provision finds the contextlite app.
func (m *Meter) Provision(ctx caddy.Context) error {
	var err error
	m.app, err = contextliteApp(ctx)
	return err
}

// ServeHTTP admits the request under the tenant's quota and passes it on.
func (m *Meter) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	p, ok := api.PrincipalFrom(r.Context())
	if !ok {
		return next.ServeHTTP(w, r)
	}
	meter, stats, start := m.app.shared.meter, m.app.shared.metrics, time.Now()
	adm, err := meter.Admit(r.Context(), p.TenantID, p.PeriodAnchor, m.app.plans.Quota(p.Tier), api.IsQuery(r))
	if _, ok := errors.AsType[*metering.QuotaError](err); ok {
		setQuotaHeaders(w.Header(), adm)
		stats.reject("quota")
		stats.observeRequest(p.Tier, outcomeQuotaExceeded, start, false)
		return caddyhttp.Error(http.StatusTooManyRequests, err)
	}
	if err != nil {
		stats.observeRequest(p.Tier, outcomeError, start, false)
		return caddyhttp.Error(http.StatusServiceUnavailable, err)
	}
	defer adm.Release()
	setQuotaHeaders(w.Header(), adm)
	sw := &statusWriter{ResponseWriter: w}
	err = next.ServeHTTP(sw, r)
	if he, ok := errors.AsType[caddyhttp.HandlerError](err); ok && he.StatusCode == http.StatusTooManyRequests {
		meter.Reject(p.TenantID, metering.RejectedRateLimit)
		stats.reject("rate_limit")
	}
	stats.observeRequest(p.Tier, outcome(sw.code(), err), start, isAssemble(r))
	return err
}

// setQuotaHeaders tells the client where it stands on the query meter.
// The names are canonical already, so they are set without Header.Set.
func setQuotaHeaders(h http.Header, adm metering.Admission) {
	limit, remaining := unlimited, unlimited
	if adm.Limit > 0 {
		limit, remaining = []string{strconv.FormatInt(adm.Limit, 10)}, []string{strconv.FormatInt(adm.Remaining, 10)}
	}
	h["X-Quota-Limit"] = limit
	h["X-Quota-Remaining"] = remaining
	h["X-Quota-Reset"] = []string{strconv.FormatInt(adm.Reset.Unix(), 10)}
}

// unlimited is the header value of unlimited quotas; never modified.
var unlimited = []string{"unlimited"}

// UnmarshalCaddyfile sets up the handler; it takes no arguments.
func (m *Meter) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return noArgs(d)
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Meter)(nil)
	_ caddyhttp.MiddlewareHandler = (*Meter)(nil)
	_ caddyfile.Unmarshaler       = (*Meter)(nil)
)
