-- The control plane: tenants, their API keys, metered usage and Stripe
-- events. Timestamps are INTEGER unix nanoseconds (UTC), NULL when unset;
-- they sort and compare as numbers.

CREATE TABLE tenants (
	id                     TEXT PRIMARY KEY,
	slug                   TEXT NOT NULL UNIQUE,
	name                   TEXT NOT NULL DEFAULT '',
	email                  TEXT NOT NULL DEFAULT '',
	tier                   TEXT NOT NULL DEFAULT 'free',
	status                 TEXT NOT NULL DEFAULT 'active'
		CHECK (status IN ('active', 'suspended', 'deleted')),
	stripe_customer_id     TEXT NOT NULL DEFAULT '',
	stripe_subscription_id TEXT NOT NULL DEFAULT '',
	created_at             INTEGER NOT NULL,
	updated_at             INTEGER NOT NULL
);
CREATE INDEX tenants_tier_idx ON tenants (tier);
CREATE INDEX tenants_stripe_customer_idx ON tenants (stripe_customer_id);
CREATE INDEX tenants_status_idx ON tenants (status);

-- key_hash is SHA-256 or HMAC-SHA256 of the key; the key itself is never
-- stored. prefix is its first 13 characters, for display.
CREATE TABLE api_keys (
	id           TEXT PRIMARY KEY,
	tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	key_hash     BLOB NOT NULL UNIQUE,
	prefix       TEXT NOT NULL,
	name         TEXT NOT NULL DEFAULT '',
	scopes       TEXT NOT NULL DEFAULT '', -- comma separated
	last_used_at INTEGER,
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER,
	revoked_at   INTEGER
);
CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id);

CREATE TABLE usage_events (
	id              INTEGER PRIMARY KEY,
	tenant_id       TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	meter           TEXT NOT NULL,
	quantity        INTEGER NOT NULL,
	idempotency_key TEXT NOT NULL UNIQUE,
	occurred_at     INTEGER NOT NULL,
	created_at      INTEGER NOT NULL
);
CREATE INDEX usage_events_tenant_time_idx ON usage_events (tenant_id, occurred_at);

-- payload is the event's JSON, as received.
CREATE TABLE billing_events (
	stripe_event_id TEXT PRIMARY KEY,
	type            TEXT NOT NULL,
	payload         TEXT NOT NULL,
	received_at     INTEGER NOT NULL,
	processed_at    INTEGER
);
