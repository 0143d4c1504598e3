package caddymodule

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/contextlite/cloud/cluster"
)

// placementHeader names, signed, the node a signup was forwarded to:
// the node the new tenant is placed on.
const placementHeader = "Contextlite-Placement"

// place marks a signup for the live node with the fewest tenants, when
// that is another node, naming it in the upstream variable and in a
// signed header: the tenant is made, and homed, where it is signed up.
// A signup forwarded here with a valid header is served here, never
// forwarded again. It removes the header from r whatever it holds, and
// does nothing outside a cluster.
func (n *clusterNode) place(r *http.Request) error {
	header := r.Header.Get(placementHeader)
	r.Header.Del(placementHeader)
	if n == nil {
		return nil
	}
	if _, err := n.signer.Verify(header, r.Method, r.URL.EscapedPath()); header != "" && err == nil {
		return nil
	}
	to, err := n.nodes.LeastLoaded(r.Context())
	switch {
	case errors.Is(err, cluster.ErrNoLiveNode):
		return nil // this node is not heard from either: make the tenant here
	case err != nil:
		return err
	case to.ID == n.id:
		return nil
	}
	u, err := url.Parse(to.Advertise)
	if err != nil || u.Host == "" {
		return fmt.Errorf("cluster: node %s advertises %q, not a URL", to.ID, to.Advertise)
	}
	r.Header.Set(placementHeader, n.signer.Sign([]byte(to.ID), r.Method, r.URL.EscapedPath()))
	caddyhttp.SetVar(r.Context(), upstreamVar, u.Host)
	return nil
}
