-- Usage per tenant, meter and UTC day, kept by AddUsage in the
-- transaction that stores the events, so the console's daily charts read
-- a row per day and meter instead of every event of the period. day is
-- the day's midnight UTC, in unix nanoseconds.
CREATE TABLE usage_daily (
	tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	meter     TEXT NOT NULL,
	day       INTEGER NOT NULL,
	quantity  INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, day, meter)
);

INSERT INTO usage_daily (tenant_id, meter, day, quantity)
	SELECT tenant_id, meter, occurred_at - occurred_at % 86400000000000, SUM(quantity)
	FROM usage_events GROUP BY 1, 2, 3;
