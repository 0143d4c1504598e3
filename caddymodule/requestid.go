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
	caddy.RegisterModule(RequestID{})
	httpcaddyfile.RegisterHandlerDirective("contextlite_request_id", func(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
		m := new(RequestID)
		return m, m.UnmarshalCaddyfile(h.Dispenser)
	})
	// First in a site, so every answer, handle_errors' too, carries the id.
	httpcaddyfile.RegisterDirectiveOrder("contextlite_request_id", httpcaddyfile.After, "tracing")
}

// RequestID gives each request the server's id, {http.request.uuid}: it
// sets the X-Request-Id response header, which the access log records
// and error bodies repeat, and the id the audit log records. A client's
// X-Request-Id is dropped, never used.
type RequestID struct{}

// CaddyModule returns the Caddy module information.
func (RequestID) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.contextlite_request_id", New: func() caddy.Module { return new(RequestID) }}
}

// ServeHTTP sets the request's id and passes it on.
func (RequestID) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	repl := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	id := repl.ReplaceKnown("{http.request.uuid}", "")
	w.Header().Set(api.RequestIDHeader, id)
	r.Header.Del(api.RequestIDHeader)
	return next.ServeHTTP(w, r.WithContext(api.WithRequestID(r.Context(), id)))
}

// UnmarshalCaddyfile sets up the handler; it takes no arguments.
func (m *RequestID) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return noArgs(d)
}

// Interface guards.
var (
	_ caddyhttp.MiddlewareHandler = (*RequestID)(nil)
	_ caddyfile.Unmarshaler       = (*RequestID)(nil)
)
