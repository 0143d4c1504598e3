-- Console sessions: a browser's login, opened with an admin-scope key.
-- id_hash is the hash of the cookie's session id (the id itself is never
-- stored); key_hash is the opening key's hash, so each request checks
-- that key is still active through the API's authenticator.
CREATE TABLE console_sessions (
	id_hash      bytea PRIMARY KEY,
	tenant_id    text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	key_id       text NOT NULL,
	key_hash     bytea NOT NULL,
	csrf_secret  text NOT NULL,
	created_at   timestamptz NOT NULL,
	last_seen_at timestamptz NOT NULL,
	expires_at   timestamptz NOT NULL
);
CREATE INDEX console_sessions_tenant_idx ON console_sessions (tenant_id);
CREATE INDEX console_sessions_expiry_idx ON console_sessions (expires_at);
