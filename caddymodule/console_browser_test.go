package caddymodule

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// TestConsoleInBrowser drives the console in headless Chromium through the
// real server: sign up, copy the key, log in, the overview, create and
// revoke a key, a forged cross-site form, another tenant's key, log out.
// Any uncaught exception, console error, CSP violation or failed
// subresource fails it. It saves a screenshot of every page it visits
// under its temporary directory, and into $CONTEXTLITE_SCREENSHOTS too
// when that is set (the README's images come from there).
//
// Each step is a method of chrome; a new page gets its own: it opens the
// page with c.visit (its status and screenshot name), acts through its
// forms with c.submit and checks what the page shows.
func TestConsoleInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("the browser test runs without -short")
	}
	bin := chromiumPath(t)
	dir := t.TempDir()
	tc := startServer(t, dir, "")
	attacker := attackerSite(t)
	c := newChrome(t, bin, trustedKeys(t, dir, attacker.Certificate()))
	c.watchesCSP()

	admin := c.signup()
	c.copyKey(admin)
	useTenant(t, tc, admin)
	c.login(admin)
	c.overview()
	created := c.createKey(tc)
	c.revokeKey(tc, admin, created)
	c.crossSiteForms(tc, admin, attacker.URL)
	c.otherTenantsKey(tc)
	c.logout()
}

// chromiumPath returns the Chromium to drive. Without one the test is
// skipped, except under CI=true, where it fails.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium on PATH; CI installs it (apt-get install chromium)")
	}
	t.Skip("no Chromium on PATH: install it (apt-get install chromium) to run the console's browser test")
	return ""
}

// trustedKeys returns the SPKI fingerprints Chromium accepts for the
// test: the server's local CA (as presented: the intermediate signs the
// leaves) and the certificates of extra servers.
func trustedKeys(t *testing.T, dataDir string, extra ...*x509.Certificate) []string {
	t.Helper()
	certs := extra
	for _, name := range []string{"root.crt", "intermediate.crt"} {
		raw, err := os.ReadFile(filepath.Join(dataDir, "caddy", "pki", "authorities", "local", name))
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(raw)
		if block == nil {
			t.Fatalf("%s: no PEM block", name)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		certs = append(certs, cert)
	}
	keys := make([]string, len(certs))
	for i, cert := range certs {
		sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
		keys[i] = base64.StdEncoding.EncodeToString(sum[:])
	}
	return keys
}

// chrome is one headless Chromium tab and what went wrong in it unseen:
// uncaught exceptions, console errors (CSP violations among them) and
// subresources that failed.
type chrome struct {
	t     *testing.T
	ctx   context.Context
	shots []string // directories the screenshots go to

	mu       sync.Mutex
	problems []string
	doc      *network.Response // the last document loaded
}

// Viewport of the browser, and so of the screenshots.
const chromeWidth, chromeHeight = 1000, 700

// newChrome starts Chromium for the test, resolving every host name to
// 127.0.0.1 and accepting the certificates whose keys are trusted.
func newChrome(t *testing.T, bin string, trusted []string) *chrome {
	t.Helper()
	profile := filepath.Join(t.TempDir(), "profile")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(chromeWidth, chromeHeight),
		chromedp.Flag("host-resolver-rules", "MAP * 127.0.0.1"),
		chromedp.Flag("ignore-certificate-errors-spki-list", strings.Join(trusted, ",")),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium's sandbox refuses to run as root
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	c := &chrome{t: t, ctx: ctx, shots: []string{t.TempDir()}}
	if dir := os.Getenv("CONTEXTLITE_SCREENSHOTS"); dir != "" {
		c.shots = append(c.shots, dir)
	}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	if err := chromedp.Listen(ctx, c.record); err != nil {
		t.Fatal(err)
	}
	c.do("the viewport", chromedp.EmulateViewport(chromeWidth, chromeHeight))
	// The page counts as focused, as a user's would: the clipboard needs it.
	c.do("focus emulation", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true})
		return err
	}))
	return c
}

// record keeps the problems among a tab's events; it runs in the tab's
// event loop.
func (c *chrome) record(ev any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil {
			text += " " + d.Exception.Description
		}
		c.problems = append(c.problems, fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber+1, text))
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var args []string
			for _, a := range ev.Args {
				args = append(args, strings.Trim(string(a.Value), `"`)+a.Description)
			}
			c.problems = append(c.problems, "console."+string(ev.Type)+": "+strings.Join(args, " "))
		}
	case *log.EventEntryAdded:
		// Failed requests are judged below, by their status.
		if e := ev.Entry; e.Level == log.EntryLevelError && e.Source != log.EntrySourceNetwork {
			c.problems = append(c.problems, fmt.Sprintf("browser log (%s): %s %s", e.Source, e.Text, e.URL))
		}
	case *network.EventResponseReceived:
		switch r := ev.Response; {
		case ev.Type == network.ResourceTypeDocument:
			c.doc = r
		case r.Status >= 400 && !strings.HasSuffix(r.URL, "/favicon.ico"):
			c.problems = append(c.problems, fmt.Sprintf("%s %s: %d", ev.Type, r.URL, r.Status))
		}
	}
}

// cspWatch reports each CSP violation of a page as a console error.
const cspWatch = `document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline code") + " in " + e.sourceFile + ":" + e.lineNumber);
});`

// watchesCSP installs cspWatch in every page and checks that a violation
// is reported.
func (c *chrome) watchesCSP() {
	c.do("the CSP watch", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspWatch})
		return err
	}))
	c.visit("/console/login", http.StatusOK, "")
	c.do("inline script", chromedp.Evaluate[chromedp.Void](
		`(() => { const s = document.createElement("script"); s.textContent = "1"; document.body.append(s); })()`))
	// Both the page's event and the browser's log report it.
	if !c.waitProblems("CSP violation: script-src", "Content Security Policy") {
		c.t.Fatal("an inline script on a console page was not reported as a CSP violation")
	}
}

// waitProblems waits up to 5 s until problems containing each of texts
// are recorded, then drops the problems recorded; it reports whether all
// came.
func (c *chrome) waitProblems(texts ...string) bool {
	for range 50 {
		c.mu.Lock()
		all := true
		for _, text := range texts {
			all = all && slices.ContainsFunc(c.problems, func(p string) bool { return strings.Contains(p, text) })
		}
		if all {
			c.problems = nil
		}
		c.mu.Unlock()
		if all {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

// inTab runs action on the tab within 15 s and returns its value.
func inTab[T any](c *chrome, what string, action chromedp.Action[T]) T {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 15*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		c.t.Fatalf("%s: %v", what, err)
	}
	return v
}

func (c *chrome) do(what string, action chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	inTab(c, what, action)
}

// visit opens path of the apex; the page must answer want.
func (c *chrome) visit(path string, want int, shot string) {
	c.t.Helper()
	c.expect("GET "+path, inTab(c, "GET "+path, chromedp.NavigateResponse(testBase+path)), want, shot)
}

// submit clicks the button sel and waits for the page the form leads to,
// which must answer want.
func (c *chrome) submit(sel string, want int, shot string) {
	c.t.Helper()
	resp := inTab(c, "submit "+sel, func(ctx context.Context, _ *chromedp.Target) (*network.Response, error) {
		return chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	})
	c.expect("submit "+sel, resp, want, shot)
}

// expect checks the status of a page the tab loaded, that nothing went
// wrong in it, and saves its screenshot as console-<shot>.png (none when
// shot is empty).
func (c *chrome) expect(what string, resp *network.Response, want int, shot string) {
	c.t.Helper()
	if resp == nil || resp.Status != int64(want) {
		c.t.Fatalf("%s: answer %+v, want status %d", what, resp, want)
	}
	c.check(what)
	if shot != "" {
		c.screenshot(shot)
	}
}

// check fails the test on the problems recorded so far.
func (c *chrome) check(what string) {
	c.t.Helper()
	c.mu.Lock()
	problems := c.problems
	c.problems = nil
	c.mu.Unlock()
	for _, p := range problems {
		c.t.Errorf("%s: %s", what, p)
	}
	if len(problems) > 0 {
		c.t.FailNow()
	}
}

// screenshot saves the viewport as console-<name>.png.
func (c *chrome) screenshot(name string) {
	c.t.Helper()
	png := inTab(c, "screenshot "+name, chromedp.CaptureScreenshot())
	for _, dir := range c.shots {
		if err := os.WriteFile(filepath.Join(dir, "console-"+name+".png"), png, 0o644); err != nil {
			c.t.Fatal(err)
		}
	}
}

// text returns the text of the first element sel matches.
func (c *chrome) text(sel string) string {
	c.t.Helper()
	return inTab(c, "text of "+sel, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
}

// location returns the tab's URL.
func (c *chrome) location() string {
	c.t.Helper()
	return inTab(c, "location", chromedp.Location())
}

// signup signs up with the form and returns the key it shows, once.
func (c *chrome) signup() string {
	c.t.Helper()
	c.visit("/console/", http.StatusOK, "")
	if got := c.location(); got != testBase+"/console/login" {
		c.t.Fatalf("the console without a session is at %s, want the login page", got)
	}
	c.visit("/console/signup", http.StatusOK, "signup")
	c.do("fill in the signup form", chromedp.Steps(
		chromedp.SendKeys(chromedp.ID("email"), "ops@browser.test"),
		chromedp.SendKeys(chromedp.ID("company"), "Browser Co"),
	))
	c.submit(`form[action="/console/signup"] button[type=submit]`, http.StatusCreated, "signup-done")
	key := inTab(c, "the key", chromedp.Value(chromedp.ID("key")))
	if !apiKeyText.MatchString(key) {
		c.t.Fatalf("the signup page shows %q, not a key", key)
	}
	if q := c.text("#quickstart"); !strings.Contains(q, key) {
		c.t.Fatalf("the quickstart lacks the key: %s", q)
	}
	return key
}

// copyKey clicks the copy button of the key shown, which must put want on
// the clipboard.
func (c *chrome) copyKey(want string) {
	c.t.Helper()
	c.do("clipboard permission", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		for _, name := range []string{"clipboard-read", "clipboard-write"} {
			_, err := chromedp.CallBrowser(ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
				Permission: &cdpbrowser.PermissionDescriptor{Name: name}, Setting: cdpbrowser.PermissionSettingGranted, Origin: testBase})
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		return nil
	}))
	// The button is hidden until copy.js shows it: visible means it ran.
	c.do("click Copy", chromedp.Click(chromedp.CSS(`button[data-copy="key"]`), chromedp.NodeVisible))
	inTab(c, "the button says Copied", chromedp.Poll[bool](
		`document.querySelector('button[data-copy="key"]').textContent === "Copied"`, chromedp.WithPollingTimeout(5*time.Second)))
	got := inTab(c, "read the clipboard", chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
	if got != want {
		c.t.Fatalf("the clipboard holds %q, want the key", got)
	}
	c.check("copy the key")
}

// useTenant gives the tenant of key documents and queries, so the
// overview has usage to show.
func useTenant(t *testing.T, tc *caddytest.Tester, key string) {
	t.Helper()
	for i, doc := range []string{"billing/invoice.go", "billing/refund.go", "docs/README.md"} {
		call(t, tc, "POST", testBase+"/api/v1/documents", key,
			map[string]string{"path": doc, "content": fmt.Sprintf("Document %d about invoices and refunds.\n", i)}, http.StatusCreated, nil)
	}
	for _, q := range []string{"invoice", "refund", "readme", "invoices and refunds", "document"} {
		call(t, tc, "POST", testBase+"/api/v1/context/assemble", key, map[string]any{"query": q, "max_tokens": 500}, http.StatusOK, nil)
	}
}

// login logs in with key from the login page.
func (c *chrome) login(key string) {
	c.t.Helper()
	c.visit("/console/login", http.StatusOK, "login")
	c.do("type the key", chromedp.SendKeys(chromedp.ID("api_key"), key))
	c.submit(`form[action="/console/login"] button[type=submit]`, http.StatusOK, "")
	if got := c.location(); got != testBase+"/console/overview" {
		c.t.Fatalf("login led to %s, want the overview", got)
	}
}

// overview checks the meters and the charts, once the usage reached the
// control plane.
func (c *chrome) overview() {
	c.t.Helper()
	for i := 0; !strings.Contains(c.text("main"), "Queries per day (total 5,"); i++ {
		if i == 50 {
			c.t.Fatalf("the overview never showed the 5 queries: %s", c.text("main"))
		}
		time.Sleep(100 * time.Millisecond)
		c.visit("/console/overview", http.StatusOK, "")
	}
	meters := inTab(c, "meters", chromedp.Evaluate[int](`document.querySelectorAll("main meter").length`))
	bars := inTab(c, "chart bars", chromedp.Evaluate[int](`document.querySelectorAll("svg.chart rect").length`))
	if meters < 1 || bars < 1 {
		c.t.Fatalf("the overview has %d meters and %d chart bars", meters, bars)
	}
	// The stylesheet applied: the skip link is moved off screen.
	if x := inTab(c, "skip link", chromedp.Evaluate[float64](`document.querySelector("a.skip").getBoundingClientRect().left`)); x >= 0 {
		c.t.Fatalf("console.css did not apply: the skip link is at x=%v", x)
	}
	c.screenshot("overview")
}

// createKey creates a key with the form, which shows it once, and
// returns it.
func (c *chrome) createKey(tc *caddytest.Tester) string {
	c.t.Helper()
	c.visit("/console/keys", http.StatusOK, "keys")
	c.do("name the key", chromedp.SendKeys(chromedp.ID("name"), "deploy"))
	c.submit(`form[action="/console/keys"] button[type=submit]`, http.StatusCreated, "key-created")
	key := inTab(c, "the new key", chromedp.Value(chromedp.ID("key")))
	if !apiKeyText.MatchString(key) || !keyWorks(c.t, tc, key) {
		c.t.Fatalf("the created key %q does not work", key)
	}
	c.copyKey(key)
	c.visit("/console/keys", http.StatusOK, "")
	if list := c.text("main"); strings.Contains(list, key) || !strings.Contains(list, key[:13]) {
		c.t.Fatalf("the key list shows the key, or lacks its prefix: %s", list)
	}
	return key
}

// revokeKey revokes key with its row's button.
func (c *chrome) revokeKey(tc *caddytest.Tester, admin, key string) {
	c.t.Helper()
	id := keyID(c.t, tc, admin, key[:13])
	c.submit(`form[action="/console/keys/`+id+`/revoke"] button`, http.StatusOK, "key-revoked")
	if keyWorks(c.t, tc, key) {
		c.t.Fatal("the revoked key still works")
	}
	if got := c.location(); got != testBase+"/console/keys" {
		c.t.Fatalf("revoking led to %s, want the key list", got)
	}
	row := inTab(c, "the revoked key's row", chromedp.Evaluate[string](
		`[...document.querySelectorAll("tbody tr")].map(r => r.textContent).find(t => t.includes("`+key[:13]+`")) || ""`))
	if !strings.Contains(row, "revoked") {
		c.t.Fatalf("the key's row says %q, want revoked", row)
	}
}

// attackerSite serves, on another loopback port, a page that submits a
// form to the console's POST /console/keys as soon as it loads.
func attackerSite(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>Win a prize</title>
<form id="f" method="post" action="%s/console/keys">
<input name="csrf" value="guessed"><input name="name" value="stolen"><input name="scope" value="admin">
</form>
<script>document.getElementById("f").submit();</script>`, testBase)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// crossSiteForms opens the attacker's page from another site (an IP
// address) and from the same site on another port (whose requests carry
// the session cookie); the console must refuse both forms.
func (c *chrome) crossSiteForms(tc *caddytest.Tester, admin, attackerURL string) {
	c.t.Helper()
	_, port, _ := strings.Cut(strings.TrimPrefix(attackerURL, "https://"), ":")
	before := len(keyList(c.t, tc, admin))
	for _, origin := range []string{"https://127.0.0.1:" + port, "https://localhost:" + port} {
		c.do("open "+origin, chromedp.Navigate(origin+"/"))
		inTab(c, "the forged form's answer", chromedp.Poll[bool](
			`location.href === "`+testBase+`/console/keys" && document.readyState === "complete"`,
			chromedp.WithPollingTimeout(10*time.Second)))
		c.mu.Lock()
		doc := c.doc
		c.mu.Unlock()
		if doc.Status != http.StatusForbidden || !strings.Contains(c.text("main"), "another site") {
			c.t.Fatalf("a form from %s got %d: %s", origin, doc.Status, c.text("main"))
		}
		c.check("a form from " + origin)
		c.screenshot("csrf-refused")
	}
	if after := len(keyList(c.t, tc, admin)); after != before {
		c.t.Fatalf("the forged forms changed the keys: %d, then %d", before, after)
	}
}

// keyList returns the keys the API lists for admin's tenant.
func keyList(t *testing.T, tc *caddytest.Tester, admin string) []struct{ ID, Prefix string } {
	t.Helper()
	var list struct {
		Data []struct{ ID, Prefix string }
	}
	call(t, tc, "GET", testBase+"/api/v1/keys", admin, nil, http.StatusOK, &list)
	return list.Data
}

// otherTenantsKey points the session's revoke and rotate forms at another
// tenant's key: the console answers 404 and the key keeps working. The
// console is not served on the other tenant's host either.
func (c *chrome) otherTenantsKey(tc *caddytest.Tester) {
	c.t.Helper()
	other := signup(c.t, tc, "Elsewhere")
	victim := createKey(c.t, tc, other.APIKey, "read")
	for _, action := range []string{"revoke", "rotate"} {
		c.visit("/console/keys", http.StatusOK, "")
		c.do("aim the "+action+" form", chromedp.Evaluate[chromedp.Void](
			`document.querySelector('form[action$="/`+action+`"]').action = "/console/keys/`+victim.ID+`/`+action+`"`))
		c.submit(`form[action$="/`+victim.ID+`/`+action+`"] button[type=submit]`, http.StatusNotFound, "")
	}
	if !keyWorks(c.t, tc, victim.Key) {
		c.t.Fatal("a session of one tenant revoked or rotated another tenant's key")
	}
	host := tenantURL(other.Slug)
	resp := inTab(c, "the other tenant's host", chromedp.NavigateResponse(host+"/console/overview"))
	c.expect("GET "+host+"/console/overview", resp, http.StatusNotFound, "")
}

// logout logs out: the login page follows, and the overview sends back
// to it.
func (c *chrome) logout() {
	c.t.Helper()
	c.visit("/console/overview", http.StatusOK, "")
	c.submit(`form[action="/console/logout"] button`, http.StatusOK, "logged-out")
	for _, path := range []string{"", "/console/overview"} {
		if path != "" {
			c.visit(path, http.StatusOK, "")
		}
		if got := c.location(); got != testBase+"/console/login" {
			c.t.Fatalf("after logout the tab is at %s, want the login page", got)
		}
	}
}
