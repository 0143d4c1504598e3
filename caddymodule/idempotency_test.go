package caddymodule

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"
)

// roomyFreeTier lifts the free tier's rate limit, which the many calls of
// these tests would reach, and allows a second workspace.
const roomyFreeTier = "\t\ttier free {\n\t\t\trate_per_second 1000\n\t\t\tburst 1000\n\t\t\tworkspaces 5\n\t\t}\n"

// keyedCall sends a request with an Idempotency-Key and returns the
// response with its body read.
func keyedCall(t *testing.T, tc *caddytest.Tester, method, url, apiKey, idemKey, body string) (*http.Response, []byte) {
	t.Helper()
	return requestWith(t, tc, method, url, body,
		map[string]string{"Content-Type": "application/json", "X-API-Key": apiKey, "Idempotency-Key": idemKey})
}

// listLen returns how many items the list at url holds: its "data", or
// else its only array field.
func listLen(t *testing.T, tc *caddytest.Tester, url, apiKey string) int {
	t.Helper()
	var body map[string]json.RawMessage
	call(t, tc, "GET", url, apiKey, nil, http.StatusOK, &body)
	raw, ok := body["data"]
	if !ok {
		for _, v := range body {
			if bytes.HasPrefix(v, []byte("[")) {
				raw = v
			}
		}
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		t.Fatalf("GET %s: no list in %v", url, body)
	}
	return len(items)
}

// TestIdempotentRetries sends each kind of write and each query twice
// with one Idempotency-Key through the server: the retry gets the first
// answer byte for byte and stores, meters and bills nothing; the key with
// another request is refused.
func TestIdempotentRetries(t *testing.T) {
	dir := t.TempDir()
	tc := startServer(t, dir, roomyFreeTier)
	acme := signup(t, tc, "IdemCo")
	base := acme.URL + "/api/v1"
	count := map[string]func() int{
		"documents":  func() int { return listLen(t, tc, base+"/documents", acme.APIKey) },
		"keys":       func() int { return listLen(t, tc, base+"/keys", acme.APIKey) },
		"workspaces": func() int { return listLen(t, tc, base+"/workspaces", acme.APIKey) },
		"queries":    func() int { return int(usageOf(t, tc, base, acme.APIKey)["queries"]) },
	}
	doc := `{"path": "billing/invoice.go", "content": "package billing\n\n// SendInvoice mails an invoice.\nfunc SendInvoice() {}\n"}`
	for _, c := range []struct {
		name, method, path, body, other string
		counts                          string // what the first request adds one to
	}{
		{"document", "POST", "/documents", doc, `{"path": "other.go", "content": "package other"}`, "documents"},
		{"bulk", "POST", "/documents/bulk", `{"documents": [{"path": "a.go", "content": "package a"}, {"path": "b.go", "content": "package b"}]}`,
			`{"documents": [{"path": "c.go", "content": "package c"}]}`, "documents"},
		{"key", "POST", "/keys", `{"name": "ci", "scopes": ["read"]}`, `{"name": "ci2", "scopes": ["read"]}`, "keys"},
		{"workspace", "POST", "/workspaces", `{"name": "docs"}`, `{"name": "notes"}`, "workspaces"},
		{"search", "GET", "/documents/search?q=invoice", "", "", "queries"},
		{"assemble", "POST", "/context/assemble", `{"query": "send invoice", "max_tokens": 2000}`, `{"query": "invoice", "max_tokens": 2000}`, "queries"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := count[c.counts]()
			idem := "retry-" + c.name
			first, body := keyedCall(t, tc, c.method, base+c.path, acme.APIKey, idem, c.body)
			if first.StatusCode >= 300 || first.Header.Get("Idempotent-Replayed") != "" {
				t.Fatalf("first: %d %s, headers %v", first.StatusCode, body, first.Header)
			}
			added := count[c.counts]() - before
			again, againBody := keyedCall(t, tc, c.method, base+c.path, acme.APIKey, idem, c.body)
			if again.StatusCode != first.StatusCode || !bytes.Equal(againBody, body) || again.Header.Get("Idempotent-Replayed") != "true" ||
				again.Header.Get("Content-Type") != first.Header.Get("Content-Type") {
				t.Fatalf("retry: %d %s, headers %v; want %d %s replayed", again.StatusCode, againBody, again.Header, first.StatusCode, body)
			}
			if c.name == "key" {
				wantNotOnDisk(t, filepath.Join(dir, "tenants", acme.TenantID), body)
			}
			if c.name == "bulk" && added != 2 || c.name != "bulk" && added != 1 {
				t.Fatalf("the first request added %d %s", added, c.counts)
			}
			if n := count[c.counts]() - before; n != added {
				t.Fatalf("the retry changed %s: %d added in all, want %d", c.counts, n, added)
			}
			otherPath, otherBody := c.path, c.other
			if c.method == "GET" {
				otherPath = c.path + "&limit=1"
			}
			resp, data := keyedCall(t, tc, c.method, base+otherPath, acme.APIKey, idem, otherBody)
			if resp.StatusCode != http.StatusConflict || !strings.Contains(string(data), `"idempotency_key_reused"`) {
				t.Fatalf("same key, other request: %d %s", resp.StatusCode, data)
			}
			if n := count[c.counts]() - before; n != added {
				t.Fatalf("the refused request changed %s", c.counts)
			}
		})
	}
	// Two queries ran (a search, an assemble); their retries billed nothing.
	waitForShippedUsage(t, dir, acme.TenantID, map[string]int64{"queries": 2})
	if got := usageOf(t, tc, base, acme.APIKey)["queries"]; got != 2 {
		t.Fatalf("queries used = %d, want 2", got)
	}
}

// TestIdempotentConcurrentRetries sends one key creation several times at
// once with one Idempotency-Key: it runs once; every other answer is
// that one replayed or 409 idempotency_key_in_use.
func TestIdempotentConcurrentRetries(t *testing.T) {
	tc := startServer(t, t.TempDir(), roomyFreeTier)
	acme := signup(t, tc, "IdemRace")
	base := acme.URL + "/api/v1"
	keysBefore := listLen(t, tc, base+"/keys", acme.APIKey)
	const n = 8
	type answer struct {
		status   int
		replayed bool
		body     []byte
	}
	answers := make([]answer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			resp, body := keyedCall(t, tc, "POST", base+"/keys", acme.APIKey, "race", `{"name": "deploy", "scopes": ["write"]}`)
			answers[i] = answer{resp.StatusCode, resp.Header.Get("Idempotent-Replayed") == "true", body}
		})
	}
	wg.Wait()
	var ran []byte
	for _, a := range answers {
		if a.status == http.StatusCreated && !a.replayed {
			if ran != nil {
				t.Fatalf("the key creation ran twice:\n%s\n%s", ran, a.body)
			}
			ran = a.body
		}
	}
	if ran == nil {
		t.Fatalf("no answer ran the request: %+v", answers)
	}
	for _, a := range answers {
		switch {
		case a.status == http.StatusCreated && bytes.Equal(a.body, ran):
		case a.status == http.StatusConflict && strings.Contains(string(a.body), `"idempotency_key_in_use"`):
		default:
			t.Errorf("answer %d %s, want the first replayed or idempotency_key_in_use", a.status, a.body)
		}
	}
	if got := listLen(t, tc, base+"/keys", acme.APIKey) - keysBefore; got != 1 {
		t.Fatalf("%d keys created, want 1", got)
	}
}

// usageOf returns the used amount of each meter of the caller's tenant.
func usageOf(t *testing.T, tc *caddytest.Tester, base, apiKey string) map[string]int64 {
	t.Helper()
	var usage struct {
		Meters map[string]struct {
			Used int64 `json:"used"`
		} `json:"meters"`
	}
	call(t, tc, "GET", base+"/usage", apiKey, nil, http.StatusOK, &usage)
	out := make(map[string]int64)
	for k, m := range usage.Meters {
		out[k] = m.Used
	}
	return out
}

// wantNotOnDisk fails if a file in dir holds the answer created, which
// holds a new key's secret, in plain text or base64: stored answers are
// sealed.
func wantNotOnDisk(t *testing.T, dir string, created []byte) {
	t.Helper()
	var k struct {
		Key string `json:"key"`
	}
	if err := json.Unmarshal(created, &k); err != nil || !strings.HasPrefix(k.Key, "clc_") {
		t.Fatalf("no key in %s", created)
	}
	encoded := base64.StdEncoding.EncodeToString(created)[:40]
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte(k.Key)) || bytes.Contains(data, []byte(encoded)) {
			t.Fatalf("%s holds the created key's answer readable", e.Name())
		}
	}
}
