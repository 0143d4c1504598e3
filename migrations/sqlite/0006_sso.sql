-- Enterprise tenants' OpenID Connect single sign-on: JWTs whose iss is
-- issuer and whose aud holds audience are accepted for the tenant.
-- client_secret is kept readable (the console's login exchanges codes
-- with it), like webhook secrets; the API never returns it.
CREATE TABLE tenant_sso (
	tenant_id     TEXT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
	issuer        TEXT NOT NULL,
	client_id     TEXT NOT NULL,
	client_secret TEXT NOT NULL,
	audience      TEXT NOT NULL,
	enabled       INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
);
CREATE INDEX tenant_sso_issuer_idx ON tenant_sso (issuer);
