package console

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/contextlite/cloud/access"
	"github.com/contextlite/cloud/api"
	"github.com/contextlite/cloud/internal/oidcfake"
	"github.com/contextlite/cloud/sso"
	"github.com/contextlite/cloud/tenancy"
)

// ssoFixture is a console with single sign-on on a real SQLite control
// plane: acme (enterprise) logs in through the fake provider idp, globex
// is enterprise without single sign-on, free is on the free tier.
type ssoFixture struct {
	fixture
	store              tenancy.Store
	idp                *oidcfake.Provider
	acme, globex, free tenancy.Tenant
}

func newSSOFixture(t *testing.T, startsPerTenant int) ssoFixture {
	t.Helper()
	ctx := context.Background()
	svc, clk := controlPlane(t)
	store, hasher := svc.Store, svc.Hasher
	f := ssoFixture{store: store}
	for _, tn := range []struct {
		dst     *tenancy.Tenant
		company string
		tier    string
	}{{&f.acme, "Acme", "enterprise"}, {&f.globex, "Globex", "enterprise"}, {&f.free, "Freebie", "free"}} {
		res, err := svc.Signup(ctx, "ops@"+strings.ToLower(tn.company)+".test", tn.company)
		if err != nil {
			t.Fatal(err)
		}
		if err := store.SetTier(ctx, res.Tenant.ID, tn.tier); err != nil {
			t.Fatal(err)
		}
		*tn.dst = res.Tenant
		tn.dst.Tier = tn.tier
		if tn.company == "Acme" {
			f.key = res.APIKey
		}
	}
	f.idp = oidcfake.New(t, "console-app", "s3cret")
	providers := sso.NewProviders(true, 0)
	if _, err := (&sso.Service{Store: store, Providers: providers}).Set(ctx, f.acme,
		tenancy.SSOConfig{Issuer: f.idp.URL, ClientID: "console-app", ClientSecret: "s3cret"}); err != nil {
		t.Fatal(err)
	}
	keys := tenancy.NewAuthenticator(store, hasher, tenancy.AuthOptions{Now: clk.Now})
	c, err := New(Config{Callers: &access.Resolver{Keys: keys, Tenants: store, Tiers: tenancy.DefaultTiers()},
		API: &api.Handler{Accounts: svc}, Store: store, SSO: &sso.Login{Store: store, Providers: providers}, Hasher: hasher, Now: clk.Now,
		SSOStartsPerTenant: startsPerTenant})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewTLSServer(c)
	t.Cleanup(f.srv.Close)
	f.clock = clk
	f.idp.AllowRedirects(f.srv.URL + callbackPath)
	return f
}

// get fetches path of the console with c and returns the answer and its body.
func (f ssoFixture) get(t *testing.T, c *http.Client, rawURL string) (*http.Response, string) {
	t.Helper()
	if strings.HasPrefix(rawURL, "/") {
		rawURL = f.srv.URL + rawURL
	}
	resp, err := c.Get(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

var metaRefresh = regexp.MustCompile(`<meta http-equiv="refresh" content="0; url=([^"]+)">`)

// start posts the login page's SSO form for tenant and returns the
// answer; on success, the URL of the provider it goes on to.
func (f ssoFixture) start(t *testing.T, c *http.Client, tenant string) (*http.Response, string) {
	t.Helper()
	_, body := f.get(t, c, "/console/login")
	m := csrfInput.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token in %s", body)
	}
	resp, err := c.PostForm(f.srv.URL+"/console/sso/start", url.Values{"csrf": {m[1]}, "tenant": {tenant}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return resp, string(page)
	}
	to := metaRefresh.FindStringSubmatch(string(page))
	if to == nil || !strings.Contains(string(page), `href="`+to[1]+`"`) {
		t.Fatalf("the start page neither goes on nor links to the provider: %s", page)
	}
	return resp, html.UnescapeString(to[1])
}

// callback runs the authorization at the provider and returns the URL of
// the callback the provider sends the browser back to.
func (f ssoFixture) callback(t *testing.T, c *http.Client, authURL string) string {
	t.Helper()
	resp, _ := f.get(t, c, authURL)
	back := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(back, f.srv.URL+callbackPath+"?") {
		t.Fatalf("the provider answered %d %q", resp.StatusCode, back)
	}
	return back
}

// login logs c in to acme through the provider and returns the
// callback's answer.
func (f ssoFixture) login(t *testing.T, c *http.Client) (*http.Response, string) {
	t.Helper()
	resp, to := f.start(t, c, "acme")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("start = %d %s", resp.StatusCode, to)
	}
	return f.get(t, c, f.callback(t, c, to))
}

// mustLogin logs c in to acme, which must succeed.
func (f ssoFixture) mustLogin(t *testing.T, c *http.Client) {
	t.Helper()
	if resp, body := f.login(t, c); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/overview" {
		t.Fatalf("callback = %d %q %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
}

// cookieValue returns the value of c's cookie name for the console, or "".
func (f ssoFixture) cookieValue(c *http.Client, name string) string {
	u, _ := url.Parse(f.srv.URL + "/console/")
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// loggedIn reports whether c's session serves the keys page of tenant.
func (f ssoFixture) loggedIn(t *testing.T, c *http.Client, tenant tenancy.Tenant) bool {
	t.Helper()
	resp, body := f.get(t, c, "/console/keys")
	if resp.StatusCode == http.StatusOK && !strings.Contains(body, tenant.Name) {
		t.Fatalf("the keys page is not %s's: %s", tenant.Name, body)
	}
	return resp.StatusCode == http.StatusOK
}

func TestSSOLogin(t *testing.T) {
	f := newSSOFixture(t, 0)
	c := f.client(t)
	keySession := f.fixture.login(t, c, f.key)
	if keySession != http.StatusSeeOther {
		t.Fatalf("key login = %d", keySession)
	}
	before := f.cookieValue(c, sessionCookie)
	f.idp.SetSubject("alice@acme")
	resp, _ := f.start(t, c, " ACME ") // the slug, as typed
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("start = %d", resp.StatusCode)
	}
	ck := resp.Cookies()
	if len(ck) != 1 || ck[0].Name != attemptCookie || !ck[0].Secure || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteLaxMode ||
		ck[0].Path != "/" || ck[0].Domain != "" || ck[0].MaxAge != 600 {
		t.Fatalf("attempt cookie = %+v", ck)
	}
	f.mustLogin(t, c)
	after := f.cookieValue(c, sessionCookie)
	if after == "" || after == before || f.cookieValue(c, attemptCookie) != "" {
		t.Fatalf("session cookie %q (was %q), attempt cookie %q: want a new session and no attempt", after, before, f.cookieValue(c, attemptCookie))
	}
	if !f.loggedIn(t, c, f.acme) {
		t.Fatal("the SSO session does not serve the keys page (admin scope)")
	}
	se, err := f.store.Session(context.Background(), hashID(after))
	if err != nil || se.Kind != tenancy.SessionSSO || se.TenantID != f.acme.ID || se.Issuer != f.idp.URL || se.Subject != "alice@acme" || len(se.KeyHash) != 0 {
		t.Fatalf("stored session = %+v, %v", se, err)
	}
	if _, err := f.store.Session(context.Background(), hashID(before)); err == nil {
		t.Fatal("the key session replaced at the SSO login still exists")
	}

	// A link starts the login with a redirect; the id works as the slug does.
	l := f.client(t)
	resp, _ = f.get(t, l, "/console/sso/start?tenant="+f.acme.ID)
	to, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || err != nil || !strings.HasPrefix(to.String(), f.idp.URL+"/auth?") ||
		to.Query().Get("code_challenge_method") != "S256" || to.Query().Get("redirect_uri") != f.srv.URL+callbackPath {
		t.Fatalf("GET start = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	f.get(t, l, f.callback(t, l, to.String()))
	if !f.loggedIn(t, l, f.acme) {
		t.Fatal("the login started by a link opened no session")
	}

	// Logging out ends the session.
	_, page := f.get(t, c, "/console/keys")
	m := csrfInput.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the keys page: %s", page)
	}
	resp, err = c.PostForm(f.srv.URL+"/console/logout", url.Values{"csrf": {m[1]}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout = %d", resp.StatusCode)
	}
	if f.loggedIn(t, c, f.acme) {
		t.Fatal("the SSO session survives logout")
	}
	if se, err := f.store.Session(context.Background(), hashID(after)); err == nil {
		t.Fatalf("logout left the session stored: %+v", se)
	}
}

func TestSSOStartRefused(t *testing.T) {
	f := newSSOFixture(t, 0)
	c := f.client(t)
	for _, tc := range []struct {
		name, tenant string
		status       int
		says         string
	}{
		{"free tier", "freebie", http.StatusForbidden, "enterprise tier"},
		{"no single sign-on", "globex", http.StatusNotFound, "no single sign-on"},
		{"unknown tenant", "nobody", http.StatusNotFound, "no tenant"},
		{"empty", "  ", http.StatusUnprocessableEntity, "Enter your tenant"},
	} {
		resp, body := f.start(t, c, tc.tenant)
		if resp.StatusCode != tc.status || !strings.Contains(body, tc.says) {
			t.Errorf("%s: %d %s; want %d saying %q", tc.name, resp.StatusCode, body, tc.status, tc.says)
		}
		if f.cookieValue(c, attemptCookie) != "" {
			t.Errorf("%s: a refused start set an attempt cookie", tc.name)
		}
	}
	// The form needs its CSRF token.
	resp, err := c.PostForm(f.srv.URL+"/console/sso/start", url.Values{"tenant": {"acme"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("start without a CSRF token = %d", resp.StatusCode)
	}
}

func TestSSOCallbackRefused(t *testing.T) {
	f := newSSOFixture(t, 0)
	cases := []struct {
		name   string
		setup  func()                              // of the provider
		alter  func(c *http.Client, back *url.URL) // of the callback
		status int
	}{
		{name: "state tampered", alter: func(_ *http.Client, u *url.URL) { setQuery(u, "state", "forged") }, status: http.StatusBadRequest},
		{name: "no attempt cookie", alter: func(c *http.Client, _ *url.URL) { c.Jar = newJar(t) }, status: http.StatusBadRequest},
		{name: "code tampered", alter: func(_ *http.Client, u *url.URL) { setQuery(u, "code", "made-up") }, status: http.StatusBadRequest},
		{name: "access denied", setup: func() { f.idp.Deny("access_denied") }, status: http.StatusForbidden},
		{name: "nonce of another login", setup: func() { f.idp.EditClaims(func(c map[string]any) { c["nonce"] = "other" }) }, status: http.StatusUnauthorized},
		{name: "token of another issuer", setup: func() { f.idp.EditClaims(func(c map[string]any) { c["iss"] = "https://evil.example.com" }) }, status: http.StatusUnauthorized},
		{name: "token for another client", setup: func() { f.idp.EditClaims(func(c map[string]any) { c["aud"] = "other-app" }) }, status: http.StatusUnauthorized},
		{name: "expired token", setup: func() { f.idp.EditClaims(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }) }, status: http.StatusUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f.idp.Deny("")
			f.idp.EditClaims(nil)
			if tc.setup != nil {
				tc.setup()
			}
			c := f.client(t)
			resp, to := f.start(t, c, "acme")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("start = %d", resp.StatusCode)
			}
			back, err := url.Parse(f.callback(t, c, to))
			if err != nil {
				t.Fatal(err)
			}
			if tc.alter != nil {
				tc.alter(c, back)
			}
			resp, body := f.get(t, c, back.String())
			if resp.StatusCode != tc.status || !strings.Contains(body, `class="error"`) {
				t.Fatalf("callback = %d %s; want %d with the reason", resp.StatusCode, body, tc.status)
			}
			if f.cookieValue(c, sessionCookie) != "" || f.loggedIn(t, c, f.acme) {
				t.Fatal("a refused callback opened a session")
			}
		})
	}

	// A replayed callback, cookie and all: the provider refuses the code.
	f.idp.Deny("")
	f.idp.EditClaims(nil)
	c := f.client(t)
	_, to := f.start(t, c, "acme")
	attempt := f.cookieValue(c, attemptCookie)
	back := f.callback(t, c, to)
	f.get(t, c, back)
	thief := f.client(t)
	u, _ := url.Parse(f.srv.URL + "/")
	thief.Jar.SetCookies(u, []*http.Cookie{{Name: attemptCookie, Value: attempt, Path: "/", Secure: true}})
	if resp, body := f.get(t, thief, back); resp.StatusCode != http.StatusBadRequest || f.loggedIn(t, thief, f.acme) {
		t.Fatalf("replayed callback = %d %s", resp.StatusCode, body)
	}
}

func newJar(t *testing.T) http.CookieJar {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return jar
}

func setQuery(u *url.URL, k, v string) {
	q := u.Query()
	q.Set(k, v)
	u.RawQuery = q.Encode()
}

// SSO sessions end when the tenant loses single sign-on, leaves the
// enterprise tier or leaves them idle for 12 hours.
func TestSSOSessionEnds(t *testing.T) {
	f := newSSOFixture(t, 0)
	ctx := context.Background()
	c := f.client(t)
	f.mustLogin(t, c)
	if err := f.store.SetTier(ctx, f.acme.ID, "pro"); err != nil {
		t.Fatal(err)
	}
	if f.loggedIn(t, c, f.acme) {
		t.Fatal("the session survives the tenant's downgrade")
	}
	if err := f.store.SetTier(ctx, f.acme.ID, "enterprise"); err != nil {
		t.Fatal(err)
	}
	f.mustLogin(t, c)
	cfg, err := f.store.SSO(ctx, f.acme.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.DeleteSSO(ctx, f.acme.ID); err != nil {
		t.Fatal(err)
	}
	if f.loggedIn(t, c, f.acme) {
		t.Fatal("the session survives the deletion of single sign-on")
	}
	if err := f.store.SetSSO(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	f.mustLogin(t, c)
	f.clock.Add(IdleTimeout - time.Minute)
	if !f.loggedIn(t, c, f.acme) {
		t.Fatal("the session ended before 12 h idle")
	}
	f.clock.Add(IdleTimeout)
	if f.loggedIn(t, c, f.acme) {
		t.Fatal("the session survives 12 h idle")
	}
}

func TestSSOStartsLimitedPerTenant(t *testing.T) {
	f := newSSOFixture(t, 2)
	for i, want := range []int{http.StatusOK, http.StatusOK, http.StatusTooManyRequests} {
		if resp, _ := f.start(t, f.client(t), "acme"); resp.StatusCode != want {
			t.Fatalf("start %d = %d, want %d", i+1, resp.StatusCode, want)
		}
	}
	if resp, _ := f.start(t, f.client(t), "globex"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("another tenant's start = %d, want its own answer", resp.StatusCode)
	}
	f.clock.Add(time.Minute)
	if resp, _ := f.start(t, f.client(t), "acme"); resp.StatusCode != http.StatusOK {
		t.Fatalf("start a minute later = %d", resp.StatusCode)
	}
}
