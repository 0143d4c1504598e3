package tenancy

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSessions(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		tn := mustTenant(t, s, "acme", at)
		se := Session{IDHash: []byte("h1"), TenantID: tn.ID, KeyID: "k1", KeyHash: []byte("kh"), CSRFSecret: "c",
			CreatedAt: at, LastSeenAt: at, ExpiresAt: at.Add(12 * time.Hour)}
		if err := s.CreateSession(ctx, se); err != nil {
			t.Fatal(err)
		}
		got, err := s.Session(ctx, se.IDHash)
		if err != nil || got.TenantID != tn.ID || got.KeyID != "k1" || string(got.KeyHash) != "kh" || got.CSRFSecret != "c" ||
			!got.CreatedAt.Equal(at) || !got.ExpiresAt.Equal(se.ExpiresAt) {
			t.Fatalf("Session = %+v, %v; want %+v", got, err, se)
		}
		later := at.Add(time.Hour)
		if err := s.TouchSession(ctx, se.IDHash, later, later.Add(12*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Session(ctx, se.IDHash); !got.LastSeenAt.Equal(later) || !got.ExpiresAt.Equal(later.Add(12*time.Hour)) {
			t.Errorf("after touch: %+v", got)
		}
		if err := s.TouchSession(ctx, []byte("none"), later, later); !errors.Is(err, ErrNotFound) {
			t.Errorf("TouchSession(unknown) = %v, want ErrNotFound", err)
		}
		if n, err := s.DeleteExpiredSessions(ctx, later.Add(12*time.Hour-time.Second)); err != nil || n != 0 {
			t.Errorf("DeleteExpiredSessions before expiry = %d, %v", n, err)
		}
		if err := s.DeleteSession(ctx, se.IDHash); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Session(ctx, se.IDHash); !errors.Is(err, ErrNotFound) {
			t.Errorf("Session after delete = %v, want ErrNotFound", err)
		}
		if err := s.DeleteSession(ctx, se.IDHash); err != nil {
			t.Errorf("DeleteSession twice = %v", err)
		}
		se.IDHash = []byte("h2")
		if err := s.CreateSession(ctx, se); err != nil {
			t.Fatal(err)
		}
		if n, err := s.DeleteExpiredSessions(ctx, se.ExpiresAt); err != nil || n != 1 {
			t.Errorf("DeleteExpiredSessions at expiry = %d, %v; want 1", n, err)
		}
	})
}

// A session opened through single sign-on keeps its issuer and subject
// and has no key.
func TestSSOSessions(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		tn := mustTenant(t, s, "acme", at)
		se := Session{IDHash: []byte("sso1"), TenantID: tn.ID, Kind: SessionSSO, Issuer: "https://idp.example.com",
			Subject: "alice", CSRFSecret: "c", CreatedAt: at, LastSeenAt: at, ExpiresAt: at.Add(12 * time.Hour)}
		if err := s.CreateSession(ctx, se); err != nil {
			t.Fatal(err)
		}
		got, err := s.Session(ctx, se.IDHash)
		if err != nil || got.Kind != SessionSSO || got.Issuer != se.Issuer || got.Subject != "alice" ||
			got.KeyID != "" || len(got.KeyHash) != 0 || got.TenantID != tn.ID {
			t.Fatalf("Session = %+v, %v; want %+v", got, err, se)
		}
		key := Session{IDHash: []byte("key1"), TenantID: tn.ID, KeyID: "k", KeyHash: []byte("kh"), CSRFSecret: "c",
			CreatedAt: at, LastSeenAt: at, ExpiresAt: at.Add(time.Hour)}
		if err := s.CreateSession(ctx, key); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Session(ctx, key.IDHash); err != nil || got.Kind != SessionKey || got.Issuer != "" || got.Subject != "" {
			t.Fatalf("a session without a kind = %+v, %v; want kind key", got, err)
		}
		if err := s.CreateSession(ctx, Session{IDHash: []byte("bad"), TenantID: tn.ID, Kind: "cookie", CSRFSecret: "c",
			CreatedAt: at, LastSeenAt: at, ExpiresAt: at}); err == nil {
			t.Fatal("a session of an unknown kind was stored")
		}
	})
}
