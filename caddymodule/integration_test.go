package caddymodule

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/contextlite/cloud/internal/pgtest"

	_ "github.com/caddyserver/caddy/v2/modules/standard"
	_ "github.com/mholt/caddy-ratelimit"
)

// signupsPerMinute is the per-IP signup limit of the tests; every signup
// of the package counts against it.
var signupsPerMinute = "1000"

// consoleLogins is the per-IP console login limit of the tests.
var consoleLogins = "1000"

// ipBurst and ipWindow are the per-IP API request limit of the tests.
var ipBurst, ipWindow = "1000", "1s"

// startServer loads the root Caddyfile, with extra global contextlite
// settings, into the in-process Caddy and returns its tester.
func startServer(t *testing.T, dataDir, extra string) *caddytest.Tester {
	t.Helper()
	return startServerWith(t, dataDir, "", extra)
}

// startServerWith is startServer with a control-plane DSN (empty: SQLite).
func startServerWith(t *testing.T, dataDir, dsn, extra string) *caddytest.Tester {
	t.Helper()
	return startServerEdited(t, dataDir, dsn, extra)
}

// startServerEdited is startServerWith on the root Caddyfile changed by
// edits, pairs of a text it must contain and its replacement.
func startServerEdited(t *testing.T, dataDir, dsn, extra string, edits ...string) *caddytest.Tester {
	t.Helper()
	config := testConfig(t, dataDir, dsn, extra, edits...)
	tester := caddytest.NewTester(t)
	tester.InitServer(config, "caddyfile")
	t.Cleanup(func() { resetZones(tester) })
	waitForCertificates(t, tester)
	return tester
}

// testConfig returns the root Caddyfile changed by edits with extra global
// contextlite settings, and sets the environment it reads.
func testConfig(t *testing.T, dataDir, dsn, extra string, edits ...string) string {
	t.Helper()
	raw, err := os.ReadFile("../Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(edits); i += 2 {
		if !strings.Contains(string(raw), edits[i]) {
			t.Fatalf("the Caddyfile has no %q", edits[i])
		}
		raw = []byte(strings.Replace(string(raw), edits[i], edits[i+1], 1))
	}
	for k, v := range map[string]string{
		"CONTEXTLITE_ADMIN": testAdminAddr, "CONTEXTLITE_DATA": dataDir, "CONTEXTLITE_DOMAIN": "localhost",
		"CONTEXTLITE_HTTP_PORT": testHTTPPort, "CONTEXTLITE_HTTPS_PORT": testHTTPSPort, "CONTEXTLITE_SIGNUPS_PER_MINUTE": signupsPerMinute, "CONTEXTLITE_CONSOLE_BURST": "1000", "CONTEXTLITE_CONSOLE_LOGINS": consoleLogins,
		"CONTEXTLITE_DATABASE_URL": dsn, "CONTEXTLITE_IP_BURST": ipBurst, "CONTEXTLITE_IP_WINDOW": ipWindow, "CONTEXTLITE_USAGE_SHIP_INTERVAL": "100ms",
		"CONTEXTLITE_ACCESS_LOG": "file " + accessLogPath(dataDir),
	} {
		t.Setenv(k, v)
	}
	return strings.Replace(string(raw), "\tcontextlite {\n", "\tcontextlite {\n"+extra, 1)
}

// accessLogPath is where the access log of a test server on dataDir goes.
func accessLogPath(dataDir string) string { return filepath.Join(dataDir, "access.log") }

// waitForCertificates waits until the server answers TLS handshakes.
func waitForCertificates(t *testing.T, tc *caddytest.Tester) {
	t.Helper()
	var err error
	for range 100 {
		var resp *http.Response
		for _, url := range []string{testBase + "/"} {
			if resp, err = tc.Client.Get(url); err != nil {
				break
			}
			resp.Body.Close()
		}
		if err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("certificates not ready: %v", err)
}

// call sends a JSON request and decodes the JSON answer into out (if not nil).
func call(t *testing.T, tc *caddytest.Tester, method, url, key string, body any, wantStatus int, out any) http.Header {
	t.Helper()
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	resp, data := rawCall(t, tc, method, url, key, string(raw))
	if resp.StatusCode != wantStatus {
		t.Fatalf("%s %s = %d %s, want %d", method, url, resp.StatusCode, data, wantStatus)
	}
	if ct := resp.Header.Get("Content-Type"); len(data) > 0 && !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s %s: Content-Type %q, body %s", method, url, ct, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, url, err, data)
		}
	}
	return resp.Header
}

// rawCall sends a request with a JSON body (none when empty) and returns
// the response with its body read.
func rawCall(t *testing.T, tc *caddytest.Tester, method, url, key, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	resp, err := tc.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

// errorCode is the JSON shape of every error.
type errorCode struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

type signedUp struct {
	TenantID   string `json:"tenant_id"`
	Slug       string `json:"slug"`
	APIKey     string `json:"api_key"`
	URL        string `json:"url"`
	Quickstart string `json:"quickstart"`
}

func signup(t *testing.T, tc *caddytest.Tester, company string) signedUp {
	t.Helper()
	var s signedUp
	call(t, tc, "POST", testBase+"/signup", "", map[string]string{"email": "ops@" + strings.ToLower(company) + ".test", "company": company}, http.StatusCreated, &s)
	if s.APIKey == "" || s.Slug == "" || !strings.Contains(s.Quickstart, s.APIKey) {
		t.Fatalf("signup = %+v", s)
	}
	return s
}

func tenantURL(slug string) string { return "https://" + slug + ".localhost:" + testHTTPSPort }

// TestSignupDocumentsAssemble runs the main flow on each control plane.
func TestSignupDocumentsAssemble(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { signupFlow(t, startServer(t, t.TempDir(), "")) })
	t.Run("postgres", func(t *testing.T) { signupFlow(t, startServerWith(t, t.TempDir(), pgtest.DSN(t), "")) })
}

func signupFlow(t *testing.T, tc *caddytest.Tester) {
	acme := signup(t, tc, "Acme")
	if acme.URL != tenantURL(acme.Slug) {
		t.Fatalf("url = %q, want %q", acme.URL, tenantURL(acme.Slug))
	}
	base := acme.URL + "/api/v1"
	var created struct {
		ID string `json:"id"`
	}
	doc := map[string]string{"path": "billing/invoice.go", "content": "package billing\n\n// SendInvoice mails an invoice to the customer.\nfunc SendInvoice(id string) error { return nil }\n"}
	call(t, tc, "POST", base+"/documents", acme.APIKey, doc, http.StatusCreated, &created)
	var got struct {
		Content string `json:"content"`
	}
	call(t, tc, "GET", base+"/documents/"+created.ID, acme.APIKey, nil, http.StatusOK, &got)
	if got.Content != doc["content"] {
		t.Fatalf("content = %q", got.Content)
	}
	var ctx struct {
		Documents []struct {
			ID, Path, Content string
		} `json:"documents"`
		TotalTokens int  `json:"total_tokens"`
		CacheHit    bool `json:"cache_hit"`
	}
	call(t, tc, "POST", base+"/context/assemble", acme.APIKey, map[string]any{"query": "send invoice", "max_tokens": 100000}, http.StatusOK, &ctx)
	if len(ctx.Documents) != 1 || ctx.Documents[0].Path != doc["path"] || ctx.TotalTokens == 0 {
		t.Fatalf("assemble = %+v", ctx)
	}

	// The credential decides the tenant; another tenant's subdomain is refused.
	globex := signup(t, tc, "Globex")
	var e errorCode
	call(t, tc, "GET", base+"/documents/"+created.ID, globex.APIKey, nil, http.StatusForbidden, &e)
	if e.Error.Code != "tenant_mismatch" {
		t.Fatalf("mismatch code = %q", e.Error.Code)
	}
	// On its own subdomain, Globex does not see Acme's document.
	call(t, tc, "GET", globex.URL+"/api/v1/documents/"+created.ID, globex.APIKey, nil, http.StatusNotFound, &e)
}

func TestAuthErrorsAreJSON(t *testing.T) {
	tc := startServer(t, t.TempDir(), "")
	acme := signup(t, tc, "Acme")
	base := acme.URL + "/api/v1"
	checks := []struct {
		name, method, url, key string
		status                 int
		code                   string
	}{
		{"no key", "GET", base + "/documents", "", 401, "missing_credentials"},
		{"malformed key", "GET", base + "/documents", "clc_live_nope", 401, "invalid_credentials"},
		{"unknown route", "GET", base + "/nope", acme.APIKey, 404, "not_found"},
		{"no route at all", "GET", acme.URL + "/elsewhere", "", 404, "not_found"},
		{"wrong method", "PUT", base + "/documents", acme.APIKey, 405, "method_not_allowed"},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			var e errorCode
			call(t, tc, c.method, c.url, c.key, nil, c.status, &e)
			if e.Error.Code != c.code {
				t.Fatalf("code = %q, want %q", e.Error.Code, c.code)
			}
		})
	}
	t.Run("body too large", func(t *testing.T) {
		big := map[string]string{"path": "big.txt", "content": strings.Repeat("x", 21<<20)}
		var e errorCode
		call(t, tc, "POST", base+"/documents", acme.APIKey, big, http.StatusRequestEntityTooLarge, &e)
		if e.Error.Code != "too_large" {
			t.Fatalf("code = %q", e.Error.Code)
		}
	})
}

func TestKeysRevokeAndRotate(t *testing.T) {
	tc := startServer(t, t.TempDir(), "")
	acme := signup(t, tc, "Acme")
	base := acme.URL + "/api/v1"
	var made struct {
		ID  string `json:"id"`
		Key string `json:"key"`
	}
	call(t, tc, "POST", base+"/keys", acme.APIKey, map[string]any{"name": "ci", "scopes": []string{"read"}}, http.StatusCreated, &made)
	call(t, tc, "GET", base+"/documents", made.Key, nil, http.StatusOK, nil)
	var e errorCode
	call(t, tc, "POST", base+"/keys", made.Key, map[string]any{"name": "x"}, http.StatusForbidden, &e)
	if e.Error.Code != "insufficient_scope" {
		t.Fatalf("read key creating a key: code %q", e.Error.Code)
	}

	var rotated struct {
		Key string `json:"key"`
	}
	call(t, tc, "POST", base+"/keys/"+made.ID+"/rotate", acme.APIKey, map[string]any{"grace_seconds": 0}, http.StatusCreated, &rotated)
	call(t, tc, "GET", base+"/documents", rotated.Key, nil, http.StatusOK, nil)
	call(t, tc, "GET", base+"/documents", made.Key, nil, http.StatusUnauthorized, &e)
	if e.Error.Code != "key_expired" {
		t.Fatalf("rotated-out key: code %q", e.Error.Code)
	}

	var keys struct {
		Keys []struct {
			ID     string `json:"id"`
			Prefix string `json:"prefix"`
		} `json:"data"`
	}
	call(t, tc, "GET", base+"/keys", acme.APIKey, nil, http.StatusOK, &keys)
	for _, k := range keys.Keys {
		if k.Prefix != rotated.Key[:len(k.Prefix)] {
			continue
		}
		call(t, tc, "DELETE", base+"/keys/"+k.ID, acme.APIKey, nil, http.StatusNoContent, nil)
	}
	call(t, tc, "GET", base+"/documents", rotated.Key, nil, http.StatusUnauthorized, &e)
	if e.Error.Code != "key_revoked" {
		t.Fatalf("revoked key: code %q", e.Error.Code)
	}
}

// sharedStates returns the engine and control-plane states in the pool.
func sharedStates() []*shared {
	var out []*shared
	pool.Range(func(_, v any) bool {
		out = append(out, v.(*shared))
		return true
	})
	return out
}

func TestReloadKeepsSharedState(t *testing.T) {
	dir := t.TempDir()
	tc := startServer(t, dir, "")
	acme := signup(t, tc, "Acme")
	before := sharedStates()
	if len(before) != 1 {
		t.Fatalf("%d shared states before reload, want 1", len(before))
	}
	// A changed config on the same data dir and control plane.
	startServer(t, dir, "\t\tstorage_limit 2GiB\n")
	after := sharedStates()
	if len(after) != 1 || after[0] != before[0] {
		t.Fatalf("reload replaced the shared state: %p -> %v", before[0], after)
	}
	var refs []int
	pool.Range(func(key, _ any) bool {
		n, _ := pool.References(key)
		refs = append(refs, n)
		return true
	})
	if len(refs) != 1 || refs[0] != 1 {
		t.Fatalf("pool references after reload = %v, want [1]", refs)
	}
	call(t, tc, "GET", acme.URL+"/api/v1/documents", acme.APIKey, nil, http.StatusOK, nil)
}

// TestReloadRefusesRestartOnlySettings checks that a reload changing a
// setting of the shared state, which only a restart applies, is refused
// and leaves the running config serving.
func TestReloadRefusesRestartOnlySettings(t *testing.T) {
	dir := t.TempDir()
	tc := startServer(t, dir, "")
	acme := signup(t, tc, "ReloadCo")
	cases := []struct {
		setting, extra string
		env            [2]string
		edits          []string
	}{
		{setting: "max_open_tenants", extra: "\t\tmax_open_tenants 50\n"},
		{setting: "usage_ship_interval", edits: []string{"usage_ship_interval {$CONTEXTLITE_USAGE_SHIP_INTERVAL:2s}", "usage_ship_interval 5s"}},
		{setting: "allow_private_webhooks", env: [2]string{"CONTEXTLITE_WEBHOOKS_ALLOW_PRIVATE", "true"}},
		{setting: "tier free retention", extra: "\t\ttier free {\n\t\t\tretention 7d\n\t\t}\n"},
	}
	for _, c := range cases {
		t.Run(c.setting, func(t *testing.T) {
			if c.env[0] != "" {
				t.Setenv(c.env[0], c.env[1])
			}
			config := testConfig(t, dir, "", c.extra, c.edits...)
			status, body := adminCall(t, "POST", "/load", "text/caddyfile", config)
			if status == http.StatusOK || !strings.Contains(string(body), c.setting) || !strings.Contains(string(body), "restart") {
				t.Fatalf("reload changing %s: %d %s", c.setting, status, body)
			}
			call(t, tc, "GET", acme.URL+"/api/v1/documents", acme.APIKey, nil, http.StatusOK, nil)
		})
	}
}

// adminCall sends a request to Caddy's admin endpoint and returns the
// status and body. Each call has its own connection: a config load
// restarts the endpoint, closing kept-alive ones.
func adminCall(t *testing.T, method, path, contentType, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+testAdminAddr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// resetZones loads a config without rate-limit zones: caddy-ratelimit
// keeps a zone's limiters while any config uses it, so the next test
// starts with fresh ones. It also closes the shared state.
func resetZones(tc *caddytest.Tester) {
	tc.InitServer("{\n\tadmin "+testAdminAddr+"\n}\n", "caddyfile")
}

func TestSignupRateLimited(t *testing.T) {
	signupsPerMinute = "3"
	t.Cleanup(func() { signupsPerMinute = "1000" })
	tc := startServer(t, t.TempDir(), "")
	for i := range 5 {
		req, err := http.NewRequest("POST", testBase+"/signup", strings.NewReader(`{"email": "a@b.test", "company": "Limit Co"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := tc.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e errorCode
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			if e.Error.Code != "rate_limited" || resp.Header.Get("Retry-After") == "" {
				t.Fatalf("429 with code %q, Retry-After %q", e.Error.Code, resp.Header.Get("Retry-After"))
			}
			return
		}
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("signup %d: status %d", i, resp.StatusCode)
		}
	}
	t.Fatal("5 signups in a row from one address were all accepted, limit 3 a minute")
}
