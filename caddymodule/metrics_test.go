package caddymodule

import (
	"bufio"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/contextlite/cloud/internal/pgtest"
)

// series is one scraped sample: its metric name, labels and value.
type series struct {
	name   string
	labels map[string]string
	value  float64
}

var labelPair = regexp.MustCompile(`(\w+)="((?:[^"\\]|\\.)*)"`)

// scrape reads the Prometheus text format from Caddy's admin /metrics.
func scrape(t *testing.T) []series {
	t.Helper()
	resp, err := http.Get("http://" + testAdminAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: status %d", resp.StatusCode)
	}
	var out []series
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		s := series{name: line[:i], labels: map[string]string{}, value: v}
		if j := strings.IndexByte(line[:i], '{'); j >= 0 {
			s.name = line[:j]
			for _, m := range labelPair.FindAllStringSubmatch(line[j:i], -1) {
				s.labels[m[1]] = m[2]
			}
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// value sums the samples of name whose labels include want; ok is false
// when there are none.
func value(all []series, name string, want ...string) (sum float64, ok bool) {
next:
	for _, s := range all {
		if s.name != name {
			continue
		}
		for i := 0; i+1 < len(want); i += 2 {
			if s.labels[want[i]] != want[i+1] {
				continue next
			}
		}
		sum, ok = sum+s.value, true
	}
	return sum, ok
}

// positive fails unless the samples of name with the labels sum above zero.
func positive(t *testing.T, all []series, name string, labels ...string) float64 {
	t.Helper()
	v, ok := value(all, name, labels...)
	if !ok || v <= 0 {
		t.Errorf("%s%v = %v (present %v), want > 0", name, labels, v, ok)
	}
	return v
}

func TestMetrics(t *testing.T) {
	dir := t.TempDir()
	tc := startServer(t, dir, "")
	acme := signup(t, tc, "Acme")
	base := acme.URL + "/api/v1"
	doc := map[string]string{"path": "billing/invoice.go", "content": "package billing\n\n// SendInvoice mails an invoice.\nfunc SendInvoice() {}\n"}
	call(t, tc, "POST", base+"/documents", acme.APIKey, doc, http.StatusCreated, nil)
	call(t, tc, "GET", base+"/documents", acme.APIKey, nil, http.StatusOK, nil)
	call(t, tc, "GET", base+"/documents", "", nil, http.StatusUnauthorized, nil)
	call(t, tc, "POST", base+"/context/assemble", acme.APIKey, map[string]any{"query": "send invoice"}, http.StatusOK, nil)
	if resp, _ := rawCall(t, tc, "POST", testBase+"/webhooks/stripe", "", "{}"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("stripe webhook without billing: status %d", resp.StatusCode)
	}
	// The free tier allows 20 requests per 2 s; go past it.
	limited := false
	for range 60 {
		if resp, _ := rawCall(t, tc, "GET", base+"/documents", acme.APIKey, ""); resp.StatusCode == http.StatusTooManyRequests {
			limited = true
			break
		}
	}
	if !limited {
		t.Fatal("60 requests in a row were not rate limited")
	}

	var m []series
	for range 50 { // the usage shipper runs every 100ms
		if m = scrape(t); positiveOK(m, "contextlite_usage_last_shipped_timestamp_seconds") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	okBefore := positive(t, m, "contextlite_requests_total", "tier", "free", "outcome", "ok")
	positive(t, m, "contextlite_requests_total", "tier", "free", "outcome", "rate_limited")
	positive(t, m, "contextlite_request_duration_seconds_count", "tier", "free", "outcome", "ok")
	positive(t, m, "contextlite_assemble_duration_seconds_count", "tier", "free")
	positive(t, m, "contextlite_auth_total", "outcome", "ok")
	positive(t, m, "contextlite_auth_total", "outcome", "missing_credentials")
	positive(t, m, "contextlite_rejections_total", "reason", "rate_limit")
	positive(t, m, "contextlite_tenants", "tier", "free", "status", "active")
	positive(t, m, "contextlite_open_tenant_databases")
	positive(t, m, "contextlite_usage_last_shipped_timestamp_seconds")
	if _, ok := value(m, "contextlite_job_leader"); ok {
		t.Error("contextlite_job_leader reported without a shared control plane: the jobs run here")
	}
	positive(t, m, "contextlite_stripe_webhooks_total", "outcome", "disabled")
	if _, ok := value(m, "contextlite_usage_outbox_tenants"); !ok {
		t.Error("contextlite_usage_outbox_tenants missing")
	}
	for _, s := range m {
		for k, v := range s.labels {
			if v == acme.TenantID || v == acme.Slug {
				t.Errorf("%s: label %s is the tenant's id or slug %q", s.name, k, v)
			}
		}
	}

	// A reload with one query a month: the collectors are registered with
	// the new config's registry and keep their counts.
	time.Sleep(2 * time.Second) // past the rate-limit window
	tc = startServer(t, dir, "\t\ttier free {\n\t\t\tqueries_per_month 1\n\t\t}\n")
	call(t, tc, "GET", base+"/documents", acme.APIKey, nil, http.StatusOK, nil)
	call(t, tc, "POST", base+"/context/assemble", acme.APIKey, map[string]any{"query": "send invoice"}, http.StatusTooManyRequests, nil)
	m = scrape(t)
	if okAfter := positive(t, m, "contextlite_requests_total", "tier", "free", "outcome", "ok"); okAfter <= okBefore {
		t.Errorf("requests_total ok after reload = %v, before %v: not counting on", okAfter, okBefore)
	}
	positive(t, m, "contextlite_requests_total", "tier", "free", "outcome", "quota_exceeded")
	positive(t, m, "contextlite_rejections_total", "reason", "quota")
	positive(t, m, "contextlite_tenants", "tier", "free", "status", "active")
}

// positiveOK reports whether the samples of name sum above zero.
func positiveOK(all []series, name string) bool {
	v, ok := value(all, name)
	return ok && v > 0
}

// TestJobLeader: with the PostgreSQL control plane, the only server takes
// the lease of each singleton job, and says so in its metrics and /health.
func TestJobLeader(t *testing.T) {
	tc := startServerWith(t, t.TempDir(), pgtest.DSN(t), "")
	var m []series
	for range 50 { // the leases are taken as the server starts
		if m = scrape(t); sumOf(m, "contextlite_job_leader") == 2 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, job := range []string{"notices", "billing", "retention"} { // 1 each, not 2 for one
		if v, ok := value(m, "contextlite_job_leader", "job", job); !ok || v != 1 {
			t.Errorf("contextlite_job_leader{job=%q} = %v (present %v), want 1", job, v, ok)
		}
	}
	resp, data := rawCall(t, tc, "GET", testBase+"/health", "", "")
	var h struct {
		Jobs []string `json:"jobs"`
	}
	if err := json.Unmarshal(data, &h); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("health: %d %s (%v)", resp.StatusCode, data, err)
	}
	if strings.Join(h.Jobs, ",") != "billing,notices,retention" {
		t.Errorf("health reports jobs %q, want [billing notices retention]", h.Jobs)
	}
}

// sumOf is the sum of the series named name.
func sumOf(all []series, name string) float64 {
	v, _ := value(all, name)
	return v
}
