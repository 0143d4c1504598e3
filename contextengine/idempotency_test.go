package contextengine

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// TestIdempotentAnswers stores an answer, reads it back until it expires,
// and checks that a new answer then replaces it and sweeps the old ones.
func TestIdempotentAnswers(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	_, tn := newTestTenantWith(t, Options{Now: func() time.Time { return time.Unix(0, now.Load()) }})
	ctx := context.Background()

	if _, ok, err := tn.IdempotentAnswer(ctx, "k1"); ok || err != nil {
		t.Fatalf("answer before any = %v, %v", ok, err)
	}
	if err := tn.SaveIdempotentAnswer(ctx, "k1", StoredAnswer{Fingerprint: "f1", Answer: []byte("a1")}); err != nil {
		t.Fatal(err)
	}
	if err := tn.SaveIdempotentAnswer(ctx, "k2", StoredAnswer{Fingerprint: "f2", Answer: []byte("a2")}); err != nil {
		t.Fatal(err)
	}
	now.Add(int64(IdempotencyTTL - time.Second))
	a, ok, err := tn.IdempotentAnswer(ctx, "k1")
	if err != nil || !ok || a.Fingerprint != "f1" || string(a.Answer) != "a1" {
		t.Fatalf("answer within the TTL = %+v, %v, %v", a, ok, err)
	}
	now.Add(int64(time.Second))
	if _, ok, err := tn.IdempotentAnswer(ctx, "k1"); ok || err != nil {
		t.Fatalf("answer after the TTL = %v, %v", ok, err)
	}
	if err := tn.SaveIdempotentAnswer(ctx, "k1", StoredAnswer{Fingerprint: "f3", Answer: []byte("a3")}); err != nil {
		t.Fatal(err)
	}
	if a, ok, _ := tn.IdempotentAnswer(ctx, "k1"); !ok || a.Fingerprint != "f3" {
		t.Fatalf("replaced answer = %+v, %v", a, ok)
	}
	var rows int
	if err := tn.db.r.QueryRowContext(ctx, `SELECT count(*) FROM idempotency`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 1 {
		t.Fatalf("%d stored answers after the sweep, want 1 (k2 expired)", rows)
	}
}

// TestHoldIdempotencyKey lets one call at a time hold a key.
func TestHoldIdempotencyKey(t *testing.T) {
	tn := newTestTenant(t)
	release, err := tn.HoldIdempotencyKey("k")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tn.HoldIdempotencyKey("k"); !errors.Is(err, ErrIdempotencyKeyHeld) {
		t.Fatalf("second hold = %v, want ErrIdempotencyKeyHeld", err)
	}
	other, err := tn.HoldIdempotencyKey("other")
	if err != nil {
		t.Fatalf("hold of another key = %v", err)
	}
	other()
	release()
	again, err := tn.HoldIdempotencyKey("k")
	if err != nil {
		t.Fatalf("hold after release = %v", err)
	}
	again()
}
