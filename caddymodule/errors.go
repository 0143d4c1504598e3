package caddymodule

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/contextlite/cloud/api"
	"github.com/contextlite/cloud/metering"
)

func init() {
	caddy.RegisterModule(Errors{})
	httpcaddyfile.RegisterHandlerDirective("contextlite_errors", func(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
		m := new(Errors)
		return m, m.UnmarshalCaddyfile(h.Dispenser)
	})
}

// Errors answers errors raised by Caddy and the handlers (credentials,
// quotas, rate limits, body size limits, unknown routes) as JSON, for use
// in handle_errors, and logs the server errors among them, which Caddy
// logs only at debug level once handle_errors has answered.
type Errors struct {
	logger *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Errors) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.contextlite_errors", New: func() caddy.Module { return new(Errors) }}
}

// Provision sets up the logger.
func (m *Errors) Provision(ctx caddy.Context) error {
	m.logger = ctx.Logger()
	return nil
}

// errorCodes name the errors of statuses Caddy and its modules produce.
var errorCodes = map[int]string{
	http.StatusBadRequest:            "bad_request",
	http.StatusUnauthorized:          "unauthorized",
	http.StatusForbidden:             "forbidden",
	http.StatusNotFound:              "not_found",
	http.StatusMethodNotAllowed:      "method_not_allowed",
	http.StatusRequestEntityTooLarge: "too_large",
	http.StatusTooManyRequests:       "rate_limited",
	http.StatusInternalServerError:   "internal_error",
	http.StatusServiceUnavailable:    "unavailable",
}

// ServeHTTP writes the request's error as JSON: an *api.Error or a
// quota error as the handler that returned it meant, others by status.
func (m *Errors) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	err, _ := r.Context().Value(caddyhttp.ErrorCtxKey).(error)
	if qe, ok := errors.AsType[*metering.QuotaError](err); ok {
		api.WriteQuotaError(w, qe, time.Now())
		return nil
	}
	e := answerFor(err)
	if e.Status >= 500 && m.logger != nil {
		m.logger.Error("request failed", zap.Int("status", e.Status),
			zap.String("request_id", w.Header().Get(api.RequestIDHeader)), zap.Error(err))
	}
	api.WriteError(w, e.Status, e.Code, e.Message)
	return nil
}

// answerFor returns the answer to err: the *api.Error it maps to, else one
// named after its handler error's status.
func answerFor(err error) *api.Error {
	if e := api.ErrorFrom(err); err != nil && e.Status != http.StatusInternalServerError {
		return e
	}
	status := http.StatusInternalServerError
	if he, ok := errors.AsType[caddyhttp.HandlerError](err); ok && he.StatusCode != 0 {
		status = he.StatusCode
	}
	code, ok := errorCodes[status]
	if !ok {
		code = strings.ReplaceAll(strings.ToLower(http.StatusText(status)), " ", "_")
	}
	msg := http.StatusText(status)
	if status == http.StatusTooManyRequests {
		msg = "too many requests; retry after the number of seconds in Retry-After"
	}
	return &api.Error{Status: status, Code: code, Message: msg}
}

// UnmarshalCaddyfile sets up the handler; it takes no arguments.
func (m *Errors) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return noArgs(d)
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Errors)(nil)
	_ caddyhttp.MiddlewareHandler = (*Errors)(nil)
	_ caddyfile.Unmarshaler       = (*Errors)(nil)
)
