package caddymodule

import (
	"fmt"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

func init() {
	caddy.RegisterModule(Upstreams{})
}

// Upstreams is the reverse proxy's upstream source of forwarded
// requests: the home node an earlier handler (contextlite_auth,
// contextlite_console_home) named in {http.vars.contextlite_upstream}.
type Upstreams struct{}

// CaddyModule returns the Caddy module information.
func (Upstreams) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.reverse_proxy.upstreams.contextlite", New: func() caddy.Module { return new(Upstreams) }}
}

// GetUpstreams returns the home node of r's tenant.
func (Upstreams) GetUpstreams(r *http.Request) ([]*reverseproxy.Upstream, error) {
	host, _ := caddyhttp.GetVar(r.Context(), upstreamVar).(string)
	if host == "" {
		return nil, fmt.Errorf("no home node named for this request")
	}
	return []*reverseproxy.Upstream{{Dial: host}}, nil
}

// UnmarshalCaddyfile sets up the source; it takes no arguments.
func (u *Upstreams) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return noArgs(d)
}

// Interface guards.
var (
	_ reverseproxy.UpstreamSource = (*Upstreams)(nil)
	_ caddyfile.Unmarshaler       = (*Upstreams)(nil)
)
