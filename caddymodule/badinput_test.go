package caddymodule

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/contextlite/cloud/tenancy"
)

// badInput is one request the API must refuse with a JSON 4xx error.
type badInput struct {
	name         string
	method, path string // path below the tenant's URL, or the apex's for /signup
	body         string
	header       map[string]string // replaces the admin key when it sets one
}

// TestBadInputIsJSON4xx sends every bad input through the real server and
// checks that each gets a 4xx JSON error with a code and that none of them
// stored anything: documents, workspaces, keys, tenants and the webhook
// are unchanged afterwards.
func TestBadInputIsJSON4xx(t *testing.T) {
	t.Setenv("CONTEXTLITE_ADMIN_TOKEN", "op-secret-token")
	tc := startServer(t, t.TempDir(), "")
	acme := signup(t, tc, "BadInputCo")
	// Enterprise: no stored-data limits, and a rate limit these requests stay under.
	if status, body := operatorCall(t, tc.Client, "PUT", "/admin/v1/tenants/"+acme.TenantID+"/tier", "op-secret-token", `{"tier": "enterprise"}`); status != http.StatusOK {
		t.Fatalf("set tier: %d %s", status, body)
	}
	base := acme.URL + "/api/v1"
	call(t, tc, "POST", base+"/documents", acme.APIKey, map[string]string{"id": "seed", "path": "seed.go", "content": "package seed\n"}, http.StatusCreated, nil)
	call(t, tc, "POST", base+"/workspaces", acme.APIKey, map[string]string{"name": "seed-ws"}, http.StatusCreated, nil)
	var key struct {
		ID string `json:"id"`
	}
	call(t, tc, "POST", base+"/keys", acme.APIKey, map[string]any{"name": "seed", "scopes": []string{"read"}}, http.StatusCreated, &key)

	before := storedState(t, tc, acme)
	inputs := badInputs(key.ID)
	var clean int
	for _, in := range inputs {
		if problem := checkBadInput(t, tc, acme, in); problem != "" {
			t.Errorf("%.80s: %s %.120s: %s", in.name, in.method, in.path, problem)
			continue
		}
		clean++
	}
	t.Logf("bad inputs: %d tried, %d clean JSON 4xx, %d other", len(inputs), clean, len(inputs)-clean)
	if len(inputs) < 150 {
		t.Errorf("only %d bad inputs", len(inputs))
	}
	if after := storedState(t, tc, acme); after != before {
		t.Errorf("bad inputs changed what is stored:\nbefore %s\nafter  %s", before, after)
	}

	// Search text is not a query language: FTS5 syntax is searched for as
	// words and answered, never an error.
	for _, q := range []string{`"unterminated`, `foo NEAR(bar`, `*`, `AND OR NOT`, `col:term`, `^foo`, `a"b`, `NEAR(a b, 1)`, `{x y}: z`, `-x`} {
		resp, data := rawCall(t, tc, "GET", base+"/documents/search?q="+urlEscape(q), acme.APIKey, "")
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("search %q: %d %s", q, resp.StatusCode, data)
		}
	}
}

// checkBadInput sends in and returns what is wrong with the answer ("" if
// nothing).
func checkBadInput(t *testing.T, tc *caddytest.Tester, acme signedUp, in badInput) string {
	t.Helper()
	url := acme.URL + in.path
	if strings.HasPrefix(in.path, "/signup") {
		url = testBase + in.path
	}
	req, err := http.NewRequest(in.method, url, strings.NewReader(in.body))
	if err != nil {
		return err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", acme.APIKey)
	for k, v := range in.header {
		req.Header.Del("X-API-Key")
		req.Header.Set(k, v)
	}
	resp, err := tc.Client.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	var e errorCode
	decodeErr := json.NewDecoder(resp.Body).Decode(&e)
	switch {
	case resp.StatusCode < 400 || resp.StatusCode > 499 || resp.StatusCode == http.StatusTooManyRequests:
		return fmt.Sprintf("status %d (%+v)", resp.StatusCode, e)
	case !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json"):
		return "Content-Type " + resp.Header.Get("Content-Type")
	case decodeErr != nil || e.Error.Code == "" || e.Error.Message == "":
		return fmt.Sprintf("status %d, error body %+v (%v)", resp.StatusCode, e, decodeErr)
	}
	return ""
}

// storedState sums up what the tenant and the control plane store.
func storedState(t *testing.T, tc *caddytest.Tester, acme signedUp) string {
	t.Helper()
	base := acme.URL + "/api/v1"
	var info struct {
		Documents    int64 `json:"documents"`
		StorageBytes int64 `json:"storage_bytes"`
		Workspaces   []struct {
			Name string `json:"name"`
		} `json:"workspaces"`
	}
	call(t, tc, "GET", base+"/storage/info", acme.APIKey, nil, http.StatusOK, &info)
	var keys struct {
		Keys []struct {
			ID        string  `json:"id"`
			ExpiresAt *string `json:"expires_at"`
			RevokedAt *string `json:"revoked_at"`
		} `json:"data"`
	}
	call(t, tc, "GET", base+"/keys", acme.APIKey, nil, http.StatusOK, &keys)
	resp, body := rawCall(t, tc, "GET", base+"/notifications", acme.APIKey, "")
	var hook map[string]any
	json.Unmarshal(body, &hook)
	if e, ok := hook["error"].(map[string]any); ok {
		delete(e, "request_id") // differs per request
	}
	status, tenants := operatorCall(t, tc.Client, "GET", "/admin/v1/tenants", "op-secret-token", "")
	if status != http.StatusOK {
		t.Fatalf("tenants: %d %s", status, tenants)
	}
	var all struct {
		Tenants []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"data"`
	}
	json.Unmarshal(tenants, &all)
	return fmt.Sprintf("documents %d (%d bytes), workspaces %+v, keys %+v, webhook %d %v, tenants %+v",
		info.Documents, info.StorageBytes, info.Workspaces, keys.Keys, resp.StatusCode, hook, all)
}

// urlEscape escapes s for a query string.
func urlEscape(s string) string {
	return strings.NewReplacer("%", "%25", " ", "%20", `"`, "%22", "&", "%26", "#", "%23", "+", "%2B", "{", "%7B", "}", "%7D", "^", "%5E").Replace(s)
}

// malformedJSON are bodies that are not one well-formed JSON object.
var malformedJSON = []struct{ name, body string }{
	{"empty", ""},
	{"blank", "  \n"},
	{"open brace", "{"},
	{"close brace", "}"},
	{"missing value", `{"path": }`},
	{"missing comma", `{"path": "a" "content": "b"}`},
	{"trailing comma", `{"path": "a",}`},
	{"single quotes", `{'path': 'a'}`},
	{"bare word", "nul"},
	{"two values", `{"path": "a"} {"path": "b"}`},
	{"trailing garbage", `{"path": "a"}garbage`},
	{"truncated string", `{"path": "a", "content": "bb`},
	{"truncated after key", `{"path"`},
	{"truncated after colon", `{"path":`},
	{"raw NUL", "{\"path\": \"a\x00b\"}"},
	{"invalid UTF-8", "{\"path\": \"\xff\xfe\", \"content\": \"x\"}"},
	{"byte order mark", "\xef\xbb\xbf{}"},
	{"array", "[]"},
	{"string", `"path"`},
	{"number", "42"},
	{"null", "null"},
	{"huge number", `{"path": 1e999}`},
	{"unknown field", `{"bogus": 1}`},
}

// badInputs returns the table: the malformed bodies on every JSON
// endpoint, then each endpoint's own bad fields, parameters and paths.
// seedKey is a key the rotation cases must leave alone.
func badInputs(seedKey string) []badInput {
	var in []badInput
	posts := []struct{ method, path string }{
		{"POST", "/api/v1/documents"}, {"POST", "/api/v1/documents/bulk"}, {"POST", "/api/v1/workspaces"},
		{"POST", "/api/v1/keys"}, {"POST", "/api/v1/context/assemble"}, {"PUT", "/api/v1/notifications"},
		{"DELETE", "/api/v1/tenant"}, {"POST", "/signup"},
	}
	for _, p := range posts {
		for _, m := range malformedJSON {
			in = append(in, badInput{name: m.name, method: p.method, path: p.path, body: m.body})
		}
	}
	add := func(method, path string, bodies ...string) {
		for _, b := range bodies {
			in = append(in, badInput{name: b, method: method, path: path, body: b})
		}
	}
	long := func(n int) string { return strings.Repeat("a", n) }
	add("POST", "/api/v1/documents",
		`{"path": 5, "content": "x"}`, `{"path": ["a"], "content": "x"}`, `{"path": "a", "content": {}}`,
		`{"path": "a", "content": "x", "metadata": "m"}`, `{"path": "a", "content": "x", "metadata": [1]}`,
		`{"path": "a", "content": "x", "workspace": 7}`, `{"path": "a", "content": "x", "extra": 1}`,
		`{"path": "a\u0000b", "content": "x"}`, `{"path": "a\nb", "content": "x"}`, `{"path": "", "content": "x"}`,
		`{"path": "`+long(1025)+`", "content": "x"}`, `{"id": "has space", "path": "a", "content": "x"}`,
		`{"id": "\u0000", "path": "a", "content": "x"}`, `{"id": "`+long(129)+`", "path": "a", "content": "x"}`,
		`{"id": "\"a\" NEAR b", "path": "a", "content": "x"}`, `{"path": "a", "content": "x", "workspace": "../../etc"}`,
		`{"path": "a", "content": "x", "workspace": "a/b"}`, `{"path": "a", "content": "x", "workspace": "ws\u0000"}`,
		`{"path": "a", "content": "x", "workspace": "foo* OR bar"}`, `{"path": "a", "content": "x", "workspace": "NEAR(a b)"}`,
		`{"path": "a", "content": "x", "workspace": "nope"}`, `{"path": "a", "content": "x", "metadata": {"n": 1e999}}`,
		`{"path": "a", "content": "x", "language": 5}`)
	add("POST", "/api/v1/documents/bulk",
		`{"documents": {}}`, `{"documents": "x"}`, `{"documents": []}`, `{"documents": null}`, `{"documents": [1]}`,
		`{"documents": [{"path": 5}]}`, `{"documents": [{"path": "a", "content": "b", "x": 1}]}`, `{"docs": []}`,
		`{"documents": [`+strings.Repeat(`{"path": "a", "content": "b"},`, 1000)+`{"path": "a", "content": "b"}]}`)
	add("POST", "/api/v1/workspaces",
		`{"name": ""}`, `{"name": 5}`, `{"name": "../x"}`, `{"name": ".hidden"}`, `{"name": "a b"}`, `{"name": "x\u0000"}`,
		`{"name": "`+long(65)+`"}`, `{"name": "é"}`, `{"name": "seed-ws"}`, `{"name": "default"}`,
		`{"name": "a;DROP TABLE workspaces"}`, `{"name": "foo OR bar"}`, `{"name": "\"quoted\""}`,
		`{"name": "x", "extra": 1}`, `{"name": null}`, `{}`)
	add("POST", "/api/v1/keys",
		`{"expires_at": "tomorrow"}`, `{"expires_at": 5}`, `{"expires_at": "10000-01-01T00:00:00Z"}`,
		`{"expires_at": "3000-01-01T00:00:00Z"}`, `{"expires_at": "2000-01-01T00:00:00Z"}`, `{"expires_at": ""}`,
		`{"expires_at": true}`, `{"expires_at": {}}`, `{"expires_at": "2027-13-01T00:00:00Z"}`, `{"expires_at": "2027-01-01"}`,
		`{"expires_at": "9999999999"}`, `{"scopes": "read"}`, `{"scopes": ["root"]}`, `{"scopes": ["READ"]}`, `{"scopes": [1]}`,
		`{"name": "`+long(101)+`"}`, `{"name": "a\u0000"}`, `{"name": "a\nb"}`, `{"name": 5}`, `{"name": "ok", "extra": true}`)
	for _, b := range []string{`{"grace_seconds": 9999999999}`, `{"grace_seconds": -1}`, `{"grace_seconds": "1"}`,
		`{"grace_seconds": 1.5}`, `{"grace_seconds": 1e300}`, `{"grace_seconds": 9223372036854775807}`,
		`{"grace_seconds": 99999999999999999999}`, `{"grace": 1}`, `[]`, `null`} {
		add("POST", "/api/v1/keys/"+seedKey+"/rotate", b)
	}
	add("POST", "/api/v1/keys/no-such-key/rotate", `{}`)
	add("POST", "/api/v1/keys/..%2F..%2Fetc%2Fpasswd/rotate", `{}`)
	add("DELETE", "/api/v1/keys/no-such-key", "")
	add("POST", "/api/v1/context/assemble",
		`{"query": ""}`, `{"query": "   "}`, `{"query": 5}`, `{"query": "x", "max_tokens": -1}`, `{"query": "x", "max_tokens": "100"}`,
		`{"query": "x", "max_tokens": 1e400}`, `{"query": "x", "max_tokens": 99999999999999999999}`,
		`{"query": "x", "max_documents": -5}`, `{"query": "x", "max_documents": 100000}`, `{"query": "x", "workspace": "../etc"}`,
		`{"query": "x", "workspace": "nope"}`, `{"query": "x", "use_cache": "yes"}`, `{"query": "`+long(70000)+`"}`,
		`{"query": "x", "extra": 1}`)
	add("PUT", "/api/v1/notifications",
		`{"url": "ftp://example.com/hook"}`, `{"url": ""}`, `{"url": 5}`, `{"url": "javascript:alert(1)"}`, `{"url": "https://"}`,
		`{"url": "not a url"}`, `{"url": "http://example.com/hook"}`, `{"url": "https://127.0.0.1/hook"}`,
		`{"url": "https://example.com", "rotate_secret": "yes"}`)
	add("DELETE", "/api/v1/tenant", `{"confirm": "wrong"}`, `{"confirm": 5}`, `{}`, `{"confirm": ""}`)
	add("POST", "/api/v1/billing/subscription", `{"tier": "gold"}`, `{}`)
	add("POST", "/api/v1/domains", `{"domain": "../x"}`)
	add("POST", "/signup",
		`{"email": "bad", "company": "x"}`, `{"email": 5, "company": "x"}`, `{}`, `{"email": "a@b.test", "company": ""}`,
		`{"email": "a@b.test", "company": "x", "extra": 1}`, "{\"email\": \"a@b.test\", \"company\": \"\xff\"}")
	gets := []string{
		"/api/v1/documents/search", "/api/v1/documents/search?q=", "/api/v1/documents/search?q=x&limit=0",
		"/api/v1/documents/search?q=x&limit=-1", "/api/v1/documents/search?q=x&limit=abc", "/api/v1/documents/search?q=x&limit=101",
		"/api/v1/documents/search?q=x&limit=99999999999999999999", "/api/v1/documents/search?q=x&limit=1e3",
		"/api/v1/documents/search?q=x&workspace=..%2F..%2Fetc", "/api/v1/documents/search?q=x&workspace=%00",
		"/api/v1/documents/search?q=x&workspace=%FF", "/api/v1/documents/search?q=x&workspace=foo*%20OR%20bar",
		"/api/v1/documents?cursor=garbage", "/api/v1/documents?cursor=%00", "/api/v1/documents?cursor=..%2F..",
		"/api/v1/documents?cursor=eyJ9", "/api/v1/documents?cursor=-1", "/api/v1/documents?cursor=999999999999999999999999",
		"/api/v1/documents?cursor='%20OR%201=1%20--", "/api/v1/documents?limit=0", "/api/v1/documents?limit=501",
		"/api/v1/documents?limit=-5", "/api/v1/documents?limit=x", "/api/v1/documents?workspace=bad%20name",
		"/api/v1/audit?cursor=garbage", "/api/v1/audit?cursor=-1", "/api/v1/audit?cursor=%FF", "/api/v1/audit?limit=0",
		"/api/v1/audit?limit=abc", "/api/v1/documents/..%2F..%2Fetc%2Fpasswd", "/api/v1/documents/nope",
		"/api/v1/documents/%00", "/api/v1/nope", "/api/v1/../../etc/passwd", "/api/v1/documents/search/../../../etc/passwd",
		"/signup",
	}
	for _, p := range gets {
		in = append(in, badInput{name: "GET", method: "GET", path: p})
	}
	for _, p := range []string{"/api/v1/documents/nope", "/api/v1/documents/..%2Fseed", "/api/v1/workspaces/default",
		"/api/v1/workspaces/nope", "/api/v1/workspaces/..%2Fseed-ws", "/api/v1/workspaces/%00"} {
		in = append(in, badInput{name: "DELETE", method: "DELETE", path: p})
	}
	in = append(in, badInput{name: "method", method: "PATCH", path: "/api/v1/documents"})
	for _, h := range []map[string]string{
		{"X-API-Key": "clc_live_garbage"}, {"X-API-Key": "clc_live_" + long(39)}, {"Authorization": "Bearer "},
		{"Authorization": "Bearer a.b.c"}, {"Authorization": "Basic YTpi"}, {"X-API-Key": "../../etc/passwd"},
	} {
		in = append(in, badInput{name: fmt.Sprint(h), method: "GET", path: "/api/v1/documents", header: h})
	}
	return in
}

// TestSlowBodyIs408: a body that does not arrive before the server's
// read_body timeout is answered 408 in JSON, and nothing is stored.
func TestSlowBodyIs408(t *testing.T) {
	tc := startServerEdited(t, t.TempDir(), "", "", "read_body 30s", "read_body 1s")
	acme := signup(t, tc, "SlowCo")
	conn, err := tls.Dial("tcp", "127.0.0.1:"+testHTTPSPort, &tls.Config{
		ServerName: acme.Slug + ".localhost", InsecureSkipVerify: true, NextProtos: []string{"http/1.1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Headers promise 100 bytes; a few come, then nothing until the server gives up.
	fmt.Fprintf(conn, "POST /api/v1/documents HTTP/1.1\r\nHost: %s.localhost\r\nX-API-Key: %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"path\": \"slow.go\", ", acme.Slug, acme.APIKey)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e errorCode
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || resp.StatusCode != http.StatusRequestTimeout ||
		e.Error.Code != "request_timeout" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("slow body: %d %s %+v (%v)", resp.StatusCode, resp.Header.Get("Content-Type"), e, err)
	}
	var info struct {
		Documents int64 `json:"documents"`
	}
	call(t, tc, "GET", acme.URL+"/api/v1/storage/info", acme.APIKey, nil, http.StatusOK, &info)
	if info.Documents != 0 {
		t.Errorf("%d documents stored", info.Documents)
	}
}

// TestTenantInfo: GET /api/v1/tenant shows the Stripe ids to admin keys
// only, and limits as numbers with null for unlimited, never nanoseconds.
func TestTenantInfo(t *testing.T) {
	t.Setenv("CONTEXTLITE_ADMIN_TOKEN", "op-secret-token")
	dir := t.TempDir()
	tc := startServer(t, dir, "")
	acme := signup(t, tc, "InfoCo")
	store, err := tenancy.Open(context.Background(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.SetStripeCustomer(context.Background(), acme.TenantID, "cus_secret"); err != nil {
		t.Fatal(err)
	}
	base := acme.URL + "/api/v1"
	var read struct {
		Key string `json:"key"`
	}
	call(t, tc, "POST", base+"/keys", acme.APIKey, map[string]any{"name": "reader", "scopes": []string{"read"}}, http.StatusCreated, &read)

	get := func(key string) map[string]any {
		var info map[string]any
		call(t, tc, "GET", base+"/tenant", key, nil, http.StatusOK, &info)
		return info
	}
	if info := get(read.Key); info["stripe_customer_id"] != nil {
		t.Errorf("read key sees stripe_customer_id %v", info["stripe_customer_id"])
	}
	info := get(acme.APIKey)
	if info["stripe_customer_id"] != "cus_secret" {
		t.Errorf("admin key sees stripe_customer_id %v", info["stripe_customer_id"])
	}
	limits, _ := info["limits"].(map[string]any)
	want := map[string]any{"name": "free", "queries_per_month": 1000.0, "documents": 1000.0, "workspaces": 1.0,
		"tokens_per_query": 4000.0, "rate_per_second": 10.0, "burst": 20.0, "retention_days": 30.0}
	if fmt.Sprint(limits) != fmt.Sprint(want) {
		t.Errorf("free limits = %v, want %v", limits, want)
	}

	if status, body := operatorCall(t, tc.Client, "PUT", "/admin/v1/tenants/"+acme.TenantID+"/tier", "op-secret-token", `{"tier": "pro"}`); status != http.StatusOK {
		t.Fatalf("set tier: %d %s", status, body)
	}
	limits, _ = get(acme.APIKey)["limits"].(map[string]any)
	for _, k := range []string{"queries_per_month", "documents", "workspaces"} {
		if v, ok := limits[k]; !ok || v != nil {
			t.Errorf("pro %s = %v, want null", k, v)
		}
	}
}

// TestLongURLIsJSON431: a URL over the header limit gets net/http's 431 in
// JSON on HTTP/1.1, while ordinary calls, on HTTP/1.1 and HTTP/2, are
// served as before behind the listener wrapper that does it. (Over
// HTTP/2, Go's server refuses such a request itself: it closes the
// connection, which no Caddy module can change.)
func TestLongURLIsJSON431(t *testing.T) {
	tc := startServer(t, t.TempDir(), "")
	acme := signup(t, tc, "LongCo")
	h1, h2 := testClient(false), testClient(true)
	defer h1.CloseIdleConnections()
	defer h2.CloseIdleConnections()

	req, _ := http.NewRequest("GET", acme.URL+"/api/v1/documents/search?q="+strings.Repeat("a", 20<<10), nil)
	req.Header.Set("X-API-Key", acme.APIKey)
	resp, err := h1.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var e errorCode
	err = json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge || e.Error.Code != "headers_too_large" ||
		resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("long URL: %d %v %+v (%v)", resp.StatusCode, resp.Header, e, err)
	}

	for _, client := range []*http.Client{h1, h2} {
		req, _ := http.NewRequest("GET", acme.URL+"/api/v1/storage/info", nil)
		req.Header.Set("X-API-Key", acme.APIKey)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || (client == h2) != (resp.ProtoMajor == 2) {
			t.Errorf("%s: status %d", resp.Proto, resp.StatusCode)
		}
	}
}

// testClient returns a client of the test server on HTTP/2 or HTTP/1.1 only.
func testClient(http2 bool) *http.Client {
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
		ForceAttemptHTTP2: http2,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return new(net.Dialer).DialContext(ctx, network, "127.0.0.1:"+testHTTPSPort)
		},
	}
	if !http2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	return &http.Client{Transport: tr}
}

// TestErrorsHandlerCodes: errors raised in Caddy's chain get the codes the
// API uses for the same statuses (internal_error, not internal_server_error).
func TestErrorsHandlerCodes(t *testing.T) {
	for status, code := range map[int]string{
		http.StatusInternalServerError: "internal_error", http.StatusTooManyRequests: "rate_limited",
		http.StatusServiceUnavailable: "unavailable", http.StatusBadGateway: "bad_gateway",
	} {
		rec := httptest.NewRecorder()
		r := caddyhttp.PrepareRequest(httptest.NewRequest("GET", "/api/v1/documents", nil), caddy.NewReplacer(), rec, nil)
		r = r.WithContext(context.WithValue(r.Context(), caddyhttp.ErrorCtxKey, caddyhttp.Error(status, errors.New("boom"))))
		if err := new(Errors).ServeHTTP(rec, r, nil); err != nil {
			t.Fatal(err)
		}
		var e errorCode
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || rec.Code != status || e.Error.Code != code {
			t.Errorf("status %d: %d %s, want code %s", status, rec.Code, rec.Body, code)
		}
	}
}
