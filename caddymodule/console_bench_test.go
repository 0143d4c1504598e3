//go:build unix

package caddymodule

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/contextlite/cloud/internal/latency"
	"github.com/contextlite/cloud/internal/pgtest"
	"github.com/contextlite/cloud/metering"
	"github.com/contextlite/cloud/tenancy"
)

// consolePages are the console's pages BenchmarkConsolePages measures;
// one not served yet (404) is skipped.
var consolePages = []string{"login", "signup", "overview", "keys", "documents", "playground", "billing", "settings", "audit"}

// Load of BenchmarkConsolePages.
const (
	consoleBenchDocs          = 10_000
	consoleBenchQueriesPerDay = 2_000
	consoleBenchFetches       = 200
)

// BenchmarkConsolePages fetches each console page through the root
// Caddyfile, served in-process over HTTPS, for an enterprise tenant with
// 10,000 documents (~2 KB pieces of GOROOT's Go sources) on the last day
// of a month-long billing period with 2,000 queries a day in the control
// plane (a queries and a tokens event each, as the shipper stores them),
// on each control plane (PostgreSQL when CONTEXTLITE_TEST_DATABASE_URL is
// set). One client logs in with the tenant's admin key and fetches each
// page 200 times, one after another on a keep-alive connection; it
// reports each page's p50 and p95 and its weight: the HTML with the
// stylesheet and scripts it loads. Run it with -benchtime 1x.
func BenchmarkConsolePages(b *testing.B) {
	b.Run("control=sqlite", func(b *testing.B) { consolePagesOn(b, "") })
	b.Run("control=postgres", func(b *testing.B) { consolePagesOn(b, pgtest.DSN(b)) })
}

// consolePagesOn runs BenchmarkConsolePages on the control plane dsn
// (empty: SQLite).
func consolePagesOn(b *testing.B, dsn string) {
	b.Setenv("CONTEXTLITE_DATABASE_URL", dsn)
	b.Setenv("CONTEXTLITE_CONSOLE_BURST", "100000")
	tc := startBenchServer(b, b.TempDir())
	// resetZones, without saving the config in the user's config directory.
	b.Cleanup(func() { tc.InitServer("{\n\tadmin "+testAdminAddr+"\n\tpersist_config off\n}\n", "caddyfile") })
	tenantID, key := enterpriseTenant(b)
	days := usageHistory(b, tenantID, time.Now())
	start := time.Now()
	fillTenant(b, tenantID, benchPieces(b), consoleBenchDocs)
	b.Logf("built the tenant: %d docs in %v; %d days of usage in the period", consoleBenchDocs, time.Since(start).Round(time.Millisecond), days)

	c := benchConsoleLogin(b, key)
	for b.Loop() {
		for _, name := range consolePages {
			path := "/console/" + name
			status, html := c.get(b, path)
			if status == http.StatusNotFound {
				b.Logf("%s: not served yet, skipped", path)
				continue
			}
			if status != http.StatusOK {
				b.Fatalf("GET %s = %d: %s", path, status, html)
			}
			var took latency.Samples
			for range consoleBenchFetches {
				t0 := time.Now()
				c.get(b, path)
				took = append(took, time.Since(t0))
			}
			took.Report(b, name+"-", "ms")
			b.ReportMetric(float64(c.weight(b, html))/1000, name+"-KB")
		}
	}
}

// usageHistory moves the tenant's billing anchor so that now is in the
// last hour of a month-long period, stores consoleBenchQueriesPerDay
// queries for each day of it up to now, and returns the number of days.
func usageHistory(b *testing.B, tenantID string, now time.Time) int {
	b.Helper()
	ctx, store := context.Background(), sharedStates()[0].store
	anchor := now.AddDate(0, -1, 0).Add(time.Hour)
	if err := store.SetBillingAnchor(ctx, tenantID, anchor); err != nil {
		b.Fatal(err)
	}
	p := metering.PeriodAt(now, anchor)
	var events []tenancy.UsageEvent
	days := 0
	for day := p.Start; day.Before(now); day = day.AddDate(0, 0, 1) {
		days++
		step := min(now.Sub(day), 24*time.Hour) / consoleBenchQueriesPerDay
		for i := range consoleBenchQueriesPerDay {
			at := day.Add(time.Duration(i) * step)
			id := fmt.Sprintf("bench/%d/%d", days, i)
			events = append(events,
				tenancy.UsageEvent{TenantID: tenantID, Meter: metering.Queries, Quantity: 1, IdempotencyKey: id + "/q", OccurredAt: at},
				tenancy.UsageEvent{TenantID: tenantID, Meter: metering.Tokens, Quantity: 1500, IdempotencyKey: id + "/t", OccurredAt: at})
		}
	}
	for from := 0; from < len(events); from += 1000 {
		if _, err := store.AddUsage(ctx, events[from:min(from+1000, len(events))]); err != nil {
			b.Fatal(err)
		}
	}
	return days
}

// consoleClient is a logged-in console session over one keep-alive
// connection.
type consoleClient struct{ c *http.Client }

// benchConsoleLogin logs in to the console with key.
func benchConsoleLogin(b *testing.B, key string) *consoleClient {
	b.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		b.Fatal(err)
	}
	c := &consoleClient{benchClient()}
	c.c.Jar = jar
	c.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	b.Cleanup(c.c.CloseIdleConnections)
	_, page := c.get(b, "/console/login")
	m := csrfInput.FindStringSubmatch(page)
	if m == nil {
		b.Fatalf("the login page has no CSRF token: %s", page)
	}
	resp, err := c.c.PostForm(testBase+"/console/login", url.Values{"csrf": {m[1]}, "api_key": {key}})
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/overview" {
		b.Fatalf("login = %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return c
}

// get fetches path of the apex and returns the status and the body.
func (c *consoleClient) get(b *testing.B, path string) (int, string) {
	b.Helper()
	resp, err := c.c.Get(testBase + path)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, string(body)
}

// pageAssets are the stylesheets and scripts a page loads.
var pageAssets = regexp.MustCompile(`<(?:link rel="stylesheet" href|script src)="([^"]+)"`)

// weight returns the bytes of html and of the stylesheets and scripts it loads.
func (c *consoleClient) weight(b *testing.B, html string) int {
	b.Helper()
	n := len(html)
	for _, m := range pageAssets.FindAllStringSubmatch(html, -1) {
		if !strings.HasPrefix(m[1], "/") {
			b.Fatalf("the page loads %s from elsewhere", m[1])
		}
		status, body := c.get(b, m[1])
		if status != http.StatusOK {
			b.Fatalf("GET %s = %d", m[1], status)
		}
		n += len(body)
	}
	return n
}
