package jwtauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// testKey is a signing key with its key ID.
type testKey struct {
	kid  string
	priv crypto.Signer
}

func newRSAKey(t *testing.T, kid string) *testKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return &testKey{kid: kid, priv: k}
}

func newECKey(t *testing.T, kid string) *testKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &testKey{kid: kid, priv: k}
}

// withKID returns k under another key ID ("" for none).
func (k *testKey) withKID(kid string) *testKey {
	return &testKey{kid: kid, priv: k.priv}
}

// sign returns a compact JWS of claims signed by k with m.
func (k *testKey) sign(t *testing.T, m jwt.SigningMethod, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims)
	if k.kid != "" {
		tok.Header["kid"] = k.kid
	}
	s, err := tok.SignedString(k.priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// jwk returns the public JWK of k. It has no "alg", so only the Verifier's
// pinned algorithms restrict how the key may be used.
func (k *testKey) jwk(t *testing.T) map[string]string {
	t.Helper()
	switch pub := k.priv.Public().(type) {
	case *rsa.PublicKey:
		return map[string]string{
			"kty": "RSA", "kid": k.kid, "use": "sig",
			"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes()),
		}
	case *ecdsa.PublicKey:
		point, err := pub.Bytes() // 0x04 || X || Y
		if err != nil {
			t.Fatal(err)
		}
		n := (len(point) - 1) / 2
		return map[string]string{
			"kty": "EC", "kid": k.kid, "use": "sig", "crv": pub.Curve.Params().Name,
			"x": b64(point[1 : 1+n]), "y": b64(point[1+n:]),
		}
	}
	t.Fatalf("unsupported key type %T", k.priv)
	return nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// jwks returns the JWK Set of keys.
func jwks(t *testing.T, keys ...*testKey) []byte {
	t.Helper()
	set := struct {
		Keys []map[string]string `json:"keys"`
	}{Keys: []map[string]string{}}
	for _, k := range keys {
		set.Keys = append(set.Keys, k.jwk(t))
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// jwksFile writes the JWK Set of keys to a file and returns its path.
func jwksFile(t *testing.T, keys ...*testKey) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, jwks(t, keys...), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// jwksServer serves a JWK Set that a test can swap.
type jwksServer struct {
	url     string
	fetches atomic.Int64

	mu   sync.Mutex
	body []byte
}

func newJWKSServer(t *testing.T, keys ...*testKey) *jwksServer {
	t.Helper()
	s := &jwksServer{}
	s.set(t, keys...)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		body := s.body
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL + "/.well-known/jwks.json"
	return s
}

// set replaces the served keys.
func (s *jwksServer) set(t *testing.T, keys ...*testKey) {
	body := jwks(t, keys...)
	s.mu.Lock()
	s.body = body
	s.mu.Unlock()
}
