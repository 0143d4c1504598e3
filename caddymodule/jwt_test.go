package caddymodule

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// writeJWKS writes the public half of key as a one-key JWKS file.
func writeJWKS(t *testing.T, key *rsa.PrivateKey, kid string) string {
	t.Helper()
	b64 := base64.RawURLEncoding.EncodeToString
	jwks := map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
		"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes()),
	}}}
	data, err := json.Marshal(jwks)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestJWTBearer(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwks := writeJWKS(t, key, "k1")
	tc := startServer(t, t.TempDir(), "\t\tjwt_issuer https://issuer.test/ {\n\t\t\tjwks_file "+jwks+"\n\t\t\taudience contextlite\n\t\t\ttenant_claim tenant\n\t\t}\n")
	acme := signup(t, tc, "Acme")
	signup(t, tc, "Globex")

	sign := func(method jwt.SigningMethod, signKey any, claims jwt.MapClaims) string {
		tok := jwt.NewWithClaims(method, claims)
		tok.Header["kid"] = "k1"
		s, err := tok.SignedString(signKey)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	claims := func(iss, tenant string, exp time.Duration) jwt.MapClaims {
		return jwt.MapClaims{"iss": iss, "aud": "contextlite", "sub": "user-1", "tenant": tenant, "exp": time.Now().Add(exp).Unix()}
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	cases := []struct {
		name   string
		host   string
		token  string
		status int
	}{
		{"valid", acme.URL, sign(jwt.SigningMethodRS256, key, claims("https://issuer.test/", "acme", time.Hour)), 200},
		{"tenant by id", acme.URL, sign(jwt.SigningMethodRS256, key, claims("https://issuer.test/", acme.TenantID, time.Hour)), 200},
		{"other tenant's subdomain", tenantURL("globex"), sign(jwt.SigningMethodRS256, key, claims("https://issuer.test/", "acme", time.Hour)), 403},
		{"expired", acme.URL, sign(jwt.SigningMethodRS256, key, claims("https://issuer.test/", "acme", -time.Hour)), 401},
		{"wrong issuer", acme.URL, sign(jwt.SigningMethodRS256, key, claims("https://evil.test/", "acme", time.Hour)), 401},
		{"unknown tenant", acme.URL, sign(jwt.SigningMethodRS256, key, claims("https://issuer.test/", "nobody", time.Hour)), 401},
		{"alg none", acme.URL, sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims("https://issuer.test/", "acme", time.Hour)), 401},
		{"HS256 with the public key", acme.URL, sign(jwt.SigningMethodHS256, pubPEM, claims("https://issuer.test/", "acme", time.Hour)), 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", c.host+"/api/v1/documents", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+c.token)
			resp, err := tc.Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.status)
			}
		})
	}
}
