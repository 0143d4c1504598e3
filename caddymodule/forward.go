package caddymodule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/contextlite/cloud/api"
	"github.com/contextlite/cloud/cluster"
	"github.com/contextlite/cloud/contextengine"
)

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
