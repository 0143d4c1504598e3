package caddymodule

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/contextlite/cloud/internal/pgtest"
)

// browser is a client with a cookie jar that does not follow redirects.
type browser struct {
	t  *testing.T
	c  *http.Client
	tc *caddytest.Tester
}

func newBrowser(t *testing.T, tc *caddytest.Tester) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, tc: tc, c: &http.Client{Transport: tc.Client.Transport, Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends req and returns the response with its body read; every page
// must carry the security headers and no inline script or style.
func (b *browser) do(req *http.Request) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	checkPageSecurity(b.t, req, resp, string(body))
	return resp, string(body)
}

func (b *browser) get(path string) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest("GET", testBase+path, nil)
	return b.do(req)
}

// post sends form to path with extra headers (name, value pairs).
func (b *browser) post(path string, form url.Values, headers ...string) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest("POST", testBase+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return b.do(req)
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// token returns the CSRF token of the page at path.
func (b *browser) token(path string) string {
	b.t.Helper()
	_, body := b.get(path)
	m := csrfInput.FindStringSubmatch(body)
	if m == nil {
		b.t.Fatalf("GET %s has no CSRF token: %s", path, body)
	}
	return m[1]
}

// login logs in with key and returns the answer.
func (b *browser) login(key string) (*http.Response, string) {
	b.t.Helper()
	return b.post("/console/login", url.Values{"csrf": {b.token("/console/login")}, "api_key": {key}})
}

// mustLogin logs in with key, which must succeed.
func (b *browser) mustLogin(key string) {
	b.t.Helper()
	if resp, body := b.login(key); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/overview" {
		b.t.Fatalf("login = %d %s", resp.StatusCode, body)
	}
}

// expectStatus fails unless resp has status want.
func expectStatus(t *testing.T, what string, resp *http.Response, body string, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("%s = %d, want %d: %s", what, resp.StatusCode, want, body)
	}
}

var (
	scriptTag  = regexp.MustCompile(`(?i)<script[^>]*>`)
	inlineAttr = regexp.MustCompile(`(?i)\s(style|on[a-z]+)\s*=`)
	apiKeyText = regexp.MustCompile(`clc_(live|test)_[0-9A-Za-z]{39}`)
	// consoleScript is the only script tag a page may hold: a file of the console's own.
	consoleScript = regexp.MustCompile(`^<script src="/console/static/[a-z]+\.js" defer>$`)
)

// checkPageSecurity checks the headers of a console answer and that its
// HTML has no inline script, event handler or style attribute.
func checkPageSecurity(t *testing.T, req *http.Request, resp *http.Response, body string) {
	t.Helper()
	h := resp.Header
	if csp := h.Get("Content-Security-Policy"); csp != "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'" {
		t.Errorf("%s %s: Content-Security-Policy %q", req.Method, req.URL.Path, csp)
	}
	if h.Get("X-Frame-Options") != "DENY" || h.Get("Referrer-Policy") != "same-origin" {
		t.Errorf("%s %s: X-Frame-Options %q, Referrer-Policy %q", req.Method, req.URL.Path, h.Get("X-Frame-Options"), h.Get("Referrer-Policy"))
	}
	if !strings.HasPrefix(req.URL.Path, "/console/static/") && h.Get("Cache-Control") != "no-store" {
		t.Errorf("%s %s: Cache-Control %q", req.Method, req.URL.Path, h.Get("Cache-Control"))
	}
	if !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		return
	}
	if len(body) > 100<<10 {
		t.Errorf("%s %s: the page weighs %d bytes, more than 100 KB", req.Method, req.URL.Path, len(body))
	}
	for _, tag := range scriptTag.FindAllString(body, -1) {
		if !consoleScript.MatchString(tag) {
			t.Errorf("%s %s: script tag %s", req.Method, req.URL.Path, tag)
		}
	}
	if strings.Contains(body, "<script>") || inlineAttr.MatchString(body) {
		t.Errorf("%s %s: inline script or style in %s", req.Method, req.URL.Path, body)
	}
}

// TestConsole runs the console's pages through the server on each control plane.
func TestConsole(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { consoleFlow(t, startServer(t, t.TempDir(), "")) })
	t.Run("postgres", func(t *testing.T) { consoleFlow(t, startServerWith(t, t.TempDir(), pgtest.DSN(t), "")) })
}

func consoleFlow(t *testing.T, tc *caddytest.Tester) {
	b := newBrowser(t, tc)
	key := consoleSignup(t, b)
	t.Run("login", func(t *testing.T) { consoleLogin(t, b, tc, key) })
	t.Run("overview", func(t *testing.T) { consoleOverview(t, b, tc, key) })
	t.Run("keys", func(t *testing.T) { consoleKeys(t, b, tc, key) })
	t.Run("csrf", func(t *testing.T) { consoleCSRF(t, b) })
	t.Run("revoked key ends its sessions", func(t *testing.T) { consoleRevokedKey(t, tc, key) })
	t.Run("tenants apart", func(t *testing.T) { consoleTenantsApart(t, tc, key) })
	t.Run("logout", func(t *testing.T) { consoleLogout(t, b) })
}

// consoleSignup signs up through the console and returns the key it
// showed, once.
func consoleSignup(t *testing.T, b *browser) string {
	resp, _ := b.get("/console/")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/login" {
		t.Fatalf("GET /console/ without a session = %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	form := url.Values{"csrf": {b.token("/console/signup")}, "email": {"ops@console.test"}, "company": {"Console Co"}}
	resp, body := b.post("/console/signup", form)
	expectStatus(t, "POST /console/signup", resp, body, http.StatusCreated)
	keys := apiKeyText.FindAllString(body, -1)
	if len(keys) == 0 || !strings.Contains(body, "Quickstart") || !strings.Contains(body, "/console/static/copy.js") {
		t.Fatalf("signup page has no key, quickstart or copy button: %s", body)
	}
	_, again := b.get("/console/signup")
	if strings.Contains(again, keys[0]) {
		t.Fatal("the signup page shows the key again")
	}
	form["csrf"] = []string{b.token("/console/signup")}
	form["email"] = []string{"not an address"}
	resp, body = b.post("/console/signup", form)
	expectStatus(t, "signup with a bad email", resp, body, http.StatusUnprocessableEntity)
	return keys[0]
}

func consoleLogin(t *testing.T, b *browser, tc *caddytest.Tester, admin string) {
	readKey := createKey(t, tc, admin, "read")
	resp, body := b.login(readKey.Key)
	expectStatus(t, "login with a read key", resp, body, http.StatusForbidden)
	resp, body = b.login("clc_live_not_a_key")
	expectStatus(t, "login with a made-up key", resp, body, http.StatusUnauthorized)
	resp, body = b.login(admin)
	expectStatus(t, "login with the admin key", resp, body, http.StatusSeeOther)
	first := sessionCookie(t, resp)
	b.mustLogin(admin)
	if second := b.c.Jar.Cookies(mustURL(testBase + "/console/"))[0]; second.Value == first {
		t.Fatal("the session id was not rotated at login")
	}
	replay := newBrowser(t, tc)
	replay.c.Jar.SetCookies(mustURL(testBase+"/"), []*http.Cookie{{Name: "__Host-console_session", Value: first, Path: "/"}})
	if resp, _ := replay.get("/console/overview"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the session replaced at login still serves: %d", resp.StatusCode)
	}
}

// sessionCookie checks the flags of the session cookie resp sets and returns its value.
func sessionCookie(t *testing.T, resp *http.Response) string {
	t.Helper()
	for _, raw := range resp.Header.Values("Set-Cookie") {
		if !strings.HasPrefix(raw, "__Host-console_session=") {
			continue
		}
		for _, flag := range []string{"; Path=/", "; HttpOnly", "; Secure", "; SameSite=Lax"} {
			if !strings.Contains(raw, flag) {
				t.Errorf("session cookie %q lacks %q", raw, flag)
			}
		}
		if strings.Contains(raw, "Domain=") {
			t.Errorf("session cookie %q has a Domain", raw)
		}
		return strings.TrimPrefix(strings.SplitN(raw, ";", 2)[0], "__Host-console_session=")
	}
	t.Fatalf("no session cookie in %v", resp.Header.Values("Set-Cookie"))
	return ""
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func consoleOverview(t *testing.T, b *browser, tc *caddytest.Tester, key string) {
	resp, _ := b.get("/console/")
	if resp.Header.Get("Location") != "/console/overview" {
		t.Fatalf("GET /console/ with a session goes to %q", resp.Header.Get("Location"))
	}
	resp, body := b.get("/console/overview")
	expectStatus(t, "GET /console/overview", resp, body, http.StatusOK)
	for _, want := range []string{"Tier <strong>free</strong>", "Queries", "Tokens", "Documents", "Storage", "<meter", "<svg", "Queries per day"} {
		if !strings.Contains(body, want) {
			t.Errorf("overview lacks %q: %s", want, body)
		}
	}
	if apiKeyText.MatchString(body) {
		t.Error("the overview shows a key")
	}
	if resp, _ := b.get("/console/static/console.css"); resp.StatusCode != http.StatusOK {
		t.Errorf("console.css = %d", resp.StatusCode)
	}
	call(t, tc, "POST", testBase+"/api/v1/context/assemble", key, map[string]any{"query": "anything", "max_tokens": 100}, http.StatusOK, nil)
	waitForPage(t, b, "/console/overview", "Queries per day (total 1,")
}

// waitForPage polls path until its page contains want (usage reaches the
// control plane in the background).
func waitForPage(t *testing.T, b *browser, path, want string) {
	t.Helper()
	var body string
	for range 100 {
		if _, body = b.get(path); strings.Contains(body, want) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s never showed %q: %s", path, want, body)
}

// createdAPIKey is a key made through the API.
type createdAPIKey struct {
	ID  string `json:"id"`
	Key string `json:"key"`
}

// createKey makes a key with scope through the API.
func createKey(t *testing.T, tc *caddytest.Tester, admin, scope string) createdAPIKey {
	t.Helper()
	var k createdAPIKey
	call(t, tc, "POST", testBase+"/api/v1/keys", admin, map[string]any{"name": scope, "scopes": []string{scope}}, http.StatusCreated, &k)
	return k
}

// keyWorks reports whether key is accepted by the API.
func keyWorks(t *testing.T, tc *caddytest.Tester, key string) bool {
	t.Helper()
	resp, _ := rawCall(t, tc, "GET", testBase+"/api/v1/usage", key, "")
	return resp.StatusCode == http.StatusOK
}

func consoleKeys(t *testing.T, b *browser, tc *caddytest.Tester, admin string) {
	csrf := b.token("/console/keys")
	resp, body := b.post("/console/keys", url.Values{"csrf": {csrf}, "name": {"ci"}, "scope": {"read", "write"}})
	expectStatus(t, "create a key", resp, body, http.StatusCreated)
	created := apiKeyText.FindString(body)
	if created == "" || !keyWorks(t, tc, created) {
		t.Fatalf("created key %q does not work: %s", created, body)
	}
	_, list := b.get("/console/keys")
	if apiKeyText.MatchString(list) || !strings.Contains(list, created[:13]) || !strings.Contains(list, "read, write") {
		t.Fatalf("the key list shows a key or lacks the new one's prefix: %s", list)
	}
	id := keyID(t, tc, admin, created[:13])
	resp, body = b.post("/console/keys/"+id+"/rotate", url.Values{"csrf": {csrf}, "grace_seconds": {"3600"}})
	expectStatus(t, "rotate a key", resp, body, http.StatusCreated)
	rotated := apiKeyText.FindString(body)
	if rotated == "" || rotated == created || !keyWorks(t, tc, rotated) || !keyWorks(t, tc, created) {
		t.Fatalf("after rotation with grace, new %q and old %q should both work", rotated, created)
	}
	resp, body = b.post("/console/keys/"+keyID(t, tc, admin, rotated[:13])+"/revoke", url.Values{"csrf": {csrf}})
	expectStatus(t, "revoke a key", resp, body, http.StatusSeeOther)
	if keyWorks(t, tc, rotated) {
		t.Fatal("the revoked key still works")
	}
	resp, body = b.post("/console/keys/"+id+"/rotate", url.Values{"csrf": {csrf}, "grace_seconds": {"forever"}})
	expectStatus(t, "rotate with a bad grace", resp, body, http.StatusUnprocessableEntity)
	resp, body = b.post("/console/keys/nosuchkey/revoke", url.Values{"csrf": {csrf}})
	expectStatus(t, "revoke an unknown key", resp, body, http.StatusNotFound)
}

// keyID returns the id of the key with prefix, from the API's list.
func keyID(t *testing.T, tc *caddytest.Tester, admin, prefix string) string {
	t.Helper()
	var list struct {
		Data []struct{ ID, Prefix string }
	}
	call(t, tc, "GET", testBase+"/api/v1/keys", admin, nil, http.StatusOK, &list)
	for _, k := range list.Data {
		if k.Prefix == prefix {
			return k.ID
		}
	}
	t.Fatalf("no key with prefix %s in %+v", prefix, list)
	return ""
}

func consoleCSRF(t *testing.T, b *browser) {
	form := url.Values{"name": {"x"}, "scope": {"read"}}
	resp, body := b.post("/console/keys", form)
	expectStatus(t, "create a key without a CSRF token", resp, body, http.StatusForbidden)
	form.Set("csrf", "wrong")
	resp, body = b.post("/console/keys", form)
	expectStatus(t, "create a key with a wrong CSRF token", resp, body, http.StatusForbidden)
	form.Set("csrf", b.token("/console/keys"))
	resp, body = b.post("/console/keys", form, "Sec-Fetch-Site", "cross-site")
	expectStatus(t, "create a key from another site", resp, body, http.StatusForbidden)
	resp, body = b.post("/console/login", url.Values{"api_key": {"x"}})
	expectStatus(t, "log in without a CSRF token", resp, body, http.StatusForbidden)
}

func consoleRevokedKey(t *testing.T, tc *caddytest.Tester, admin string) {
	second := createKey(t, tc, admin, "admin")
	b := newBrowser(t, tc)
	b.mustLogin(second.Key)
	if resp, body := b.get("/console/overview"); resp.StatusCode != http.StatusOK {
		t.Fatalf("overview = %d %s", resp.StatusCode, body)
	}
	call(t, tc, "DELETE", testBase+"/api/v1/keys/"+second.ID, admin, nil, http.StatusNoContent, nil)
	resp, _ := b.get("/console/overview")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/login" {
		t.Fatalf("a session of a revoked key = %d %s, want a redirect to log in", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func consoleTenantsApart(t *testing.T, tc *caddytest.Tester, adminA string) {
	other := signup(t, tc, "Other")
	b := newBrowser(t, tc)
	b.mustLogin(other.APIKey)
	victim := createKey(t, tc, adminA, "read")
	csrf := b.token("/console/keys")
	for _, action := range []string{"revoke", "rotate"} {
		resp, body := b.post("/console/keys/"+victim.ID+"/"+action, url.Values{"csrf": {csrf}, "grace_seconds": {"0"}})
		expectStatus(t, action+" another tenant's key", resp, body, http.StatusNotFound)
	}
	if !keyWorks(t, tc, victim.Key) {
		t.Fatal("another tenant's session changed the key")
	}
	if _, list := b.get("/console/keys"); strings.Contains(list, victim.ID) {
		t.Fatal("another tenant's key is listed")
	}
}

func consoleLogout(t *testing.T, b *browser) {
	csrf := b.token("/console/overview")
	resp, body := b.post("/console/logout", url.Values{"csrf": {csrf}})
	expectStatus(t, "log out", resp, body, http.StatusSeeOther)
	if resp, _ := b.get("/console/overview"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("overview after logout = %d", resp.StatusCode)
	}
	resp, body = b.post("/console/keys", url.Values{"csrf": {csrf}, "scope": {"read"}})
	expectStatus(t, "create a key after logout", resp, body, http.StatusUnauthorized)
}

// TestConsoleLoginRateLimited checks the per-IP zone of console logins
// and SSO starts.
func TestConsoleLoginRateLimited(t *testing.T) {
	consoleLogins = "2"
	t.Cleanup(func() { consoleLogins = "1000" })
	tc := startServer(t, t.TempDir(), "")
	b := newBrowser(t, tc)
	for i := range 2 {
		resp, body := b.login("clc_live_not_a_key")
		expectStatus(t, "login "+strconv.Itoa(i+1), resp, body, http.StatusUnauthorized)
	}
	form := url.Values{"csrf": {b.token("/console/login")}, "api_key": {"clc_live_not_a_key"}}
	resp, err := b.c.PostForm(testBase+"/console/login", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third login from one address = %d, Retry-After %q; want 429", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if resp, _ := b.get("/console/login"); resp.StatusCode != http.StatusOK {
		t.Fatalf("the login page after the limit = %d; only attempts are limited", resp.StatusCode)
	}
	// SSO starts, from the form or a link, are login attempts too.
	resp, err = b.c.Get(testBase + "/console/sso/start?tenant=acme")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("an SSO start past the limit = %d; want 429", resp.StatusCode)
	}
}
