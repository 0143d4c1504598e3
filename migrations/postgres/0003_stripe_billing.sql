-- Stripe billing: when a tenant's payments started failing (NULL: paid
-- up), the hourly usage roll-ups reported to Stripe, and an index to sum
-- the usage the control plane received in an hour.

ALTER TABLE tenants ADD COLUMN payment_failed_at timestamptz;

-- UsageReceived sums by created_at, the time the event was stored, so a
-- past hour gains no events that are shipped late.
CREATE INDEX usage_events_tenant_meter_created_idx ON usage_events (tenant_id, meter, created_at);

-- identifier is <tenant_id>:<meter>:<hour_start unix seconds>, also the
-- Stripe meter event's identifier. value is fixed when the row is made,
-- so a resend sends the same value. skipped: too old for Stripe.
CREATE TABLE usage_reports (
	identifier text PRIMARY KEY,
	tenant_id  text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	meter      text NOT NULL,
	hour_start timestamptz NOT NULL,
	value      bigint NOT NULL,
	status     text NOT NULL DEFAULT 'pending'
		CHECK (status IN ('pending', 'sent', 'skipped')),
	attempts   integer NOT NULL DEFAULT 0,
	last_error text NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL
);
CREATE INDEX usage_reports_status_hour_idx ON usage_reports (status, hour_start);
CREATE INDEX usage_reports_tenant_meter_hour_idx ON usage_reports (tenant_id, meter, hour_start);
