package caddymodule

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/contextlite/cloud/api"
	"github.com/contextlite/cloud/cluster"
	"github.com/contextlite/cloud/moves"
)

// ClusterConfig makes this server a node of a cluster sharing its
// PostgreSQL control plane.
type ClusterConfig struct {
	// NodeID names this node, unique in the cluster; empty: no cluster.
	NodeID string `json:"node_id,omitempty"`
	// Advertise is the base URL the other nodes reach this one at,
	// e.g. https://10.0.0.2:8443.
	Advertise string `json:"advertise,omitempty"`
	// Secret signs the callers nodes forward to each other; the same on
	// every node, required. {env.VAR} is resolved at provisioning.
	Secret string `json:"secret,omitempty"`
}

// parseCluster parses the cluster block of the contextlite option:
//
//	cluster {
//		node_id   [id | {env.VAR}]
//		advertise [https://host:port | {env.VAR}]
//		secret    [secret | {env.VAR}]
//	}
//
// An empty node_id (an unset environment placeholder) leaves the server
// out of any cluster.
func (a *App) parseCluster(d *caddyfile.Dispenser) error {
	c := new(ClusterConfig)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		switch d.Val() {
		case "node_id":
			err = optionalArg(d, &c.NodeID)
		case "advertise":
			err = optionalArg(d, &c.Advertise)
		case "secret":
			err = optionalArg(d, &c.Secret)
		default:
			err = d.Errf("unknown cluster setting %q", d.Val())
		}
		if err != nil {
			return err
		}
	}
	if c.NodeID != "" {
		a.Cluster = c
	}
	return nil
}

// validateCluster checks the cluster settings, once resolved.
func (a *App) validateCluster() error {
	c := a.Cluster
	if c == nil {
		return nil
	}
	if a.shared != nil && a.shared.coord == nil {
		return fmt.Errorf("cluster: nodes share a PostgreSQL control plane; set control_dsn")
	}
	u, err := url.Parse(c.Advertise)
	if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return fmt.Errorf("cluster: advertise must be the https://host:port the other nodes reach this node at, not %q", c.Advertise)
	}
	if len(c.Secret) < minSecret {
		return fmt.Errorf("cluster: secret (CONTEXTLITE_CLUSTER_SECRET) must be set, the same on every node, of at least %d characters", minSecret)
	}
	return nil
}

// minSecret is the shortest cluster secret accepted.
const minSecret = 32

// newNode returns this server's part in its cluster, nil outside one.
func (a *App) newNode() *clusterNode {
	if a.Cluster == nil || a.shared.coord == nil {
		return nil
	}
	coord := a.shared.coord
	return &clusterNode{id: a.Cluster.NodeID, homes: coord.Homes(cluster.HomeCacheTTL), signer: cluster.NewSigner(a.Cluster.Secret), nodes: coord}
}

// joinCluster registers this node, claims the tenants whose databases it
// holds that have no home yet (a single server becoming a node), and
// keeps its heartbeat until ctx ends.
func (a *App) joinCluster(ctx context.Context) error {
	c, coord := a.Cluster, a.shared.coord
	if c == nil || coord == nil {
		return nil
	}
	if err := coord.Register(ctx, cluster.Node{ID: c.NodeID, Advertise: c.Advertise}); err != nil {
		return err
	}
	held, err := a.shared.engine.TenantIDs()
	if err != nil {
		return fmt.Errorf("cluster: tenants held here: %w", err)
	}
	claimed, err := a.node.claim(ctx, coord, held)
	if err != nil {
		return err
	}
	if claimed > 0 {
		a.logger.Info("cluster node claimed the tenants it holds", zap.Int64("tenants", claimed))
	}
	a.running.Go(func() { coord.Heartbeat(ctx, c.NodeID) })
	a.logger.Info("cluster node registered", zap.String("node", c.NodeID), zap.String("advertise", c.Advertise))
	return nil
}

// newMover builds this node's mover of tenants and the handler of the
// requests other nodes send it (contextlite_cluster).
func (a *App) newMover(ctx caddy.Context) error {
	roots, err := nodeRoots(ctx)
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: roots, ServerName: a.Domain, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     time.Minute,
	}}
	peers := &moves.Peers{Self: a.node.id, Signer: a.node.signer, Client: client, Host: a.Domain}
	a.mover = &moves.Mover{Self: a.node.id, Engine: a.shared.engine, Control: a.shared.coord, Usage: movedUsage{a.shared},
		Peers: peers, Forget: a.forget, Logger: ctx.Slogger()}
	a.peers = &moves.Handler{Mover: a.mover, Signer: a.node.signer}
	return nil
}

// movedUsage hands a moving tenant's usage over: the meter reloads it
// from the control plane and the outbox on the tenant's new home, which
// ships what the old home had not.
type movedUsage struct{ s *shared }

// Ship ships the tenant's usage from its outbox here.
func (u movedUsage) Ship(ctx context.Context, tenantID string) error {
	return u.s.shipper.Ship(ctx, tenantID)
}

// Arrived marks the tenant's outbox for shipping and drops its meter.
func (u movedUsage) Arrived(tenantID string) {
	u.s.meter.Forget(tenantID)
	u.s.shipper.Mark(tenantID)
}

// Left drops the tenant's meter here.
func (u movedUsage) Left(tenantID string) { u.s.meter.Forget(tenantID) }

// notInCluster answers the cluster endpoints of a server that is not a
// cluster node.
var notInCluster = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	api.WriteError(w, http.StatusNotFound, "not_found", "this server is not a cluster node")
})
