package tenancy

import (
	"context"
	"fmt"
	"time"
)

// Session is a console login: a browser's session, opened with an
// admin-scope key. Only the hash of the session id is stored.
type Session struct {
	IDHash     []byte // hash of the cookie's session id
	TenantID   string
	KeyID      string // the key that opened it
	KeyHash    []byte // that key's hash, to check it is still active
	CSRFSecret string // the synchronizer token of the session's forms
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // idle expiry: moved on at each use
}

const sessionColumns = "id_hash, tenant_id, key_id, key_hash, csrf_secret, created_at, last_seen_at, expires_at"

func scanSession(row scanner) (Session, error) {
	var s Session
	var created, seen, expires timeCol
	err := row.Scan(&s.IDHash, &s.TenantID, &s.KeyID, &s.KeyHash, &s.CSRFSecret, &created, &seen, &expires)
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = created.T, seen.T, expires.T
	return s, err
}

func (s *sqlStore) CreateSession(ctx context.Context, se Session) error {
	_, err := s.db.exec(ctx, "INSERT INTO console_sessions ("+sessionColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
		se.IDHash, se.TenantID, se.KeyID, se.KeyHash, se.CSRFSecret, se.CreatedAt, se.LastSeenAt, se.ExpiresAt)
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
