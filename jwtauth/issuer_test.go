package jwtauth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNewValidatesConfig(t *testing.T) {
	key := newRSAKey(t, "rsa-1")
	url := newJWKSServer(t, key).url
	file := jwksFile(t, key)
	empty := jwksFile(t)
	garbage := filepath.Join(t.TempDir(), "garbage.json")
	if err := os.WriteFile(garbage, []byte("not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	ok := Issuer{Issuer: issAuth0, JWKSURL: url, Audiences: []string{audAPI}}
	with := func(f func(*Issuer)) Issuer {
		iss := ok
		f(&iss)
		return iss
	}
	tests := []struct {
		name    string
		issuers []Issuer
		wantErr string // "" for success
	}{
		{"url", []Issuer{ok}, ""},
		{"file", []Issuer{with(func(i *Issuer) { i.JWKSURL, i.JWKSFile = "", file })}, ""},
		{"authorized parties only", []Issuer{with(func(i *Issuer) { i.Audiences, i.AuthorizedParties = nil, []string{azpApp} })}, ""},
		{"every supported algorithm", []Issuer{with(func(i *Issuer) {
			i.Algorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
		})}, ""},
		{"no issuers", nil, "no issuers"},
		{"missing issuer", []Issuer{with(func(i *Issuer) { i.Issuer = "" })}, "issuers[0]: issuer is required"},
		{"no JWKS", []Issuer{with(func(i *Issuer) { i.JWKSURL = "" })}, "exactly one of jwks_url and jwks_file"},
		{"both JWKS", []Issuer{with(func(i *Issuer) { i.JWKSFile = file })}, "exactly one of jwks_url and jwks_file"},
		{"no audience or party", []Issuer{with(func(i *Issuer) { i.Audiences = nil })}, "at least one of audiences and authorized_parties"},
		{"empty audience", []Issuer{with(func(i *Issuer) { i.Audiences = []string{audAPI, ""} })}, "empty audience"},
		{"empty authorized party", []Issuer{with(func(i *Issuer) { i.AuthorizedParties = []string{""} })}, "empty authorized party"},
		{"HS256", []Issuer{with(func(i *Issuer) { i.Algorithms = []string{"RS256", "HS256"} })}, `algorithm "HS256" is not supported`},
		{"none", []Issuer{with(func(i *Issuer) { i.Algorithms = []string{"none"} })}, `algorithm "none" is not supported`},
		{"unknown algorithm", []Issuer{with(func(i *Issuer) { i.Algorithms = []string{"rs256"} })}, `algorithm "rs256" is not supported`},
		{"negative leeway", []Issuer{with(func(i *Issuer) { i.Leeway = -time.Second })}, "leeway must not be negative"},
		{"plain http to a remote host", []Issuer{with(func(i *Issuer) { i.JWKSURL = "http://idp.example.com/jwks.json" })}, "must be https"},
		{"other scheme", []Issuer{with(func(i *Issuer) { i.JWKSURL = "ftp://idp.example.com/jwks.json" })}, "must be https"},
		{"relative url", []Issuer{with(func(i *Issuer) { i.JWKSURL = "jwks.json" })}, "missing host"},
		{"duplicate issuer", []Issuer{ok, ok}, `issuers[1]: duplicate issuer`},
		{"missing file", []Issuer{with(func(i *Issuer) { i.JWKSURL, i.JWKSFile = "", filepath.Join(t.TempDir(), "nope.json") })}, "jwks_file"},
		{"file without keys", []Issuer{with(func(i *Issuer) { i.JWKSURL, i.JWKSFile = "", empty })}, "no keys"},
		{"file not JSON", []Issuer{with(func(i *Issuer) { i.JWKSURL, i.JWKSFile = "", garbage })}, "jwks_file"},
		{"second issuer invalid", []Issuer{ok, with(func(i *Issuer) { i.Issuer, i.Audiences = issClerk, nil })}, "issuers[1]: at least one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := newVerifier(t.Context(), tt.issuers, fastRefresh())
			if tt.wantErr == "" {
				if err != nil || v == nil {
					t.Fatalf("newVerifier() = %v, %v; want a Verifier", v, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("newVerifier() error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestCheckJWKSURL(t *testing.T) {
	tests := []struct {
		url  string
		want bool
	}{
		{"https://acme.auth0.example/.well-known/jwks.json", true},
		{"http://localhost:8080/jwks", true},
		{"http://127.0.0.1:8080/jwks", true},
		{"http://[::1]:8080/jwks", true},
		{"http://idp.example.com/jwks", false},
		{"http://localhost.example.com/jwks", false},
		{"https:///jwks", false},
		{"://bad", false},
	}
	for _, tt := range tests {
		if err := checkJWKSURL(tt.url); (err == nil) != tt.want {
			t.Errorf("checkJWKSURL(%q) = %v, want ok %v", tt.url, err, tt.want)
		}
	}
}

func TestDefaults(t *testing.T) {
	got := Issuer{}.withDefaults()
	if got.TenantClaim != "tenant_id" || got.Leeway != 30*time.Second ||
		strings.Join(got.Algorithms, ",") != "RS256,ES256" {
		t.Fatalf("withDefaults() = %+v", got)
	}
	set := Issuer{TenantClaim: "org.slug", Leeway: time.Second, Algorithms: []string{"PS256"}}.withDefaults()
	if set.TenantClaim != "org.slug" || set.Leeway != time.Second || strings.Join(set.Algorithms, ",") != "PS256" {
		t.Fatalf("withDefaults() overrode settings: %+v", set)
	}
}
