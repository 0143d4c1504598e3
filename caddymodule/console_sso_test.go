package caddymodule

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/contextlite/cloud/internal/oidcfake"
	"github.com/contextlite/cloud/internal/pgtest"
)

// TestConsoleSSO logs in to the console through enterprise tenants'
// identity providers, on each control plane.
func TestConsoleSSO(t *testing.T) {
	t.Setenv("CONTEXTLITE_ADMIN_TOKEN", "op-token")
	t.Setenv("CONTEXTLITE_WEBHOOKS_ALLOW_PRIVATE", "true") // the providers are on loopback
	t.Run("sqlite", func(t *testing.T) { consoleSSOFlow(t, startServer(t, t.TempDir(), "")) })
	t.Run("postgres", func(t *testing.T) { consoleSSOFlow(t, startServerWith(t, t.TempDir(), pgtest.DSN(t), "")) })
}

// ssoTenant is a tenant with its own identity provider.
type ssoTenant struct {
	signedUp
	idp *oidcfake.Provider
}

// newSSOTenant signs up company, moves it to the enterprise tier and sets
// its single sign-on through the API, with a provider of its own.
func newSSOTenant(t *testing.T, tc *caddytest.Tester, company string) ssoTenant {
	t.Helper()
	s := ssoTenant{signedUp: signup(t, tc, company), idp: oidcfake.New(t, "console-"+strings.ToLower(company), "secret-"+company)}
	s.idp.AllowRedirects(testBase + "/console/sso/callback")
	if status, body := operatorCall(t, tc.Client, "PUT", "/admin/v1/tenants/"+s.TenantID+"/tier", "op-token", `{"tier": "enterprise"}`); status != http.StatusOK {
		t.Fatalf("set tier: %d %s", status, body)
	}
	call(t, tc, "PUT", testBase+"/api/v1/sso", s.APIKey, map[string]string{"issuer": s.idp.URL, "client_id": s.idp.ClientID,
		"client_secret": s.idp.ClientSecret, "audience": "contextlite-api"}, http.StatusOK, nil)
	return s
}

var metaRefresh = regexp.MustCompile(`<meta http-equiv="refresh" content="0; url=([^"]+)">`)

// ssoStart posts the login page's SSO form for tenant and returns the
// answer and, when it goes on to a provider, the provider's URL.
func (b *browser) ssoStart(tenant string) (*http.Response, string, string) {
	b.t.Helper()
	resp, body := b.post("/console/sso/start", url.Values{"csrf": {b.token("/console/login")}, "tenant": {tenant}})
	m := metaRefresh.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		return resp, body, ""
	}
	return resp, body, html.UnescapeString(m[1])
}

// authorize runs the login at the provider, which answers without the
// console's cookies, and returns where it sends the browser back.
func (b *browser) authorize(authURL string) *url.URL {
	b.t.Helper()
	c := &http.Client{Transport: b.tc.Client.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(authURL)
	if err != nil {
		b.t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(back.String(), testBase+"/console/sso/callback?") {
		b.t.Fatalf("the provider answered %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return back
}

// ssoCallback follows the provider's redirect back to the console.
func (b *browser) ssoCallback(back *url.URL) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest("GET", back.String(), nil)
	return b.do(req)
}

// ssoLogin logs in to tenant through its provider; it must succeed.
func (b *browser) ssoLogin(tenant string) {
	b.t.Helper()
	resp, body, to := b.ssoStart(tenant)
	if to == "" {
		b.t.Fatalf("SSO start for %s = %d %s", tenant, resp.StatusCode, body)
	}
	resp, body = b.ssoCallback(b.authorize(to))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/overview" {
		b.t.Fatalf("SSO callback = %d %q %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
}

// loggedOut fails unless b's next page sends it to log in.
func (b *browser) loggedOut(what string) {
	b.t.Helper()
	if resp, _ := b.get("/console/overview"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/login" {
		b.t.Fatalf("%s: overview = %d %q, want a redirect to log in", what, resp.StatusCode, resp.Header.Get("Location"))
	}
}

func consoleSSOFlow(t *testing.T, tc *caddytest.Tester) {
	acme := newSSOTenant(t, tc, "SSOLoginCo")
	globex := newSSOTenant(t, tc, "SSOGlobex")
	free := signup(t, tc, "SSOFreeCo")

	// The login page offers SSO; acme's provider logs alice in.
	b := newBrowser(t, tc)
	if _, body := b.get("/console/login"); !strings.Contains(body, `action="/console/sso/start"`) || !strings.Contains(body, "Log in with SSO") {
		t.Fatalf("the login page has no SSO form: %s", body)
	}
	b.ssoLogin(acme.Slug)
	resp, body := b.get("/console/overview")
	expectStatus(t, "overview after SSO", resp, body, http.StatusOK)
	if !strings.Contains(body, "Tier <strong>enterprise</strong>") || !strings.Contains(body, "SSOLoginCo") {
		t.Fatalf("the overview is not acme's: %s", body)
	}
	// Admin scope: the session manages keys.
	resp, body = b.post("/console/keys", url.Values{"csrf": {b.token("/console/keys")}, "name": {"from-sso"}, "scope": {"read"}})
	expectStatus(t, "create a key from an SSO session", resp, body, http.StatusCreated)
	if k := apiKeyText.FindString(body); k == "" || !keyWorks(t, tc, k) {
		t.Fatalf("the key made by the SSO session does not work: %s", body)
	}

	t.Run("free tier refused", func(t *testing.T) {
		resp, body, to := newBrowser(t, tc).ssoStart(free.Slug)
		expectStatus(t, "SSO start for a free tenant", resp, body, http.StatusForbidden)
		if to != "" || !strings.Contains(body, "enterprise tier") {
			t.Fatalf("a free tenant's start: %s", body)
		}
	})
	t.Run("state tampered", func(t *testing.T) {
		tb := newBrowser(t, tc)
		_, _, to := tb.ssoStart(acme.Slug)
		back := tb.authorize(to)
		q := back.Query()
		q.Set("state", q.Get("state")+"x")
		back.RawQuery = q.Encode()
		resp, body := tb.ssoCallback(back)
		expectStatus(t, "callback with another state", resp, body, http.StatusBadRequest)
		tb.loggedOut("after a tampered state")
	})
	t.Run("provider denies", func(t *testing.T) {
		acme.idp.Deny("access_denied")
		defer acme.idp.Deny("")
		tb := newBrowser(t, tc)
		_, _, to := tb.ssoStart(acme.Slug)
		resp, body := tb.ssoCallback(tb.authorize(to))
		expectStatus(t, "callback with access_denied", resp, body, http.StatusForbidden)
		tb.loggedOut("after access_denied")
	})
	t.Run("tenants apart", func(t *testing.T) {
		gb := newBrowser(t, tc)
		gb.ssoLogin(globex.Slug)
		_, overview := gb.get("/console/overview")
		if !strings.Contains(overview, "SSOGlobex") || strings.Contains(overview, "SSOLoginCo") {
			t.Fatalf("globex's overview: %s", overview)
		}
		victim := createKey(t, tc, acme.APIKey, "read")
		if _, list := gb.get("/console/keys"); strings.Contains(list, victim.ID) || strings.Contains(list, victim.Key[:13]) {
			t.Fatal("globex's session lists acme's key")
		}
		resp, body := gb.post("/console/keys/"+victim.ID+"/revoke", url.Values{"csrf": {gb.token("/console/keys")}})
		expectStatus(t, "revoke another tenant's key", resp, body, http.StatusNotFound)
		if !keyWorks(t, tc, victim.Key) {
			t.Fatal("globex's session revoked acme's key")
		}
		// Globex's provider cannot log in to acme: its code is not acme's.
		cross := newBrowser(t, tc)
		_, _, to := cross.ssoStart(acme.Slug)
		u, _ := url.Parse(to)
		q := u.Query()
		q.Set("client_id", globex.idp.ClientID)
		gu, _ := url.Parse(globex.idp.URL + "/auth")
		gu.RawQuery = q.Encode()
		resp, body = cross.ssoCallback(cross.authorize(gu.String()))
		expectStatus(t, "callback with a code of another tenant's provider", resp, body, http.StatusBadRequest)
		cross.loggedOut("after another provider's code")
	})
	t.Run("downgrade ends the session", func(t *testing.T) {
		sb := newBrowser(t, tc)
		sb.ssoLogin(acme.Slug)
		if status, body := operatorCall(t, tc.Client, "PUT", "/admin/v1/tenants/"+acme.TenantID+"/tier", "op-token", `{"tier": "pro"}`); status != http.StatusOK {
			t.Fatalf("set tier: %d %s", status, body)
		}
		sb.loggedOut("after the downgrade")
		if status, body := operatorCall(t, tc.Client, "PUT", "/admin/v1/tenants/"+acme.TenantID+"/tier", "op-token", `{"tier": "enterprise"}`); status != http.StatusOK {
			t.Fatalf("set tier: %d %s", status, body)
		}
	})
	t.Run("logout", func(t *testing.T) {
		resp, body := b.post("/console/logout", url.Values{"csrf": {b.token("/console/overview")}})
		expectStatus(t, "log out", resp, body, http.StatusSeeOther)
		b.loggedOut("after logout")
		b.ssoLogin(acme.Slug)
	})
	t.Run("SSO removed ends the session", func(t *testing.T) {
		call(t, tc, "DELETE", testBase+"/api/v1/sso", acme.APIKey, nil, http.StatusNoContent, nil)
		b.loggedOut("after DELETE /api/v1/sso")
		resp, body, _ := b.ssoStart(acme.Slug)
		expectStatus(t, "SSO start without single sign-on", resp, body, http.StatusNotFound)
	})
}
