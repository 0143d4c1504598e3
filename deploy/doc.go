// Package deploy holds the deployment files (deploy/docker-compose.yml for
// a three-node cluster, deploy/contextlite.service and deploy/env.example
// for a single-node appliance under systemd) and the tests that check them.
// It has no code of its own.
package deploy
