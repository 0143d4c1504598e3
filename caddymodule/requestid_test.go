package caddymodule

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
)

// requestWith sends a request with extra headers and returns the response
// with its body read.
func requestWith(t *testing.T, tc *caddytest.Tester, method, url, body string, headers map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := tc.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// TestRequestIDOnEveryAnswer checks that answers, errors from every layer
// among them, carry the server's request id and never the client's.
func TestRequestIDOnEveryAnswer(t *testing.T) {
	tc := startServer(t, t.TempDir(), "")
	acme, other := signup(t, tc, "IdCo"), signup(t, tc, "OtherCo")
	base := acme.URL + "/api/v1"
	checks := []struct {
		name, method, url, key string
		status                 int
		code                   string
	}{
		{"answer", "GET", base + "/documents", acme.APIKey, 200, ""},
		{"no credential (auth)", "GET", base + "/documents", "", 401, "missing_credentials"},
		{"bad key (auth)", "GET", base + "/documents", "clc_live_nope", 401, "invalid_credentials"},
		{"other tenant's subdomain (auth)", "GET", other.URL + "/api/v1/documents", acme.APIKey, 403, "tenant_mismatch"},
		{"unknown document (api)", "GET", base + "/documents/doc_missing", acme.APIKey, 404, "not_found"},
		{"unknown route (caddy)", "GET", acme.URL + "/elsewhere", "", 404, "not_found"},
		{"bad signup (signup)", "POST", testBase + "/signup", "", 422, ""},
	}
	seen := map[string]bool{}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			h := map[string]string{"X-Request-Id": "chosen-by-the-client", "Content-Type": "application/json"}
			if c.key != "" {
				h["X-API-Key"] = c.key
			}
			body := ""
			if c.method == "POST" {
				body = `{"email": "not an address"}`
			}
			resp, data := requestWith(t, tc, c.method, c.url, body, h)
			id := resp.Header.Get("X-Request-Id")
			if resp.StatusCode != c.status || !uuidPattern.MatchString(id) || seen[id] {
				t.Fatalf("%d, X-Request-Id %q (seen before: %v), body %s", resp.StatusCode, id, seen[id], data)
			}
			seen[id] = true
			if c.status < 400 {
				return
			}
			var e struct {
				Error struct {
					Code      string `json:"code"`
					RequestID string `json:"request_id"`
				} `json:"error"`
			}
			if err := json.Unmarshal(data, &e); err != nil || e.Error.RequestID != id || c.code != "" && e.Error.Code != c.code {
				t.Fatalf("error body %s, want code %q and request_id %q", data, c.code, id)
			}
		})
	}
}

// TestAuditAndAccessLogRecordServerRequestID checks the audit log and the
// JSON access log: both carry the server's id, the access log names the
// tenant and never shows the API key.
func TestAuditAndAccessLogRecordServerRequestID(t *testing.T) {
	t.Setenv("CONTEXTLITE_ADMIN_TOKEN", "op-secret-token")
	dir := t.TempDir()
	tc := startServer(t, dir, "")
	acme := signup(t, tc, "LogCo")
	if status, body := operatorCall(t, tc.Client, "PUT", "/admin/v1/tenants/"+acme.TenantID+"/tier", "op-secret-token", `{"tier": "pro"}`); status != http.StatusOK {
		t.Fatalf("set tier: %d %s", status, body)
	}
	resp, data := requestWith(t, tc, "POST", acme.URL+"/api/v1/keys", `{"name": "ci"}`,
		map[string]string{"X-API-Key": acme.APIKey, "X-Request-Id": "chosen-by-the-client", "Content-Type": "application/json"})
	id := resp.Header.Get("X-Request-Id")
	if resp.StatusCode != http.StatusCreated || !uuidPattern.MatchString(id) {
		t.Fatalf("create key: %d %s, X-Request-Id %q", resp.StatusCode, data, id)
	}
	var audit struct {
		Events []struct {
			Action    string `json:"action"`
			RequestID string `json:"request_id"`
		} `json:"data"`
	}
	call(t, tc, "GET", acme.URL+"/api/v1/audit", acme.APIKey, nil, http.StatusOK, &audit)
	var recorded []string
	for _, e := range audit.Events {
		if e.Action == "key.create" {
			recorded = append(recorded, e.RequestID)
		}
	}
	if len(recorded) != 1 || recorded[0] != id {
		t.Fatalf("audit request ids of key.create = %q, want [%q]", recorded, id)
	}

	// A refused request is logged as well, with its status.
	refused, _ := requestWith(t, tc, "GET", acme.URL+"/api/v1/documents", "", map[string]string{"X-API-Key": acme.APIKey + "x"})
	entries := waitForAccessLog(t, dir, id, refused.Header.Get("X-Request-Id"))
	created, denied := entries[id], entries[refused.Header.Get("X-Request-Id")]
	if created.UserID != acme.TenantID || created.Status != http.StatusCreated {
		t.Errorf("access log of the key creation: user_id %q, status %d; want %q, 201", created.UserID, created.Status, acme.TenantID)
	}
	if denied.Status != http.StatusUnauthorized || denied.UserID != "" {
		t.Errorf("access log of the refused request: user_id %q, status %d; want none, 401", denied.UserID, denied.Status)
	}
	raw, err := os.ReadFile(accessLogPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), acme.APIKey) || strings.Contains(string(raw), "op-secret-token") {
		t.Fatal("the access log holds a credential")
	}
	if !strings.Contains(string(raw), `"X-Api-Key":"REDACTED"`) {
		t.Fatal("the access log shows no redacted X-Api-Key")
	}
}

// accessEntry is what the tests read of an access log line.
type accessEntry struct {
	UserID      string              `json:"user_id"`
	Status      int                 `json:"status"`
	RespHeaders map[string][]string `json:"resp_headers"`
}

// waitForAccessLog returns the access log entries of the request ids,
// waiting until each is written.
func waitForAccessLog(t *testing.T, dir string, ids ...string) map[string]accessEntry {
	t.Helper()
	found := map[string]accessEntry{}
	for range 100 {
		f, err := os.Open(accessLogPath(dir))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var e accessEntry
			if json.Unmarshal(sc.Bytes(), &e) == nil && len(e.RespHeaders["X-Request-Id"]) == 1 {
				found[e.RespHeaders["X-Request-Id"][0]] = e
			}
		}
		f.Close()
		missing := false
		for _, id := range ids {
			_, ok := found[id]
			missing = missing || !ok
		}
		if !missing {
			return found
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("access log lacks requests %q", ids)
	return nil
}

// TestHandlerErrorsReachHandleErrors checks that refusals of
// contextlite_auth and contextlite_meter are handler errors, which
// handle_errors sees, rather than answers written in place.
func TestHandlerErrorsReachHandleErrors(t *testing.T) {
	tc := startServerEdited(t, t.TempDir(), "", smallFreeTier,
		"\thandle_errors {\n", "\thandle_errors {\n\t\theader X-Error-Status {err.status_code}\n")
	acme := signup(t, tc, "ErrCo")
	resp, data := requestWith(t, tc, "GET", acme.URL+"/api/v1/documents", "", map[string]string{"X-API-Key": "clc_live_nope"})
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("X-Error-Status") != "401" || !strings.Contains(string(data), `"invalid_credentials"`) {
		t.Fatalf("auth refusal: %d %s, X-Error-Status %q", resp.StatusCode, data, resp.Header.Get("X-Error-Status"))
	}
	query := `{"query": "invoice", "max_tokens": 500}`
	for range 5 {
		call(t, tc, "POST", acme.URL+"/api/v1/context/assemble", acme.APIKey, json.RawMessage(query), http.StatusOK, nil)
	}
	resp, data = rawCall(t, tc, "POST", acme.URL+"/api/v1/context/assemble", acme.APIKey, query)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("X-Error-Status") != "429" || !strings.Contains(string(data), `"quota_exceeded"`) ||
		resp.Header.Get("Retry-After") == "" || resp.Header.Get("X-Quota-Remaining") != "0" {
		t.Fatalf("quota refusal: %d %s, headers %v", resp.StatusCode, data, resp.Header)
	}
}
