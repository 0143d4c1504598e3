-- Usage-threshold notices, the webhooks that receive them, and the
-- instant a tenant's billing periods start from (NULL: calendar months).

ALTER TABLE tenants ADD COLUMN billing_anchor timestamptz;

-- secret signs the deliveries (HMAC-SHA256), so it is stored readable.
CREATE TABLE tenant_webhooks (
	tenant_id  text PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
	url        text NOT NULL,
	secret     text NOT NULL,
	updated_at timestamptz NOT NULL
);

-- payload is the exact JSON body to deliver (bytea, so its bytes, which
-- are signed, never change). next_attempt is NULL once no attempt is due.
CREATE TABLE usage_notices (
	id           text PRIMARY KEY,
	tenant_id    text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	meter        text NOT NULL,
	period_start timestamptz NOT NULL,
	threshold    integer NOT NULL,
	payload      bytea NOT NULL,
	status       text NOT NULL DEFAULT 'pending'
		CHECK (status IN ('pending', 'delivered', 'failed')),
	attempts     integer NOT NULL DEFAULT 0,
	next_attempt timestamptz,
	last_error   text NOT NULL DEFAULT '',
	created_at   timestamptz NOT NULL,
	updated_at   timestamptz NOT NULL,
	UNIQUE (tenant_id, meter, period_start, threshold)
);
CREATE INDEX usage_notices_due_idx ON usage_notices (status, next_attempt);
