// Package cluster holds what the nodes of a cluster share through their
// PostgreSQL control plane: changes every node must see at once
// (LISTEN/NOTIFY), and jobs that must run on one node at a time
// (advisory-lock leases). It knows nothing of HTTP or of Caddy.
package cluster
