package caddymodule

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
	"github.com/caddyserver/caddy/v2/modules/caddypki"
	"github.com/caddyserver/caddy/v2/modules/caddytls"

	"github.com/contextlite/cloud/api"
	"github.com/contextlite/cloud/cluster"
	"github.com/contextlite/cloud/contextengine"
)

func init() {
	caddy.RegisterModule(Upstreams{})
	caddy.RegisterModule(TrustPool{})
}

// upstreamVar is the request variable naming the host:port of the node a
// request is forwarded to; empty or unset: it is served here.
const upstreamVar = "contextlite_upstream"

// clusterNode is what a cluster node needs to route requests: its id,
// the tenants' homes and the signer of forwarded principals.
type clusterNode struct {
	id     string
	homes  *cluster.Homes
	signer *cluster.Signer
	nodes  interface { // where new tenants go (*cluster.Coordinator)
		LeastLoaded(ctx context.Context) (cluster.Node, error)
	}
}

// errNotHome means a request was forwarded here for a tenant homed on
// another node, as happens for a moment after a move.
var errNotHome = errors.New("this tenant is served by another node; retry")

// received returns the principal another node resolved and forwarded
// with r, when r carries one signed with the cluster's secret for this
// request. It removes the header from r whatever it holds, so a client
// can never present one. A forwarded request for a tenant not homed here
// gets errNotHome: it is never forwarded again.
func (n *clusterNode) received(r *http.Request) (api.Principal, bool, error) {
	header := r.Header.Get(cluster.PrincipalHeader)
	r.Header.Del(cluster.PrincipalHeader)
	if n == nil || header == "" {
		return api.Principal{}, false, nil
	}
	payload, err := n.signer.Verify(header, r.Method, r.URL.EscapedPath())
	var p api.Principal
	if err != nil || json.Unmarshal(payload, &p) != nil || p.TenantID == "" {
		return api.Principal{}, false, nil // a client's header: authenticated as any request
	}
	home, err := n.homes.Of(r.Context(), p.TenantID)
	if err != nil {
		return p, true, err
	}
	if home.Node.ID != n.id {
		n.homes.Forget(p.TenantID)
		return p, true, errNotHome
	}
	return p, true, nil
}

// route marks r for forwarding when p's tenant is homed on another node:
// it names that node in the upstream variable and signs p into r's
// header. It does nothing outside a cluster or when the tenant is homed
// here. The answer will carry the home node's X-Request-Id, which its
// error bodies and audit log name, so w's is dropped.
func (n *clusterNode) route(w http.ResponseWriter, r *http.Request, p api.Principal) error {
	if n == nil {
		return nil
	}
	home, err := n.homes.Of(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	if home.Node.ID == n.id {
		return nil
	}
	u, err := url.Parse(home.Node.Advertise)
	if err != nil || u.Host == "" {
		return fmt.Errorf("cluster: node %s advertises %q, not a URL", home.Node.ID, home.Node.Advertise)
	}
	payload, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("cluster: forward: %w", err)
	}
	r.Header.Set(cluster.PrincipalHeader, n.signer.Sign(payload, r.Method, r.URL.EscapedPath()))
	caddyhttp.SetVar(r.Context(), upstreamVar, u.Host)
	w.Header().Del(api.RequestIDHeader)
	return nil
}

// claim makes this node the home of tenantIDs that have none.
func (n *clusterNode) claim(ctx context.Context, coord *cluster.Coordinator, tenantIDs []string) (int64, error) {
	if n == nil || len(tenantIDs) == 0 {
		return 0, nil
	}
	return coord.Claim(ctx, n.id, tenantIDs)
}

// homedStorage is the engine as signups see it on a cluster node: a
// tenant's storage is made here, and the tenant homed here.
type homedStorage struct {
	*contextengine.Manager
	claim func(ctx context.Context, tenantID string) error
}

// Create makes the tenant's storage and claims the tenant for this node.
func (s homedStorage) Create(ctx context.Context, tenantID string) error {
	if err := s.Manager.Create(ctx, tenantID); err != nil {
		return err
	}
	return s.claim(ctx, tenantID)
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

// TrustPool is the certificate pool nodes verify each other with: the
// system's roots and the root of the local CA in the storage the nodes
// share, so that both publicly trusted and internal certificates pass.
type TrustPool struct {
	pool *x509.CertPool
}

// CaddyModule returns the Caddy module information.
func (TrustPool) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "tls.ca_pool.source.contextlite", New: func() caddy.Module { return new(TrustPool) }}
}

// Provision loads the system's roots and the local CA's root.
func (p *TrustPool) Provision(ctx caddy.Context) error {
	pool, err := nodeRoots(ctx)
	p.pool = pool
	return err
}

// nodeRoots returns the roots nodes verify each other with: the system's
// and the root of the local CA in the storage the nodes share.
func nodeRoots(ctx caddy.Context) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	v, err := ctx.App("pki")
	if err != nil {
		return nil, fmt.Errorf("cluster trust pool: %w", err)
	}
	ca, err := v.(*caddypki.PKI).GetCA(ctx, caddypki.DefaultCAID)
	if err != nil {
		return nil, fmt.Errorf("cluster trust pool: %w", err)
	}
	pool.AddCert(ca.RootCertificate())
	return pool, nil
}

// CertPool returns the pool.
func (p *TrustPool) CertPool() *x509.CertPool { return p.pool }

// UnmarshalCaddyfile sets up the pool; it takes no arguments.
func (p *TrustPool) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return noArgs(d)
}

// Interface guards.
var (
	_ reverseproxy.UpstreamSource = (*Upstreams)(nil)
	_ caddyfile.Unmarshaler       = (*Upstreams)(nil)
	_ caddytls.CA                 = (*TrustPool)(nil)
	_ caddy.Provisioner           = (*TrustPool)(nil)
	_ caddyfile.Unmarshaler       = (*TrustPool)(nil)
)
