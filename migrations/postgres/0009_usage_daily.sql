-- Usage per tenant, meter and UTC day, kept by AddUsage in the
-- transaction that stores the events, so the console's daily charts read
-- a row per day and meter instead of every event of the period. day is
-- the day's midnight UTC.
CREATE TABLE usage_daily (
	tenant_id text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	meter     text NOT NULL,
	day       timestamptz NOT NULL,
	quantity  bigint NOT NULL,
	PRIMARY KEY (tenant_id, day, meter)
);

INSERT INTO usage_daily (tenant_id, meter, day, quantity)
	SELECT tenant_id, meter, date_trunc('day', occurred_at, 'UTC'), SUM(quantity)
	FROM usage_events GROUP BY 1, 2, 3;
