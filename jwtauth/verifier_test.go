package jwtauth

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	issAuth0 = "https://acme.auth0.example/" // Auth0 issuers end with a slash
	issClerk = "https://clerk.acme.example"
	issNS    = "https://ns.acme.example"
	audAPI   = "https://api.contextlite.dev"
	azpApp   = "https://app.acme.example"
	nsClaim  = "https://contextlite.dev/tenant"
)

// fastRefresh keeps the refresh tests well under a second.
func fastRefresh() refresh {
	return refresh{interval: 50 * time.Millisecond, unknownKID: 10 * time.Millisecond}
}

// baseClaims are valid claims for the Auth0-style issuer.
func baseClaims(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"iss":       issAuth0,
		"sub":       "user_1",
		"aud":       audAPI,
		"iat":       now.Unix(),
		"exp":       now.Add(5 * time.Minute).Unix(),
		"tenant_id": "acme",
	}
}

// clerkClaims are valid Clerk-style claims: no aud, an azp, a nested tenant.
func clerkClaims(now time.Time) jwt.MapClaims {
	c := baseClaims(now)
	c["iss"] = issClerk
	c["azp"] = azpApp
	c["org"] = map[string]any{"id": "org_1", "slug": "acme-org"}
	delete(c, "aud")
	delete(c, "tenant_id")
	return c
}

// edit returns c changed by f.
func edit(c jwt.MapClaims, f func(jwt.MapClaims)) jwt.MapClaims {
	f(c)
	return c
}

// unsigned hand-builds a token with header alg and an empty signature.
func unsigned(t *testing.T, alg string, claims jwt.MapClaims) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return b64([]byte(`{"alg":"`+alg+`","typ":"JWT"}`)) + "." + b64(payload) + "."
}

// hmacWithPublicKey signs claims with HS256 using the PEM of k's public key
// as the secret: the classic algorithm-confusion attack.
func hmacWithPublicKey(t *testing.T, k *testKey, claims jwt.MapClaims) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k.priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	tok.Header["kid"] = k.kid
	s, err := tok.SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// swapPayload keeps tok's header and signature around another payload.
func swapPayload(t *testing.T, tok string, claims jwt.MapClaims) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	return parts[0] + "." + b64(payload) + "." + parts[2]
}

func TestVerify(t *testing.T) {
	rsaKey := newRSAKey(t, "rsa-1")
	ecKey := newECKey(t, "ec-1")
	clerkKey := newECKey(t, "clerk-1")
	stray := newRSAKey(t, "stray-1")

	srv := newJWKSServer(t, rsaKey, ecKey)
	v, err := newVerifier(t.Context(), []Issuer{
		{Issuer: issAuth0, JWKSURL: srv.url, Audiences: []string{"https://other.example", audAPI}},
		{Issuer: issClerk, JWKSFile: jwksFile(t, clerkKey), AuthorizedParties: []string{azpApp},
			TenantClaim: "org.slug", Algorithms: []string{"ES256"}},
		{Issuer: issNS, JWKSURL: srv.url, Audiences: []string{audAPI}, TenantClaim: nsClaim},
	}, fastRefresh())
	if err != nil {
		t.Fatal(err)
	}

	now := time.Now()
	exp := time.Unix(now.Add(5*time.Minute).Unix(), 0)
	valid := rsaKey.sign(t, jwt.SigningMethodRS256, baseClaims(now))
	tests := []struct {
		name   string
		token  string
		want   Claims // when reason is empty
		reason string // the expected error reason
	}{
		{
			name:  "valid RS256",
			token: valid,
			want:  Claims{Issuer: issAuth0, Subject: "user_1", Tenant: "acme", ExpiresAt: exp},
		},
		{
			name:  "valid ES256",
			token: ecKey.sign(t, jwt.SigningMethodES256, baseClaims(now)),
			want:  Claims{Issuer: issAuth0, Subject: "user_1", Tenant: "acme", ExpiresAt: exp},
		},
		{
			name: "valid with audience list",
			token: rsaKey.sign(t, jwt.SigningMethodRS256, edit(baseClaims(now), func(c jwt.MapClaims) {
				c["aud"] = []string{"https://unrelated.example", audAPI}
			})),
			want: Claims{Issuer: issAuth0, Subject: "user_1", Tenant: "acme", ExpiresAt: exp},
		},
		{
			name:  "valid without kid",
			token: rsaKey.withKID("").sign(t, jwt.SigningMethodRS256, baseClaims(now)),
			want:  Claims{Issuer: issAuth0, Subject: "user_1", Tenant: "acme", ExpiresAt: exp},
		},
		{
			name: "expired within leeway",
			token: rsaKey.sign(t, jwt.SigningMethodRS256, edit(baseClaims(now), func(c jwt.MapClaims) {
				c["exp"] = now.Add(-10 * time.Second).Unix()
			})),
			want: Claims{Issuer: issAuth0, Subject: "user_1", Tenant: "acme", ExpiresAt: time.Unix(now.Add(-10*time.Second).Unix(), 0)},
		},
		{
			name: "nbf within leeway",
			token: rsaKey.sign(t, jwt.SigningMethodRS256, edit(baseClaims(now), func(c jwt.MapClaims) {
				c["nbf"] = now.Add(10 * time.Second).Unix()
			})),
			want: Claims{Issuer: issAuth0, Subject: "user_1", Tenant: "acme", ExpiresAt: exp},
		},
		{
			name:  "clerk-style azp without aud, nested tenant",
			token: clerkKey.sign(t, jwt.SigningMethodES256, clerkClaims(now)),
			want:  Claims{Issuer: issClerk, Subject: "user_1", Tenant: "acme-org", ExpiresAt: exp},
		},
		{
			name: "whole claim name before dotted path",
			token: clerkKey.sign(t, jwt.SigningMethodES256, edit(clerkClaims(now), func(c jwt.MapClaims) {
				c["org.slug"] = "flat-org"
			})),
			want: Claims{Issuer: issClerk, Subject: "user_1", Tenant: "flat-org", ExpiresAt: exp},
		},
		{
			name: "namespaced tenant claim",
			token: rsaKey.sign(t, jwt.SigningMethodRS256, edit(baseClaims(now), func(c jwt.MapClaims) {
				c["iss"] = issNS
				c[nsClaim] = "acme-ns"
			})),
			want: Claims{Issuer: issNS, Subject: "user_1", Tenant: "acme-ns", ExpiresAt: exp},
		},
		{
			name: "expired",
			token: rsaKey.sign(t, jwt.SigningMethodRS256, edit(baseClaims(now), func(c jwt.MapClaims) {
				c["exp"] = now.Add(-2 * time.Minute).Unix()
			})),
			reason: "token expired",
		},
		{
			name: "missing exp",
			token: rsaKey.sign(t, jwt.SigningMethodRS256, edit(baseClaims(now), func(c jwt.MapClaims) {
				delete(c, "exp")
			})),
			reason: "missing exp claim",
		},
		{
			name: "nbf in the future",
			token: rsaKey.sign(t, jwt.SigningMethodRS256, edit(baseClaims(now), func(c jwt.MapClaims) {
				c["nbf"] = now.Add(5 * time.Minute).Unix()
			})),
			reason: "token not valid yet",
		},
		{
			name: "iat in the future",
			token: rsaKey.sign(t, jwt.SigningMethodRS256, edit(baseClaims(now), func(c jwt.MapClaims) {
				c["iat"] = now.Add(5 * time.Minute).Unix()
			})),
			reason: "token issued in the future",
		},
		{
			name:   "wrong issuer: clerk key claims the auth0 issuer",
			token:  clerkKey.sign(t, jwt.SigningMethodES256, baseClaims(now)),
			reason: "unknown signing key",
		},
		{
			name:   "wrong issuer: auth0 key claims the clerk issuer",
			token:  ecKey.sign(t, jwt.SigningMethodES256, clerkClaims(now)),
			reason: "unknown signing key",
		},
		{
			name: "unknown issuer",
			token: rsaKey.sign(t, jwt.SigningMethodRS256, edit(baseClaims(now), func(c jwt.MapClaims) {
				c["iss"] = "https://evil.example"
			})),
			reason: "unknown issuer",
		},
		{
			name: "issuer without its trailing slash",
			token: rsaKey.sign(t, jwt.SigningMethodRS256, edit(baseClaims(now), func(c jwt.MapClaims) {
				c["iss"] = strings.TrimSuffix(issAuth0, "/")
			})),
			reason: "unknown issuer",
		},
		{
			name: "missing iss",
			token: rsaKey.sign(t, jwt.SigningMethodRS256, edit(baseClaims(now), func(c jwt.MapClaims) {
				delete(c, "iss")
			})),
			reason: "unknown issuer",
		},
		{
			name: "wrong audience",
			token: rsaKey.sign(t, jwt.SigningMethodRS256, edit(baseClaims(now), func(c jwt.MapClaims) {
				c["aud"] = "https://unrelated.example"
			})),
			reason: "audience not accepted",
		},
		{
			name: "azp where only audiences are accepted",
			token: rsaKey.sign(t, jwt.SigningMethodRS256, edit(baseClaims(now), func(c jwt.MapClaims) {
				delete(c, "aud")
				c["azp"] = azpApp
			})),
			reason: "audience not accepted",
		},
		{
			name: "clerk-style with unknown azp",
			token: clerkKey.sign(t, jwt.SigningMethodES256, edit(clerkClaims(now), func(c jwt.MapClaims) {
				c["azp"] = "https://evil.example"
			})),
			reason: "audience not accepted",
		},
		{
			name:   "alg none",
			token:  unsigned(t, "none", baseClaims(now)),
			reason: "algorithm not allowed",
		},
		{
			name:   "alg None",
			token:  unsigned(t, "None", baseClaims(now)),
			reason: "algorithm not allowed",
		},
		{
			name:   "HS256 signed with the RSA public key",
			token:  hmacWithPublicKey(t, rsaKey, baseClaims(now)),
			reason: "algorithm not allowed",
		},
		{
			name:   "RS384 not pinned",
			token:  rsaKey.sign(t, jwt.SigningMethodRS384, baseClaims(now)),
			reason: "algorithm not allowed",
		},
		{
			name:   "RS256 where only ES256 is pinned",
			token:  rsaKey.sign(t, jwt.SigningMethodRS256, clerkClaims(now)),
			reason: "algorithm not allowed",
		},
		{
			name: "missing tenant claim",
			token: rsaKey.sign(t, jwt.SigningMethodRS256, edit(baseClaims(now), func(c jwt.MapClaims) {
				delete(c, "tenant_id")
			})),
			reason: "missing tenant claim tenant_id",
		},
		{
			name: "empty tenant claim",
			token: rsaKey.sign(t, jwt.SigningMethodRS256, edit(baseClaims(now), func(c jwt.MapClaims) {
				c["tenant_id"] = ""
			})),
			reason: "missing tenant claim tenant_id",
		},
		{
			name: "tenant claim not a string",
			token: rsaKey.sign(t, jwt.SigningMethodRS256, edit(baseClaims(now), func(c jwt.MapClaims) {
				c["tenant_id"] = 42
			})),
			reason: "missing tenant claim tenant_id",
		},
		{
			name: "missing nested tenant claim",
			token: clerkKey.sign(t, jwt.SigningMethodES256, edit(clerkClaims(now), func(c jwt.MapClaims) {
				c["org"] = map[string]any{"id": "org_1"}
			})),
			reason: "missing tenant claim org.slug",
		},
		{
			name:   "key not in the JWKS",
			token:  stray.sign(t, jwt.SigningMethodRS256, baseClaims(now)),
			reason: "unknown signing key",
		},
		{
			name:   "foreign key reusing a known kid",
			token:  stray.withKID("rsa-1").sign(t, jwt.SigningMethodRS256, baseClaims(now)),
			reason: "invalid signature",
		},
		{
			name: "tampered payload",
			token: swapPayload(t, valid, edit(baseClaims(now), func(c jwt.MapClaims) {
				c["tenant_id"] = "victim"
			})),
			reason: "invalid signature",
		},
		{name: "not a JWT", token: "clc_live_abc", reason: "malformed token"},
		{name: "undecodable parts", token: "a.b.c", reason: "malformed token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.Verify(t.Context(), tt.token)
			if tt.reason != "" {
				if !errors.Is(err, ErrInvalidToken) {
					t.Fatalf("Verify() error = %v, want ErrInvalidToken", err)
				}
				if want := "invalid token: " + tt.reason; err.Error() != want {
					t.Fatalf("Verify() error = %q, want %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify() error = %v", err)
			}
			if got.Issuer != tt.want.Issuer || got.Subject != tt.want.Subject || got.Tenant != tt.want.Tenant ||
				!got.ExpiresAt.Equal(tt.want.ExpiresAt) {
				t.Fatalf("Verify() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestKeyRotation(t *testing.T) {
	old := newRSAKey(t, "2024-01")
	srv := newJWKSServer(t, old)
	// A background refresh an hour away cannot explain what follows: only
	// the re-fetch an unknown kid forces can.
	v, err := newVerifier(t.Context(), []Issuer{{Issuer: issAuth0, JWKSURL: srv.url, Audiences: []string{audAPI}}},
		refresh{interval: time.Hour, unknownKID: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	verifyOK := func(tok string) {
		t.Helper()
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Fatalf("Verify() error = %v", err)
		}
	}
	oldToken := old.sign(t, jwt.SigningMethodRS256, baseClaims(now))
	verifyOK(oldToken)

	next := newRSAKey(t, "2025-01")
	srv.set(t, next)
	verifyOK(next.sign(t, jwt.SigningMethodRS256, baseClaims(now)))
	if _, err := v.Verify(t.Context(), oldToken); err == nil || err.Error() != "invalid token: unknown signing key" {
		t.Fatalf("Verify(retired key) error = %v, want unknown signing key", err)
	}

	third := newECKey(t, "2026-01")
	srv.set(t, third)
	verifyOK(third.sign(t, jwt.SigningMethodES256, baseClaims(now)))
}

func TestBackgroundRefreshDropsRevokedKey(t *testing.T) {
	old := newRSAKey(t, "2024-01")
	srv := newJWKSServer(t, old)
	v, err := newVerifier(t.Context(), []Issuer{{Issuer: issAuth0, JWKSURL: srv.url, Audiences: []string{audAPI}}},
		refresh{interval: 20 * time.Millisecond, unknownKID: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	tok := old.sign(t, jwt.SigningMethodRS256, baseClaims(time.Now()))
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Fatalf("Verify() error = %v", err)
	}
	srv.set(t, newRSAKey(t, "2025-01"))
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		_, err := v.Verify(t.Context(), tok)
		if err != nil {
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("Verify() error = %v, want ErrInvalidToken", err)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("revoked key still accepted after %d fetches", srv.fetches.Load())
		}
	}
}

func TestNewWithDefaults(t *testing.T) {
	key := newRSAKey(t, "rsa-1")
	srv := newJWKSServer(t, key)
	v, err := New(t.Context(), []Issuer{{Issuer: issAuth0, JWKSURL: srv.url, Audiences: []string{audAPI}}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.Verify(t.Context(), key.sign(t, jwt.SigningMethodRS256, baseClaims(time.Now())))
	if err != nil {
		t.Fatalf("Verify() error = %v", err)
	}
	if got.Tenant != "acme" {
		t.Fatalf("Verify() tenant = %q, want acme", got.Tenant)
	}
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times, want 1", n)
	}
}
