package caddymodule

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc/oidctest"
)

// testIdP is an OpenID Provider on loopback: discovery and JWKS, with
// its RSA key to sign tokens.
type testIdP struct {
	URL string
	key *rsa.PrivateKey
}

// startIdP starts an OpenID Provider for the test.
func startIdP(t *testing.T) testIdP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s := &oidctest.Server{
		PublicKeys: []oidctest.PublicKey{{PublicKey: key.Public(), KeyID: "idp-1", Algorithm: "RS256"}},
		Algorithms: []string{"RS256"},
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	s.SetIssuer(srv.URL)
	return testIdP{URL: srv.URL, key: key}
}

// token signs a JWT of the provider for aud that expires after exp.
func (p testIdP) token(t *testing.T, aud string, exp time.Duration) string {
	return p.tokenWith(t, p.key, aud, exp)
}

// tokenWith signs with key under the provider's key id.
func (p testIdP) tokenWith(t *testing.T, key *rsa.PrivateKey, aud string, exp time.Duration) string {
	t.Helper()
	claims, err := json.Marshal(map[string]any{"iss": p.URL, "sub": "alice", "aud": aud,
		"iat": time.Now().Unix(), "exp": time.Now().Add(exp).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	return oidctest.SignIDToken(key, "idp-1", "RS256", string(claims))
}

func TestEnterpriseSSO(t *testing.T) {
	t.Setenv("CONTEXTLITE_ADMIN_TOKEN", "op-token")
	t.Setenv("CONTEXTLITE_WEBHOOKS_ALLOW_PRIVATE", "true") // the IdP is on loopback
	dataDir := t.TempDir()
	tc := startServer(t, dataDir, "")
	setTier := func(id, tier string) {
		t.Helper()
		if status, body := operatorCall(t, tc.Client, "PUT", "/admin/v1/tenants/"+id+"/tier", "op-token", `{"tier": "`+tier+`"}`); status != http.StatusOK {
			t.Fatalf("set tier: %d %s", status, body)
		}
	}
	idp := startIdP(t)
	acme := signup(t, tc, "SSOCo")
	other := signup(t, tc, "SSOOther")
	base := acme.URL + "/api/v1"
	body := map[string]string{"issuer": idp.URL, "client_id": "console-app", "client_secret": "s3cret", "audience": "contextlite-api"}

	// Free tier: 403 upgrade_required on every SSO route.
	var e errorCode
	call(t, tc, "PUT", base+"/sso", acme.APIKey, body, http.StatusForbidden, &e)
	if e.Error.Code != "upgrade_required" {
		t.Fatalf("free tier PUT: %+v", e)
	}
	setTier(acme.TenantID, "enterprise")
	setTier(other.TenantID, "enterprise")
	call(t, tc, "GET", base+"/sso", acme.APIKey, nil, http.StatusNotFound, &e)

	// Bad configurations are 422 with a code naming the problem.
	bad := []struct {
		name, code string
		edit       func(map[string]string)
	}{
		{"plain http off loopback", "invalid_issuer", func(b map[string]string) { b["issuer"] = "http://idp.example.com" }},
		{"not a URL", "invalid_issuer", func(b map[string]string) { b["issuer"] = "idp" }},
		{"no discovery document", "issuer_unreachable", func(b map[string]string) { b["issuer"] = idp.URL + "/nothing" }},
		{"another issuer discovered", "issuer_mismatch", func(b map[string]string) { b["issuer"] = idp.URL + "/" }},
		{"no client id", "invalid_request", func(b map[string]string) { b["client_id"] = "" }},
		{"no client secret", "invalid_request", func(b map[string]string) { b["client_secret"] = "" }},
	}
	for _, c := range bad {
		b := map[string]string{}
		for k, v := range body {
			b[k] = v
		}
		c.edit(b)
		call(t, tc, "PUT", base+"/sso", acme.APIKey, b, http.StatusUnprocessableEntity, &e)
		if e.Error.Code != c.code {
			t.Errorf("%s: %+v, want %s", c.name, e, c.code)
		}
	}

	// Set: the answer never holds the secret.
	resp, data := rawCall(t, tc, "PUT", base+"/sso", acme.APIKey, mustJSON(t, body))
	if resp.StatusCode != http.StatusOK || strings.Contains(string(data), "s3cret") {
		t.Fatalf("PUT /sso = %d %s", resp.StatusCode, data)
	}
	var got struct {
		Object, Issuer, ClientID, Audience string
		ClientSecretSet                    bool `json:"client_secret_set"`
		Enabled                            bool
	}
	call(t, tc, "GET", base+"/sso", acme.APIKey, nil, http.StatusOK, &got)
	if got.Object != "sso_config" || got.Issuer != idp.URL || !got.ClientSecretSet || !got.Enabled {
		t.Fatalf("GET /sso = %+v", got)
	}
	var audit struct {
		Data []struct{ Action, Target string } `json:"data"`
	}
	call(t, tc, "GET", base+"/audit", acme.APIKey, nil, http.StatusOK, &audit)
	if n := len(audit.Data); n == 0 || audit.Data[n-1].Action != "settings.sso" || audit.Data[n-1].Target != idp.URL {
		t.Fatalf("audit = %+v", audit.Data)
	}

	// The IdP's tokens for the audience read the tenant's documents.
	call(t, tc, "POST", base+"/documents", acme.APIKey, map[string]string{"path": "sso.md", "content": "single sign-on works"}, http.StatusCreated, nil)
	good := idp.token(t, "contextlite-api", time.Hour)
	req, err := http.NewRequest("GET", base+"/documents", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+good)
	resp, err = tc.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(data), `"sso.md"`) {
		t.Fatalf("good token: %d %s", resp.StatusCode, data)
	}
	if st, _ := bearerCall(t, tc, testBase+"/api/v1/documents", good); st != http.StatusOK {
		t.Fatalf("good token on the apex: %d", st)
	}
	// Read and write, not admin.
	if st, code := bearerCall(t, tc, base+"/keys", good); st != http.StatusForbidden {
		t.Fatalf("SSO token on an admin route: %d %s", st, code)
	}
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	refused := []struct {
		name, url, token string
		status           int
		code             string
	}{
		{"wrong audience", base, idp.token(t, "console-app", time.Hour), 401, "invalid_token"},
		{"expired", base, idp.token(t, "contextlite-api", -time.Hour), 401, "invalid_token"},
		{"signed by another key", base, idp.tokenWith(t, otherKey, "contextlite-api", time.Hour), 401, "invalid_token"},
		{"another tenant's host", other.URL + "/api/v1", good, 403, "tenant_mismatch"},
	}
	for _, c := range refused {
		if st, code := bearerCall(t, tc, c.url+"/documents", c.token); st != c.status || code != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.name, st, code, c.status, c.code)
		}
	}

	// A downgrade stops acceptance.
	setTier(acme.TenantID, "pro")
	if st, code := bearerCall(t, tc, base+"/documents", good); st != http.StatusForbidden || code != "upgrade_required" {
		t.Fatalf("token of a downgraded tenant: %d %s", st, code)
	}
	setTier(acme.TenantID, "enterprise")

	// The client secret is in no log.
	if log, err := os.ReadFile(accessLogPath(dataDir)); err != nil || strings.Contains(string(log), "s3cret") {
		t.Fatalf("access log: %v, or it holds the client secret", err)
	}

	// DELETE stops acceptance at once.
	call(t, tc, "DELETE", base+"/sso", acme.APIKey, nil, http.StatusNoContent, nil)
	if st, code := bearerCall(t, tc, base+"/documents", good); st != http.StatusUnauthorized || code != "invalid_token" {
		t.Fatalf("token after DELETE: %d %s", st, code)
	}
	call(t, tc, "DELETE", base+"/sso", acme.APIKey, nil, http.StatusNotFound, nil)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
