-- Usage-threshold notices, the webhooks that receive them, and the
-- instant a tenant's billing periods start from (NULL: calendar months).

ALTER TABLE tenants ADD COLUMN billing_anchor INTEGER;

-- secret signs the deliveries (HMAC-SHA256), so it is stored readable.
CREATE TABLE tenant_webhooks (
	tenant_id  TEXT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
	url        TEXT NOT NULL,
	secret     TEXT NOT NULL,
	updated_at INTEGER NOT NULL
);

-- payload is the exact JSON body to deliver, as a BLOB. next_attempt is
-- NULL once no attempt is due.
CREATE TABLE usage_notices (
	id           TEXT PRIMARY KEY,
	tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	meter        TEXT NOT NULL,
	period_start INTEGER NOT NULL,
	threshold    INTEGER NOT NULL,
	payload      BLOB NOT NULL,
	status       TEXT NOT NULL DEFAULT 'pending'
		CHECK (status IN ('pending', 'delivered', 'failed')),
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_attempt INTEGER,
	last_error   TEXT NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL,
	UNIQUE (tenant_id, meter, period_start, threshold)
);
CREATE INDEX usage_notices_due_idx ON usage_notices (status, next_attempt);
