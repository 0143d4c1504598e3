-- Tenants' own domains: claimed with a DNS TXT record holding token,
-- served (certificates issued on demand) once verified_at is set.
CREATE TABLE custom_domains (
	domain      text PRIMARY KEY,
	tenant_id   text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	token       text NOT NULL,
	verified_at timestamptz,
	created_at  timestamptz NOT NULL
);
CREATE INDEX custom_domains_tenant_idx ON custom_domains (tenant_id);
