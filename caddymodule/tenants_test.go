package caddymodule

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/golang-jwt/jwt/v5"
	"github.com/spf13/cobra"

	"github.com/contextlite/cloud/admin"
)

// Company names with control characters, and ones whose slug would read
// as a tenant id, are refused with 422 invalid_company.
func TestSignupRefusesBadCompanyNames(t *testing.T) {
	tc := startServer(t, t.TempDir(), "")
	for _, company := range []string{"Acme\nInc", "Acme\x1b[31mInc", "Acme\u0085Inc", "3F2504E0-4F89-41D3-9A0C-0305E82C3301"} {
		var e errorCode
		call(t, tc, "POST", testBase+"/signup", "", map[string]string{"email": "ops@acme.test", "company": company}, http.StatusUnprocessableEntity, &e)
		if e.Error.Code != "invalid_company" {
			t.Errorf("signup of %q: %+v, want invalid_company", company, e)
		}
	}
}

// bearerCall sends a GET with an Authorization: Bearer token and returns
// the status and the error code of the answer.
func bearerCall(t *testing.T, tc *caddytest.Tester, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := tc.Client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var e errorCode
	json.NewDecoder(resp.Body).Decode(&e)
	return resp.StatusCode, e.Error.Code
}

// Suspending and reactivating a tenant through the operator API applies
// to its JWT callers at the next request, not after the tenant cache's
// 30 s; a suspended tenant whose certificate was never issued still gets
// one, and its callers read 403 tenant_suspended instead of a TLS alert.
func TestSuspensionReachesJWTCallersAndTLSAtOnce(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwks := writeJWKS(t, key, "k1")
	t.Setenv("CONTEXTLITE_ADMIN_TOKEN", "op-secret-token")
	tc := startServer(t, t.TempDir(), "\t\tjwt_issuer https://issuer.test/ {\n\t\t\tjwks_file "+jwks+"\n\t\t\taudience contextlite\n\t\t\ttenant_claim tenant\n\t\t}\n")
	acme := signup(t, tc, "JwtCo")
	sleepy := signup(t, tc, "SleepyCo") // never called: no certificate yet
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": "https://issuer.test/", "aud": "contextlite",
		"sub": "user-1", "tenant": acme.Slug, "exp": time.Now().Add(time.Hour).Unix()})
	tok.Header["kid"] = "k1"
	token, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	usage := acme.URL + "/api/v1/usage"
	setStatus := func(id, status string) {
		t.Helper()
		if code, body := operatorCall(t, tc.Client, "PUT", "/admin/v1/tenants/"+id+"/status", "op-secret-token", `{"status": "`+status+`"}`); code != http.StatusOK {
			t.Fatalf("set status %s: %d %s", status, code, body)
		}
	}

	if status, code := bearerCall(t, tc, usage, token); status != http.StatusOK {
		t.Fatalf("JWT caller before suspension: %d %s", status, code)
	}
	setStatus(acme.TenantID, "suspended")
	if status, code := bearerCall(t, tc, usage, token); status != http.StatusForbidden || code != "tenant_suspended" {
		t.Fatalf("JWT caller right after suspension: %d %s, want 403 tenant_suspended", status, code)
	}
	setStatus(acme.TenantID, "active")
	if status, code := bearerCall(t, tc, usage, token); status != http.StatusOK {
		t.Fatalf("JWT caller right after reactivation: %d %s, want 200", status, code)
	}

	setStatus(sleepy.TenantID, "suspended")
	var e errorCode
	call(t, tc, "GET", sleepy.URL+"/api/v1/usage", sleepy.APIKey, nil, http.StatusForbidden, &e)
	if e.Error.Code != "tenant_suspended" {
		t.Fatalf("suspended tenant's first handshake and call: %+v, want tenant_suspended", e)
	}
	setStatus(sleepy.TenantID, "active")
	call(t, tc, "GET", sleepy.URL+"/api/v1/usage", sleepy.APIKey, nil, http.StatusOK, nil)
}

// The operator API names tenants by slug as well as by id.
func TestOperatorAPIAcceptsSlugs(t *testing.T) {
	t.Setenv("CONTEXTLITE_ADMIN_TOKEN", "op-secret-token")
	tc := startServer(t, t.TempDir(), "")
	acme := signup(t, tc, "SlugOpCo")
	var got struct {
		ID     string `json:"id"`
		Tier   string `json:"tier"`
		Status string `json:"status"`
	}
	for _, ref := range []string{acme.TenantID, acme.Slug} {
		status, body := operatorCall(t, tc.Client, "GET", "/admin/v1/tenants/"+ref, "op-secret-token", "")
		if err := json.Unmarshal(body, &got); status != http.StatusOK || err != nil || got.ID != acme.TenantID {
			t.Fatalf("GET tenant %q: %d %s", ref, status, body)
		}
	}
	status, body := operatorCall(t, tc.Client, "PUT", "/admin/v1/tenants/"+acme.Slug+"/tier", "op-secret-token", `{"tier": "pro"}`)
	if err := json.Unmarshal(body, &got); status != http.StatusOK || err != nil || got.ID != acme.TenantID || got.Tier != "pro" {
		t.Fatalf("set tier by slug: %d %s", status, body)
	}
	status, body = operatorCall(t, tc.Client, "PUT", "/admin/v1/tenants/"+acme.Slug+"/status", "op-secret-token", `{"status": "suspended"}`)
	if err := json.Unmarshal(body, &got); status != http.StatusOK || err != nil || got.Status != "suspended" {
		t.Fatalf("suspend by slug: %d %s", status, body)
	}
	var e errorCode
	call(t, tc, "GET", acme.URL+"/api/v1/usage", acme.APIKey, nil, http.StatusForbidden, &e)
	if e.Error.Code != "tenant_suspended" {
		t.Fatalf("after suspension by slug: %+v", e)
	}
	if status, body := operatorCall(t, tc.Client, "PUT", "/admin/v1/tenants/no-such-slug/status", "op-secret-token", `{"status": "active"}`); status != http.StatusNotFound {
		t.Fatalf("unknown slug: %d %s", status, body)
	}
}

// runCommand runs a subcommand tree set up by setup (as the binary's
// `contextlite <name>` would) with args, and returns what it printed on stdout.
func runCommand(t *testing.T, setup func(*cobra.Command), args ...string) (string, error) {
	t.Helper()
	root := &cobra.Command{Use: "contextlite-test", SilenceUsage: true, SilenceErrors: true}
	setup(root)
	var out, notes bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&notes) // notes such as "the server was not told"
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

// `contextlite tenant create` refuses a second tenant with the same email
// unless --force is given.
func TestTenantCreateRefusesDuplicateEmail(t *testing.T) {
	dir := t.TempDir()
	create := func(company string, extra ...string) (string, error) {
		return runCommand(t, tenantCommands, append([]string{"create", "--data-dir", dir, "--dsn", "",
			"--email", "ops@dup.test", "--company", company}, extra...)...)
	}
	if out, err := create("DupCo"); err != nil {
		t.Fatalf("first tenant: %v\n%s", err, out)
	}
	out, err := create("DupCo Two")
	if !errors.Is(err, admin.ErrEmailTaken) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("second tenant with the email: %v\n%s", err, out)
	}
	if out, err := create("DupCo Two", "--force"); err != nil || !strings.Contains(out, `"slug": "dupco-two"`) {
		t.Fatalf("forced: %v\n%s", err, out)
	}
}

// `contextlite restore --tenant` takes a slug as well as an id.
func TestRestoreTenantBySlug(t *testing.T) {
	dir, backupDir := t.TempDir(), filepath.Join(t.TempDir(), "b1")
	out, err := runCommand(t, tenantCommands, "create", "--data-dir", dir, "--dsn", "", "--email", "ops@restoreco.test", "--company", "RestoreCo")
	if err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	var created struct {
		Tenant struct {
			ID string `json:"id"`
		} `json:"tenant"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatal(err)
	}
	commands := caddycmd.Commands()
	if out, err := runCommand(t, commands["backup"].CobraFunc, "--data-dir", dir, "--to", backupDir); err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	db := filepath.Join(dir, "tenants", created.Tenant.ID, "context.db")
	if err := os.Remove(db); err != nil {
		t.Fatal(err)
	}
	restore := func(tenant string) (string, error) {
		return runCommand(t, commands["restore"].CobraFunc, "--data-dir", dir, "--dsn", "", "--from", backupDir, "--tenant", tenant)
	}
	if out, err := restore("no-such-slug"); err == nil || !strings.Contains(err.Error(), "no-such-slug") {
		t.Fatalf("restore of an unknown slug: %v\n%s", err, out)
	}
	if out, err := restore("restoreco"); err != nil {
		t.Fatalf("restore by slug: %v\n%s", err, out)
	}
	if _, err := os.Stat(db); err != nil {
		t.Fatalf("tenant database not restored: %v", err)
	}
	if out, err := restore(created.Tenant.ID); err != nil {
		t.Fatalf("restore by id: %v\n%s", err, out)
	}
}
