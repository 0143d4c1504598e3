package caddymodule

import (
	"errors"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/contextlite/cloud/api"
)

func init() {
	caddy.RegisterModule(Errors{})
	httpcaddyfile.RegisterHandlerDirective("contextlite_errors", func(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
		m := new(Errors)
		return m, m.UnmarshalCaddyfile(h.Dispenser)
	})
}

// Errors answers errors raised by Caddy and other handlers (rate limits,
// body size limits, unknown routes) as JSON, for use in handle_errors.
type Errors struct{}

// CaddyModule returns the Caddy module information.
func (Errors) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.contextlite_errors", New: func() caddy.Module { return new(Errors) }}
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

// ServeHTTP writes the request's error as JSON.
func (Errors) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	status := http.StatusInternalServerError
	var he caddyhttp.HandlerError
	if err, ok := r.Context().Value(caddyhttp.ErrorCtxKey).(error); ok && errors.As(err, &he) && he.StatusCode != 0 {
		status = he.StatusCode
	}
	var mbe *http.MaxBytesError
	if err, ok := r.Context().Value(caddyhttp.ErrorCtxKey).(error); ok && errors.As(err, &mbe) {
		status = http.StatusRequestEntityTooLarge
	}
	code, ok := errorCodes[status]
	if !ok {
		code = strings.ReplaceAll(strings.ToLower(http.StatusText(status)), " ", "_")
	}
	msg := http.StatusText(status)
	if status == http.StatusTooManyRequests {
		msg = "too many requests; retry after the number of seconds in Retry-After"
	}
	api.WriteError(w, status, code, msg)
	return nil
}

// UnmarshalCaddyfile sets up the handler; it takes no arguments.
func (m *Errors) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return noArgs(d)
}

// Interface guards.
var (
	_ caddyhttp.MiddlewareHandler = (*Errors)(nil)
	_ caddyfile.Unmarshaler       = (*Errors)(nil)
)
