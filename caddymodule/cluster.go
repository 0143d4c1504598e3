package caddymodule

import (
	"context"
	"fmt"
	"net/url"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/contextlite/cloud/cluster"
)

// ClusterConfig makes this server a node of a cluster sharing its
// PostgreSQL control plane.
type ClusterConfig struct {
	// NodeID names this node, unique in the cluster; empty: no cluster.
	NodeID string `json:"node_id,omitempty"`
	// Advertise is the base URL the other nodes reach this one at,
	// e.g. https://10.0.0.2:8443.
	Advertise string `json:"advertise,omitempty"`
}

// parseCluster parses the cluster block of the contextlite option:
//
//	cluster {
//		node_id   [id | {env.VAR}]
//		advertise [https://host:port | {env.VAR}]
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
	return nil
}

// joinCluster registers this node and keeps its heartbeat until ctx ends.
func (a *App) joinCluster(ctx context.Context) error {
	c, coord := a.Cluster, a.shared.coord
	if c == nil || coord == nil {
		return nil
	}
	if err := coord.Register(ctx, cluster.Node{ID: c.NodeID, Advertise: c.Advertise}); err != nil {
		return err
	}
	a.running.Go(func() { coord.Heartbeat(ctx, c.NodeID) })
	a.logger.Info("cluster node registered", zap.String("node", c.NodeID), zap.String("advertise", c.Advertise))
	return nil
}
