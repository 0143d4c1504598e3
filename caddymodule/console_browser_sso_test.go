package caddymodule

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestConsoleSSOInBrowser logs in to the console of an enterprise tenant
// through its identity provider in headless Chromium: the login page's
// SSO form, the provider (which logs its user in at once), and back to
// the tenant's overview; then the audit log, which the enterprise tier
// has. Like TestConsoleInBrowser, any JS error or CSP violation fails it.
func TestConsoleSSOInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("the browser test runs without -short")
	}
	bin := chromiumPath(t)
	t.Setenv("CONTEXTLITE_ADMIN_TOKEN", "op-token")
	t.Setenv("CONTEXTLITE_WEBHOOKS_ALLOW_PRIVATE", "true") // the provider is on loopback
	dir := t.TempDir()
	tc := startServer(t, dir, "")
	tenant := newSSOTenant(t, tc, "BrowserSSO")
	c := newChrome(t, bin, trustedKeys(t, dir))
	c.watchesCSP()

	pages := c.documentsOpened()
	c.visit("/console/login", http.StatusOK, "")
	c.do("name the tenant", chromedp.SendKeys(chromedp.ID("tenant"), tenant.Slug))
	c.screenshot("sso-login")
	c.do("click Log in with SSO", chromedp.Click(chromedp.CSS(`form[action="/console/sso/start"] button[type=submit]`), chromedp.NodeVisible))
	c.waitAt(testBase + "/console/overview")
	c.check("log in with SSO")
	c.screenshot("sso-overview")

	// The way went through the provider and its callback.
	want := []string{testBase + "/console/sso/start", tenant.idp.URL + "/auth?", testBase + "/console/sso/callback?", testBase + "/console/overview"}
	got := pages()
	at := 0
	for _, u := range got {
		if at < len(want) && strings.HasPrefix(u, want[at]) {
			at++
		}
	}
	if at < len(want) || tenant.idp.Exchanges() != 1 {
		t.Fatalf("the login went through %q, with %d codes exchanged; want %q in order and 1", got, tenant.idp.Exchanges(), want)
	}
	if body := c.text("body"); !strings.Contains(body, "BrowserSSO") || !strings.Contains(body, "Tier enterprise") {
		t.Fatalf("the overview is not the tenant's: %s", body)
	}

	// The session is the tenant's admin: its audit log shows the login.
	c.visit("/console/audit", http.StatusOK, "sso-audit")
	if rows := inTab(c, "the audit log", chromedp.Evaluate[int](`document.querySelectorAll("main tbody tr").length`)); rows == 0 {
		t.Fatalf("the enterprise tenant's audit log is empty: %s", c.text("main"))
	}
	c.logout()
}

// waitAt waits up to 10 s, through the navigations on the way, until the
// tab has loaded url.
func (c *chrome) waitAt(url string) {
	c.t.Helper()
	for range 100 {
		ctx, cancel := context.WithTimeout(c.ctx, time.Second)
		at, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`location.href === "`+url+`" && document.readyState === "complete"`))
		cancel()
		if err == nil && at {
			return
		}
		time.Sleep(100 * time.Millisecond) // a navigation interrupts the evaluation
	}
	c.t.Fatalf("the tab never loaded %s; it is at %s", url, c.location())
}

// documentsOpened records the URLs of the documents the tab requests from
// now on, redirects included; the function it returns lists them.
func (c *chrome) documentsOpened() func() []string {
	c.t.Helper()
	var mu sync.Mutex
	var urls []string
	err := chromedp.Listen(c.ctx, func(ev any) {
		if ev, ok := ev.(*network.EventRequestWillBeSent); ok && ev.Type == network.ResourceTypeDocument {
			mu.Lock()
			urls = append(urls, ev.Request.URL)
			mu.Unlock()
		}
	})
	if err != nil {
		c.t.Fatal(err)
	}
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(urls)
	}
}
