-- Console sessions opened through a tenant's single sign-on: kind 'sso',
-- with the ID token's issuer and subject in place of a key (key_id and
-- key_hash are empty). Each request checks that the tenant is still on
-- the enterprise tier with single sign-on from that issuer. Sessions
-- opened with a key are kind 'key'.
ALTER TABLE console_sessions ADD COLUMN kind text NOT NULL DEFAULT 'key' CHECK (kind IN ('key', 'sso'));
ALTER TABLE console_sessions ADD COLUMN sso_issuer text NOT NULL DEFAULT '';
ALTER TABLE console_sessions ADD COLUMN sso_subject text NOT NULL DEFAULT '';
