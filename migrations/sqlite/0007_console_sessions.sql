-- Console sessions: a browser's login, opened with an admin-scope key.
-- id_hash is the hash of the cookie's session id (the id itself is never
-- stored); key_hash is the opening key's hash, so each request checks
-- that key is still active through the API's authenticator.
CREATE TABLE console_sessions (
	id_hash      BLOB PRIMARY KEY,
	tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	key_id       TEXT NOT NULL,
	key_hash     BLOB NOT NULL,
	csrf_secret  TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	last_seen_at INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL
);
CREATE INDEX console_sessions_tenant_idx ON console_sessions (tenant_id);
CREATE INDEX console_sessions_expiry_idx ON console_sessions (expires_at);
