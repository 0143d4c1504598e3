package caddymodule

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contextlite/cloud/notify"
	"github.com/contextlite/cloud/tenancy"
)

// smallFreeTier makes the free tier's quotas small enough to use up.
const smallFreeTier = "\t\ttier free {\n\t\t\tqueries_per_month 5\n\t\t\tdocuments 3\n\t\t}\n"

func TestQuotasAndHeaders(t *testing.T) {
	dir := t.TempDir()
	tc := startServer(t, dir, smallFreeTier)
	acme := signup(t, tc, "QuotaCo")
	base := acme.URL + "/api/v1"

	for i := range 3 {
		call(t, tc, "POST", base+"/documents", acme.APIKey, map[string]string{"path": "doc" + strconv.Itoa(i) + ".go", "content": "package quota\n\nfunc Invoice() {}\n"}, http.StatusCreated, nil)
	}
	// Stored-data limits are not time-based: 403 naming the limit and the
	// next tier, without Retry-After, for one document, in bulk and for
	// workspaces.
	var e errorCode
	hdr := call(t, tc, "POST", base+"/documents", acme.APIKey, map[string]string{"path": "doc3.go", "content": "package quota"}, http.StatusForbidden, &e)
	if e.Error.Code != "document_limit_reached" || !strings.Contains(e.Error.Message, "starter") || hdr.Get("Retry-After") != "" {
		t.Fatalf("fourth document: %+v, Retry-After %q", e, hdr.Get("Retry-After"))
	}
	var bulk struct {
		Results []struct {
			Error struct{ Code, Message string } `json:"error"`
		} `json:"results"`
	}
	call(t, tc, "POST", base+"/documents/bulk", acme.APIKey, map[string]any{"documents": []map[string]string{{"path": "doc4.go", "content": "package quota"}}}, http.StatusOK, &bulk)
	if len(bulk.Results) != 1 || bulk.Results[0].Error.Code != "document_limit_reached" || !strings.Contains(bulk.Results[0].Error.Message, "starter") {
		t.Fatalf("bulk past the limit: %+v", bulk)
	}
	call(t, tc, "POST", base+"/workspaces", acme.APIKey, map[string]string{"name": "second"}, http.StatusForbidden, &e)
	if e.Error.Code != "workspace_limit_reached" || !strings.Contains(e.Error.Message, "starter") {
		t.Fatalf("second workspace: %+v", e)
	}

	query := `{"query": "invoice", "max_tokens": 500}`
	for i := range 5 {
		resp, data := rawCall(t, tc, "POST", base+"/context/assemble", acme.APIKey, query)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("query %d: %d %s", i+1, resp.StatusCode, data)
		}
		if got, want := resp.Header.Get("X-Quota-Remaining"), strconv.Itoa(4-i); got != want || resp.Header.Get("X-Quota-Limit") != "5" {
			t.Fatalf("query %d: X-Quota-Limit %q, X-Quota-Remaining %q, want 5 and %s", i+1,
				resp.Header.Get("X-Quota-Limit"), got, want)
		}
	}
	resp, data := rawCall(t, tc, "POST", base+"/context/assemble", acme.APIKey, query)
	retry, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	reset, _ := strconv.ParseInt(resp.Header.Get("X-Quota-Reset"), 10, 64)
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(data), `"quota_exceeded"`) ||
		retry <= 0 || time.Unix(reset, 0).Before(time.Now()) || resp.Header.Get("X-Quota-Remaining") != "0" {
		t.Fatalf("sixth query: %d %s, headers %v", resp.StatusCode, data, resp.Header)
	}
	if !strings.Contains(string(data), "starter") {
		t.Errorf("quota error names no upgrade: %s", data)
	}

	// Over quota, the rest of the API and the usage report still answer.
	hdr = call(t, tc, "GET", base+"/documents", acme.APIKey, nil, http.StatusOK, nil)
	if hdr.Get("X-Quota-Limit") != "5" || hdr.Get("X-Quota-Remaining") != "0" {
		t.Errorf("list headers: %v", hdr)
	}
	var usage struct {
		Tier   string `json:"tier"`
		Meters map[string]struct {
			Used    int64    `json:"used"`
			Limit   *int64   `json:"limit"`
			Percent *float64 `json:"percent"`
		} `json:"meters"`
		Rejected map[string]int64 `json:"rejected"`
		Upgrade  string           `json:"upgrade_to"`
	}
	call(t, tc, "GET", base+"/usage", acme.APIKey, nil, http.StatusOK, &usage)
	q, d := usage.Meters["queries"], usage.Meters["documents"]
	if usage.Tier != "free" || q.Used != 5 || *q.Limit != 5 || *q.Percent != 100 || d.Used != 3 ||
		usage.Rejected["quota"] != 1 || usage.Upgrade != "starter" || usage.Meters["tokens"].Used == 0 {
		t.Fatalf("usage = %+v", usage)
	}

	// Unauthenticated answers carry no quota headers.
	resp, _ = rawCall(t, tc, "GET", base+"/usage", "", "")
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("X-Quota-Limit") != "" {
		t.Fatalf("unauthenticated: %d, headers %v", resp.StatusCode, resp.Header)
	}

	// The usage reaches the control plane.
	waitForShippedUsage(t, dir, acme.TenantID, map[string]int64{"queries": 5, "documents_added": 3})
}

// waitForShippedUsage polls the embedded control plane in dir until the
// tenant's usage totals of this month include want.
func waitForShippedUsage(t *testing.T, dir, tenantID string, want map[string]int64) {
	t.Helper()
	store, err := tenancy.Open(context.Background(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var got map[string]int64
	for range 100 {
		got, err = store.UsageTotals(context.Background(), tenantID, time.Now().AddDate(0, -1, 0), time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		done := true
		for meter, n := range want {
			done = done && got[meter] == n
		}
		if done {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("shipped usage = %v, want %v", got, want)
}

// noticeReceiver is a tenant's webhook endpoint that checks signatures.
type noticeReceiver struct {
	mu      sync.Mutex
	secret  string
	notices []map[string]any
	bad     int
}

func (rc *noticeReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err := notify.Verify(rc.secret, r.Header.Get(notify.SignatureHeader), body, time.Minute, time.Now()); err != nil {
		rc.bad++
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var n map[string]any
	json.Unmarshal(body, &n)
	rc.notices = append(rc.notices, n)
}

func (rc *noticeReceiver) received() (notices []map[string]any, bad int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]map[string]any(nil), rc.notices...), rc.bad
}

func TestUsageNoticesAreSignedAndSentOnce(t *testing.T) {
	t.Setenv("CONTEXTLITE_WEBHOOKS_ALLOW_PRIVATE", "true") // the receiver is on loopback
	dir := t.TempDir()
	tc := startServer(t, dir, smallFreeTier)
	acme := signup(t, tc, "NoticeCo")
	base := acme.URL + "/api/v1"
	rc := &noticeReceiver{}
	hook := httptest.NewServer(rc)
	defer hook.Close()

	var set struct {
		URL    string `json:"url"`
		Secret string `json:"secret"`
	}
	call(t, tc, "PUT", base+"/notifications", acme.APIKey, map[string]string{"url": hook.URL + "/hooks"}, http.StatusOK, &set)
	if set.URL != hook.URL+"/hooks" || !strings.HasPrefix(set.Secret, "whsec_") {
		t.Fatalf("notifications = %+v", set)
	}
	rc.mu.Lock()
	rc.secret = set.Secret
	rc.mu.Unlock()
	var e errorCode
	call(t, tc, "PUT", base+"/notifications", acme.APIKey, map[string]string{"url": "ftp://example.com"}, http.StatusUnprocessableEntity, &e)

	call(t, tc, "POST", base+"/documents", acme.APIKey, map[string]string{"path": "a.go", "content": "package a\n\nfunc Notice() {}\n"}, http.StatusCreated, nil)
	for range 5 {
		call(t, tc, "GET", base+"/documents/search?q=notice", acme.APIKey, nil, http.StatusOK, nil)
	}
	notices := waitForNotices(t, rc, 2)
	for i, th := range []float64{80, 100} {
		n := notices[i]
		if n["meter"] != "queries" || n["threshold"] != th || n["tenant_id"] != acme.TenantID || n["upgrade_to"] != "starter" {
			t.Errorf("notice %d = %v", i, n)
		}
	}

	// A restart (the shared state closed and opened again) sends no
	// notice twice, though the usage is past both thresholds.
	resetZones(tc)
	tc = startServer(t, dir, smallFreeTier)
	call(t, tc, "POST", base+"/documents", acme.APIKey, map[string]string{"path": "b.go", "content": "package b"}, http.StatusCreated, nil)
	call(t, tc, "GET", base+"/documents/search?q=notice", acme.APIKey, nil, http.StatusTooManyRequests, nil)
	time.Sleep(500 * time.Millisecond)
	if got, bad := rc.received(); len(got) != 2 || bad != 0 {
		t.Fatalf("after restart: %d notices (%d badly signed), want the same 2", len(got), bad)
	}
}

func waitForNotices(t *testing.T, rc *noticeReceiver, n int) []map[string]any {
	t.Helper()
	for range 100 {
		got, bad := rc.received()
		if bad != 0 {
			t.Fatalf("%d notices with bad signatures", bad)
		}
		if len(got) >= n {
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
	got, _ := rc.received()
	t.Fatalf("received %d notices, want %d", len(got), n)
	return nil
}

func TestPerIPLimitComesBeforeAuth(t *testing.T) {
	ipBurst, ipWindow = "3", "1m"
	t.Cleanup(func() { ipBurst, ipWindow = "1000", "1s" })
	tc := startServer(t, t.TempDir(), "")
	statuses := make([]int, 6)
	for i := range statuses {
		resp, data := rawCall(t, tc, "GET", testBase+"/api/v1/documents", "clc_live_notarealkeynotarealkeynotarealkey", "")
		statuses[i] = resp.StatusCode
		if resp.StatusCode == http.StatusTooManyRequests && (!strings.Contains(string(data), "rate_limited") || resp.Header.Get("Retry-After") == "") {
			t.Fatalf("429 body %s, Retry-After %q", data, resp.Header.Get("Retry-After"))
		}
	}
	if statuses[0] != http.StatusUnauthorized || statuses[5] != http.StatusTooManyRequests {
		t.Fatalf("statuses of 6 guesses in a row = %v; want 401 first and 429 once past 3 a minute", statuses)
	}
}

func TestTierRateLimitPerTenant(t *testing.T) {
	tc := startServer(t, t.TempDir(), "")
	acme := signup(t, tc, "BurstCo")
	other := signup(t, tc, "CalmCo")
	limited := 0
	for range 30 { // the free tier allows a burst of 20 in 2 s
		resp, data := rawCall(t, tc, "GET", acme.URL+"/api/v1/documents", acme.APIKey, "")
		switch {
		case resp.StatusCode == http.StatusTooManyRequests:
			if !strings.Contains(string(data), `"rate_limited"`) || resp.Header.Get("Retry-After") == "" {
				t.Fatalf("429 body %s, Retry-After %q", data, resp.Header.Get("Retry-After"))
			}
			limited++
		case resp.StatusCode != http.StatusOK:
			t.Fatalf("status %d: %s", resp.StatusCode, data)
		}
	}
	if limited == 0 || limited > 10 {
		t.Fatalf("%d of 30 requests in a burst were limited, want 10 or fewer but some", limited)
	}
	// Another tenant of the same tier has its own budget.
	call(t, tc, "GET", other.URL+"/api/v1/documents", other.APIKey, nil, http.StatusOK, nil)

	time.Sleep(2 * time.Second)
	var usage struct {
		Rejected map[string]int64 `json:"rejected"`
	}
	call(t, tc, "GET", acme.URL+"/api/v1/usage", acme.APIKey, nil, http.StatusOK, &usage)
	if usage.Rejected["rate_limit"] != int64(limited) {
		t.Fatalf("rejected = %v, want rate_limit %d", usage.Rejected, limited)
	}
}
