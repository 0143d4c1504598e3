package caddymodule

import (
	"net"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/contextlite/cloud/internal/plainerr"
)

func init() {
	caddy.RegisterModule(JSONErrorsListener{})
}

// JSONErrorsListener is a listener wrapper that answers in JSON the errors
// net/http writes itself before any handler runs, on HTTP/1 connections:
// 431 for a URL or headers over max_header_size, 400 for a malformed
// request. Put it after TLS (the default place of listener wrappers).
type JSONErrorsListener struct{}

// CaddyModule returns the Caddy module information.
func (JSONErrorsListener) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "caddy.listeners.contextlite_json_errors", New: func() caddy.Module { return new(JSONErrorsListener) }}
}

// WrapListener wraps ln.
func (JSONErrorsListener) WrapListener(ln net.Listener) net.Listener {
	return plainerr.Listener(ln)
}

// UnmarshalCaddyfile sets up the wrapper; it takes no arguments.
func (m *JSONErrorsListener) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return noArgs(d)
}

// Interface guards.
var (
	_ caddy.ListenerWrapper = (*JSONErrorsListener)(nil)
	_ caddyfile.Unmarshaler = (*JSONErrorsListener)(nil)
)
