-- Cluster mode: the nodes sharing this control plane and each tenant's
-- home node. Clusters need a PostgreSQL control plane; SQLite keeps the
-- tables so both dialects hold the same schema.
CREATE TABLE cluster_nodes (
	id           TEXT PRIMARY KEY,
	advertise    TEXT NOT NULL,
	started_at   INTEGER NOT NULL,
	heartbeat_at INTEGER NOT NULL,
	draining     INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE tenant_homes (
	tenant_id  TEXT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
	node_id    TEXT NOT NULL,
	epoch      INTEGER NOT NULL DEFAULT 1,
	updated_at INTEGER NOT NULL
);
CREATE INDEX tenant_homes_node_idx ON tenant_homes (node_id);
