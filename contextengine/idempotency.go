package contextengine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// IdempotencyTTL is how long an answer stored under an idempotency key is
// replayed; after it the key names a new request.
const IdempotencyTTL = 24 * time.Hour

// ErrIdempotencyKeyHeld is returned by HoldIdempotencyKey while another
// call holds the key.
var ErrIdempotencyKeyHeld = errors.New("idempotency key held by a running call")

// StoredAnswer is an answer stored under a client's idempotency key. The
// engine keeps its parts as given; their encoding is the caller's.
type StoredAnswer struct {
	Fingerprint string // what the request asked
	Answer      []byte
	CreatedAt   time.Time
}

// HoldIdempotencyKey reserves key for one call of this process at a time;
// call release when the call is done. It fails with ErrIdempotencyKeyHeld
// while another call holds key. Holds live in memory: one process serves
// a data dir.
func (t *Tenant) HoldIdempotencyKey(key string) (release func(), err error) {
	if _, held := t.db.held.LoadOrStore(key, struct{}{}); held {
		return nil, ErrIdempotencyKeyHeld
	}
	return func() { t.db.held.Delete(key) }, nil
}

// IdempotentAnswer returns the answer stored under key less than
// IdempotencyTTL ago; ok is false when there is none.
func (t *Tenant) IdempotentAnswer(ctx context.Context, key string) (a StoredAnswer, ok bool, err error) {
	var created int64
	err = t.db.r.QueryRowContext(ctx, `SELECT fingerprint, answer, created_at FROM idempotency WHERE key = ? AND created_at > ?`,
		key, t.idempotencyCutoff()).Scan(&a.Fingerprint, &a.Answer, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return a, false, nil
	}
	if err != nil {
		return a, false, fmt.Errorf("tenant %s: read idempotent answer: %w", t.db.id, err)
	}
	a.CreatedAt = time.Unix(0, created).UTC()
	return a, true, nil
}

// SaveIdempotentAnswer stores a under key, now, replacing an expired
// answer, and deletes the other expired ones. a.CreatedAt is ignored.
func (t *Tenant) SaveIdempotentAnswer(ctx context.Context, key string, a StoredAnswer) error {
	t.db.wmu.Lock()
	defer t.db.wmu.Unlock()
	tx, err := t.db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("tenant %s: save idempotent answer: %w", t.db.id, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM idempotency WHERE created_at <= ?`, t.idempotencyCutoff()); err != nil {
		return fmt.Errorf("tenant %s: sweep idempotent answers: %w", t.db.id, err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO idempotency (key, fingerprint, answer, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET fingerprint = excluded.fingerprint, answer = excluded.answer, created_at = excluded.created_at`,
		key, a.Fingerprint, a.Answer, t.db.eng.now().UnixNano())
	if err != nil {
		return fmt.Errorf("tenant %s: save idempotent answer: %w", t.db.id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("tenant %s: save idempotent answer: %w", t.db.id, err)
	}
	return nil
}

// idempotencyCutoff returns the creation time, in unix nanoseconds, at or
// before which stored answers have expired.
func (t *Tenant) idempotencyCutoff() int64 {
	return t.db.eng.now().Add(-IdempotencyTTL).UnixNano()
}
