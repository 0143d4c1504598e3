package tenancy

import (
	"context"
	"fmt"
	"time"
)

// Kinds of console sessions: what opened them.
const (
	SessionKey = "key" // an admin-scope API key
	SessionSSO = "sso" // the tenant's single sign-on
)

// Session is a console login: a browser's session, opened with an
// admin-scope key or through the tenant's single sign-on. Only the hash
// of the session id is stored.
type Session struct {
	IDHash     []byte // hash of the cookie's session id
	TenantID   string
	Kind       string // SessionKey or SessionSSO; "" is SessionKey
	KeyID      string // the key that opened it (kind key)
	KeyHash    []byte // that key's hash, to check it is still active (kind key)
	Issuer     string // the ID token's issuer (kind sso)
	Subject    string // the ID token's subject (kind sso)
	CSRFSecret string // the synchronizer token of the session's forms
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // idle expiry: moved on at each use
}

const sessionColumns = "id_hash, tenant_id, kind, key_id, key_hash, sso_issuer, sso_subject, csrf_secret, created_at, last_seen_at, expires_at"

func scanSession(row scanner) (Session, error) {
	var s Session
	var created, seen, expires timeCol
	err := row.Scan(&s.IDHash, &s.TenantID, &s.Kind, &s.KeyID, &s.KeyHash, &s.Issuer, &s.Subject, &s.CSRFSecret, &created, &seen, &expires)
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = created.T, seen.T, expires.T
	return s, err
}

func (s *sqlStore) CreateSession(ctx context.Context, se Session) error {
	if se.Kind == "" {
		se.Kind = SessionKey
	}
	if se.KeyHash == nil {
		se.KeyHash = []byte{} // the column is NOT NULL; sessions of kind sso have no key
	}
	_, err := s.db.exec(ctx, "INSERT INTO console_sessions ("+sessionColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
		se.IDHash, se.TenantID, se.Kind, se.KeyID, se.KeyHash, se.Issuer, se.Subject, se.CSRFSecret, se.CreatedAt, se.LastSeenAt, se.ExpiresAt)
	if err != nil {
		return fmt.Errorf("create session of tenant %s: %w", se.TenantID, err)
	}
	return nil
}

func (s *sqlStore) Session(ctx context.Context, idHash []byte) (Session, error) {
	se, err := scanSession(s.db.queryRow(ctx, "SELECT "+sessionColumns+" FROM console_sessions WHERE id_hash = $1", idHash))
	if err != nil {
		return Session{}, fmt.Errorf("session: %w", notFound(err))
	}
	return se, nil
}

func (s *sqlStore) TouchSession(ctx context.Context, idHash []byte, seen, expires time.Time) error {
	n, err := s.db.exec(ctx, "UPDATE console_sessions SET last_seen_at = $1, expires_at = $2 WHERE id_hash = $3", seen, expires, idHash)
	if err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("touch session: %w", ErrNotFound)
	}
	return nil
}

func (s *sqlStore) DeleteSession(ctx context.Context, idHash []byte) error {
	if _, err := s.db.exec(ctx, "DELETE FROM console_sessions WHERE id_hash = $1", idHash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

func (s *sqlStore) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	n, err := s.db.exec(ctx, "DELETE FROM console_sessions WHERE expires_at <= $1", now)
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return n, nil
}
