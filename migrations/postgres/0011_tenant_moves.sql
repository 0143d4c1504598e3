-- Cluster mode: a tenant's move in progress, to the node moving_to since
-- move_started_at. A move completes only at the epoch it began at, and
-- moves the home there with the next epoch.
ALTER TABLE tenant_homes ADD COLUMN moving_to text;
ALTER TABLE tenant_homes ADD COLUMN move_started_at timestamptz;
