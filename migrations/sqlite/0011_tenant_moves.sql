-- Cluster mode: a tenant's move in progress, to the node moving_to since
-- move_started_at. Clusters need a PostgreSQL control plane; SQLite keeps
-- the columns so both dialects hold the same schema.
ALTER TABLE tenant_homes ADD COLUMN moving_to TEXT;
ALTER TABLE tenant_homes ADD COLUMN move_started_at INTEGER;
