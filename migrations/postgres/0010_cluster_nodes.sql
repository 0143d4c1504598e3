-- Cluster mode: the nodes sharing this control plane, each with the
-- internal address its peers forward to and a heartbeat kept by the
-- database's clock, and each tenant's home node. epoch grows at every
-- move of a tenant, fencing writes of the node it left.
CREATE TABLE cluster_nodes (
	id           text PRIMARY KEY,
	advertise    text NOT NULL,
	started_at   timestamptz NOT NULL,
	heartbeat_at timestamptz NOT NULL,
	draining     boolean NOT NULL DEFAULT false
);

CREATE TABLE tenant_homes (
	tenant_id  text PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
	node_id    text NOT NULL,
	epoch      bigint NOT NULL DEFAULT 1,
	updated_at timestamptz NOT NULL
);
CREATE INDEX tenant_homes_node_idx ON tenant_homes (node_id);
