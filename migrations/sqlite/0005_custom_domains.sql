-- Tenants' own domains: claimed with a DNS TXT record holding token,
-- served (certificates issued on demand) once verified_at is set.
CREATE TABLE custom_domains (
	domain      TEXT PRIMARY KEY,
	tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	token       TEXT NOT NULL,
	verified_at INTEGER,
	created_at  INTEGER NOT NULL
);
CREATE INDEX custom_domains_tenant_idx ON custom_domains (tenant_id);
