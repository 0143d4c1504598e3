package moves

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/contextlite/cloud/cluster"
)

// PeerHeader carries the calling node's id on a request between nodes,
// signed with the cluster secret for the request's method and URI (see
// cluster.Signer); the Handler refuses any request without it.
const PeerHeader = "Contextlite-Cluster-Peer"

// Prefix is the path under which nodes serve each other (see Handler).
const Prefix = "/cluster/v1/"

// Peers sends this node's signed requests to the other nodes.
type Peers struct {
	Self   string // this node's id, signed into each request
	Signer *cluster.Signer
	Client *http.Client // trusts the nodes' certificates
	Host   string       // the name the nodes serve Prefix on: the apex domain
}

// PeerError is a node's refusal of a request, as it answered.
type PeerError struct {
	Node    string
	Status  int
	Code    string
	Message string
}

func (e *PeerError) Error() string {
	return fmt.Sprintf("node %s: %d %s: %s", e.Node, e.Status, e.Code, e.Message)
}

// Move asks home, the tenant's home node, to move it to the node to.
func (p *Peers) Move(ctx context.Context, home cluster.Node, tenantID, to string) (Result, error) {
	resp, err := p.do(ctx, http.MethodPost, home, tenantPath(tenantID, "move"), url.Values{"to": {to}})
	if err != nil {
		return Result{}, err
	}
	defer resp.Body.Close()
	var res Result
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		return Result{}, fmt.Errorf("move %s: node %s answered: %w", tenantID, home.ID, err)
	}
	return res, nil
}

// Install asks target to pull the tenant's snapshot from this node and
// install it.
func (p *Peers) Install(ctx context.Context, target cluster.Node, tenantID string) error {
	resp, err := p.do(ctx, http.MethodPost, target, tenantPath(tenantID, "install"), url.Values{"from": {p.Self}})
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// Remove asks target to remove its copy of a tenant homed elsewhere.
func (p *Peers) Remove(ctx context.Context, target cluster.Node, tenantID string) error {
	resp, err := p.do(ctx, http.MethodDelete, target, tenantPath(tenantID, ""), nil)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// Snapshot streams the snapshot of a tenant fenced on source; close it.
func (p *Peers) Snapshot(ctx context.Context, source cluster.Node, tenantID string) (io.ReadCloser, error) {
	resp, err := p.do(ctx, http.MethodGet, source, tenantPath(tenantID, "snapshot"), nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// tenantPath is the path of a tenant's endpoint.
func tenantPath(tenantID, action string) string {
	path := Prefix + "tenants/" + url.PathEscape(tenantID)
	if action != "" {
		path += "/" + action
	}
	return path
}

// do sends a signed request to node and returns its answer when it is a
// success; any other answer is a *PeerError.
func (p *Peers) do(ctx context.Context, method string, node cluster.Node, path string, query url.Values) (*http.Response, error) {
	u, err := url.Parse(node.Advertise)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("node %s advertises %q, not a URL", node.ID, node.Advertise)
	}
	u.Path, u.RawQuery = path, query.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Host = p.Host
	req.Header.Set(PeerHeader, p.Signer.Sign([]byte(p.Self), method, req.URL.RequestURI()))
	resp, err := p.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", node.ID, err)
	}
	if resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	var body errorBody
	json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body) // a body of another shape leaves the status
	return nil, &PeerError{Node: node.ID, Status: resp.StatusCode, Code: body.Error.Code, Message: body.Error.Message}
}
