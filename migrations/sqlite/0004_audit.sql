-- The append-only audit log of each tenant: who did what to which target,
-- from where. id is monotonic (AUTOINCREMENT never reuses one) and serves
-- as the paging cursor. Rows go only with their tenant.

CREATE TABLE audit_events (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	actor      TEXT NOT NULL, -- key id, 'jwt', 'operator' or 'system'
	action     TEXT NOT NULL, -- key.create, workspace.delete, ...
	target     TEXT NOT NULL DEFAULT '',
	ip         TEXT NOT NULL DEFAULT '',
	user_agent TEXT NOT NULL DEFAULT '',
	request_id TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL
);
CREATE INDEX audit_events_tenant_id_idx ON audit_events (tenant_id, id);
