package cluster

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSignerAcceptsOnlyItsOwnSignature(t *testing.T) {
	at := time.Unix(1_800_000_000, 0)
	s := NewSigner("cluster secret")
	s.now = func() time.Time { return at }
	payload := []byte(`{"TenantID":"t1","Scopes":["read"]}`)
	h := s.Sign(payload, "POST", "/api/v1/assemble")
	got, err := s.Verify(h, "POST", "/api/v1/assemble")
	if err != nil || string(got) != string(payload) {
		t.Fatalf("own signature: %q, %v", got, err)
	}
	other := NewSigner("another secret")
	other.now = s.now
	encoded, _, _ := strings.Cut(h, ".")
	forged := strings.Replace(h, encoded, encoded+"x", 1)
	cases := map[string]func() ([]byte, error){
		"another path":    func() ([]byte, error) { return s.Verify(h, "POST", "/api/v1/documents") },
		"another method":  func() ([]byte, error) { return s.Verify(h, "GET", "/api/v1/assemble") },
		"another secret":  func() ([]byte, error) { return other.Verify(h, "POST", "/api/v1/assemble") },
		"changed payload": func() ([]byte, error) { return s.Verify(forged, "POST", "/api/v1/assemble") },
		"no signature":    func() ([]byte, error) { return s.Verify(encoded, "POST", "/api/v1/assemble") },
		"empty":           func() ([]byte, error) { return s.Verify("", "POST", "/api/v1/assemble") },
	}
	for name, verify := range cases {
		if p, err := verify(); !errors.Is(err, ErrBadSignature) || p != nil {
			t.Errorf("%s: %q, %v; want ErrBadSignature", name, p, err)
		}
	}
	for _, d := range []time.Duration{SignatureWindow + time.Second, -SignatureWindow - time.Second} {
		s.now = func() time.Time { return at.Add(d) }
		if _, err := s.Verify(h, "POST", "/api/v1/assemble"); !errors.Is(err, ErrBadSignature) {
			t.Errorf("checked %v after signing: %v; want ErrBadSignature", d, err)
		}
	}
	s.now = func() time.Time { return at.Add(SignatureWindow) }
	if _, err := s.Verify(h, "POST", "/api/v1/assemble"); err != nil {
		t.Errorf("checked at the end of the window: %v", err)
	}
}
