package caddymodule

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/stripe/stripe-go/v76"

	"github.com/contextlite/cloud/internal/stripefake"
	"github.com/contextlite/cloud/tenancy"
)

// TestConsoleSettings runs the billing, settings and audit log pages
// through the server, with billing against the Stripe fake.
func TestConsoleSettings(t *testing.T) {
	t.Setenv("CONTEXTLITE_ADMIN_TOKEN", "op-token")
	t.Setenv("CONTEXTLITE_WEBHOOKS_ALLOW_PRIVATE", "true") // webhook URLs and the IdP are on loopback
	fake := stripefake.New(t)
	tc := startServer(t, t.TempDir(), stripeConfig(t, fake.URL))
	t.Run("billing", func(t *testing.T) { consoleBilling(t, tc, fake) })
	t.Run("csrf", func(t *testing.T) { consoleSettingsCSRF(t, tc) })
	t.Run("webhook", func(t *testing.T) { consoleWebhook(t, tc) })
	t.Run("domains", func(t *testing.T) { consoleDomains(t, tc) })
	t.Run("sso", func(t *testing.T) { consoleSSO(t, tc) })
	t.Run("audit", func(t *testing.T) { consoleAudit(t, tc) })
	t.Run("delete", func(t *testing.T) { consoleDeleteTenant(t, tc) })
}

// loggedIn signs company up through the API and returns it with a
// browser logged in to the console with its key.
func loggedIn(t *testing.T, tc *caddytest.Tester, company string) (signedUp, *browser) {
	t.Helper()
	s := signup(t, tc, company)
	b := newBrowser(t, tc)
	b.mustLogin(s.APIKey)
	return s, b
}

// setTierByOperator moves tenant id to tier as an operator does, so the
// server forgets its cached callers.
func setTierByOperator(t *testing.T, tc *caddytest.Tester, id, tier string) {
	t.Helper()
	if status, body := operatorCall(t, tc.Client, "PUT", "/admin/v1/tenants/"+id+"/tier", "op-token", `{"tier": "`+tier+`"}`); status != http.StatusOK {
		t.Fatalf("set tier %s: %d %s", tier, status, body)
	}
}

// expectPage fails unless the page has status want and holds every one of texts.
func expectPage(t *testing.T, what string, resp *http.Response, body string, want int, texts ...string) {
	t.Helper()
	expectStatus(t, what, resp, body, want)
	for _, text := range texts {
		if !strings.Contains(body, text) {
			t.Errorf("%s lacks %q: %s", what, text, body)
		}
	}
}

// checkWeight fails if the page body with the files it loads (the CSS, and
// copy.js where it is used) weighs more than 100 KB.
func checkWeight(t *testing.T, b *browser, what, body string) {
	t.Helper()
	weight := len(body)
	for _, file := range []string{"/console/static/console.css", "/console/static/copy.js"} {
		if strings.Contains(body, `"`+file+`"`) {
			_, data := b.get(file)
			weight += len(data)
		}
	}
	t.Logf("%s weighs %d bytes with its CSS and script", what, weight)
	if weight > 100<<10 {
		t.Errorf("%s weighs %d bytes, more than 100 KB", what, weight)
	}
}

var periodText = regexp.MustCompile(`<dt>Period</dt><dd>\d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d</dd>`)

func consoleBilling(t *testing.T, tc *caddytest.Tester, fake *stripefake.Server) {
	acme, b := loggedIn(t, tc, "PlanCo")
	resp, body := b.get("/console/billing")
	expectPage(t, "GET /console/billing", resp, body, http.StatusOK,
		"<dt>Tier</dt><dd>free</dd>", "<dt>Subscription</dt><dd>none</dd>", `<option value="starter">`, `href="/console/billing/portal"`)
	if !periodText.MatchString(body) || strings.Contains(body, `<option value="free">`) {
		t.Fatalf("the billing page lacks the period or offers the current tier: %s", body)
	}
	checkWeight(t, b, "the billing page", body)

	csrf := b.token("/console/billing")
	resp, body = b.post("/console/billing", url.Values{"csrf": {csrf}, "tier": {"starter"}})
	expectPage(t, "upgrade to starter", resp, body, http.StatusAccepted,
		"Stripe was asked for the <strong>starter</strong> tier", "<dt>Tier</dt><dd>free</dd>")
	customer := stripeCustomerOf(t, fake, acme.TenantID)
	sub := activeSubscription(t, fake, customer)
	if price := sub.Items.Data[0].Price.ID; price != "price_starter" {
		t.Fatalf("the subscription's price is %s, want price_starter", price)
	}
	payload, sig := subscriptionEvent(t, "evt_console_up", "customer.subscription.created", sub.ID, customer)
	if status, code := postWebhook(t, tc.Client, payload, sig); status != http.StatusOK {
		t.Fatalf("webhook: %d %s", status, code)
	}
	resp, body = b.get("/console/billing")
	expectPage(t, "billing after Stripe confirmed", resp, body, http.StatusOK,
		"<dt>Tier</dt><dd>starter</dd>", "<dd>active (<code>"+sub.ID+"</code>)</dd>")
	var tenant struct{ Tier string }
	call(t, tc, "GET", testBase+"/api/v1/tenant", acme.APIKey, nil, http.StatusOK, &tenant)
	if tenant.Tier != "starter" {
		t.Fatalf("the API says tier %q after the upgrade", tenant.Tier)
	}

	resp, body = b.get("/console/billing/portal")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "https://billing.stripe.test/session/") {
		t.Fatalf("billing portal = %d %q: %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if got := lastPortalReturnURL(fake); got != testBase+"/console/billing" {
		t.Fatalf("the portal returns to %q", got)
	}
	resp, body = b.post("/console/billing", url.Values{"csrf": {csrf}, "tier": {"platinum"}})
	expectPage(t, "an unknown tier", resp, body, http.StatusUnprocessableEntity, "tier must be one of")

	resp, body = b.post("/console/billing", url.Values{"csrf": {csrf}, "tier": {"free"}})
	expectPage(t, "downgrade to free", resp, body, http.StatusAccepted, "Stripe was asked for the <strong>free</strong> tier")
	if s := subscriptionByID(t, fake, sub.ID); s.Status != "canceled" {
		t.Fatalf("after the downgrade the subscription is %s", s.Status)
	}
	payload, sig = subscriptionEvent(t, "evt_console_down", "customer.subscription.deleted", sub.ID, customer)
	if status, code := postWebhook(t, tc.Client, payload, sig); status != http.StatusOK {
		t.Fatalf("webhook: %d %s", status, code)
	}
	resp, body = b.get("/console/billing")
	expectPage(t, "billing after the cancellation", resp, body, http.StatusOK, "<dt>Tier</dt><dd>free</dd>")
}

// stripeCustomerOf returns the fake's customer of tenant id.
func stripeCustomerOf(t *testing.T, fake *stripefake.Server, id string) string {
	t.Helper()
	for _, c := range fake.Customers() {
		if c.Metadata["tenant_id"] == id {
			return c.ID
		}
	}
	t.Fatalf("no Stripe customer of tenant %s", id)
	return ""
}

// activeSubscription returns customer's one active subscription in the fake.
func activeSubscription(t *testing.T, fake *stripefake.Server, customer string) *stripe.Subscription {
	t.Helper()
	var found []*stripe.Subscription
	for _, s := range fake.Subscriptions() {
		if s.Customer.ID == customer && s.Status == "active" {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d active subscriptions of %s, want 1", len(found), customer)
	}
	return found[0]
}

// subscriptionByID returns subscription id in the fake.
func subscriptionByID(t *testing.T, fake *stripefake.Server, id string) *stripe.Subscription {
	t.Helper()
	for _, s := range fake.Subscriptions() {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no subscription %s", id)
	return nil
}

// lastPortalReturnURL returns the return URL of the last portal session asked of fake.
func lastPortalReturnURL(fake *stripefake.Server) string {
	url := ""
	for _, r := range fake.Requests() {
		if r.Method == "POST" && r.Path == "/v1/billing_portal/sessions" {
			url = r.Params.Get("return_url")
		}
	}
	return url
}

// consoleSettingsCSRF posts every form of the pages without its token.
func consoleSettingsCSRF(t *testing.T, tc *caddytest.Tester) {
	acme, b := loggedIn(t, tc, "TokenCo")
	for _, path := range []string{"/console/billing", "/console/settings/webhook", "/console/settings/domains",
		"/console/settings/domains/docs.tokenco.test/verify", "/console/settings/domains/docs.tokenco.test/delete",
		"/console/settings/sso", "/console/settings/sso/delete", "/console/settings/delete"} {
		form := url.Values{"tier": {"starter"}, "url": {"http://127.0.0.1:9/hook"}, "domain": {"docs.tokenco.test"},
			"issuer": {"https://idp.test"}, "client_id": {"x"}, "client_secret": {"y"}, "confirm": {acme.Slug}}
		resp, body := b.post(path, form)
		expectStatus(t, "POST "+path+" without a CSRF token", resp, body, http.StatusForbidden)
	}
	if !keyWorks(t, tc, acme.APIKey) {
		t.Fatal("a form without its token deleted the tenant")
	}
}

var webhookSecret = regexp.MustCompile(`whsec_[0-9A-Za-z_-]{43}`)

func consoleWebhook(t *testing.T, tc *caddytest.Tester) {
	acme, b := loggedIn(t, tc, "HookCo")
	resp, body := b.get("/console/settings")
	expectPage(t, "GET /console/settings", resp, body, http.StatusOK, "No webhook is set.")
	csrf := b.token("/console/settings")

	resp, body = b.post("/console/settings/webhook", url.Values{"csrf": {csrf}, "url": {"http://127.0.0.1:9/first"}})
	expectPage(t, "set the webhook", resp, body, http.StatusOK, "only time the secret is shown")
	first := webhookSecret.FindString(body)
	if first == "" {
		t.Fatalf("setting the webhook showed no secret: %s", body)
	}
	checkWeight(t, b, "the webhook secret page", body)
	_, body = b.get("/console/settings")
	if strings.Contains(body, "whsec_") || !strings.Contains(body, "http://127.0.0.1:9/first") {
		t.Fatalf("the settings page shows the secret or lacks the URL: %s", body)
	}

	resp, body = b.post("/console/settings/webhook", url.Values{"csrf": {csrf}, "url": {"http://127.0.0.1:9/second"}})
	if resp.StatusCode != http.StatusSeeOther || strings.Contains(body, "whsec_") {
		t.Fatalf("a new URL with the same secret = %d: %s", resp.StatusCode, body)
	}
	resp, body = b.post("/console/settings/webhook", url.Values{"csrf": {csrf}, "url": {"http://127.0.0.1:9/second"}, "rotate_secret": {"1"}})
	expectStatus(t, "rotate the secret", resp, body, http.StatusOK)
	rotated := webhookSecret.FindString(body)
	if rotated == "" || rotated == first {
		t.Fatalf("rotation showed %q, want a new secret", rotated)
	}
	var hook struct{ URL, Secret string }
	call(t, tc, "GET", testBase+"/api/v1/notifications", acme.APIKey, nil, http.StatusOK, &hook)
	if hook.URL != "http://127.0.0.1:9/second" || hook.Secret != rotated {
		t.Fatalf("the API has %+v, want the second URL and the rotated secret", hook)
	}
	resp, body = b.post("/console/settings/webhook", url.Values{"csrf": {csrf}, "url": {"not a url"}})
	expectStatus(t, "a webhook URL that is not one", resp, body, http.StatusUnprocessableEntity)
}

func consoleDomains(t *testing.T, tc *caddytest.Tester) {
	acme, b := loggedIn(t, tc, "HostCo")
	name := "docs." + acme.Slug + ".test"
	csrf := b.token("/console/settings")
	resp, body := b.post("/console/settings/domains", url.Values{"csrf": {csrf}, "domain": {name}})
	expectPage(t, "claim a domain on the free tier", resp, body, http.StatusForbidden, "custom domains need the pro or enterprise tier")

	setTierByOperator(t, tc, acme.TenantID, "pro")
	resp, body = b.post("/console/settings/domains", url.Values{"csrf": {csrf}, "domain": {name}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("claim a domain = %d: %s", resp.StatusCode, body)
	}
	var list struct {
		Data []struct {
			RecordName  string `json:"record_name"`
			RecordValue string `json:"record_value"`
		}
	}
	call(t, tc, "GET", testBase+"/api/v1/domains", acme.APIKey, nil, http.StatusOK, &list)
	if len(list.Data) != 1 {
		t.Fatalf("the API lists %+v", list)
	}
	resp, body = b.get("/console/settings")
	expectPage(t, "settings with a claimed domain", resp, body, http.StatusOK, name, "not verified",
		"<code>_contextlite-challenge."+name+"</code> TXT <code>"+list.Data[0].RecordValue+"</code>")

	// No TXT record in DNS for this name: verification fails.
	resp, body = b.post("/console/settings/domains/"+name+"/verify", url.Values{"csrf": {csrf}})
	expectPage(t, "verify without the TXT record", resp, body, http.StatusUnprocessableEntity, "the TXT record was not found")
	resp, body = b.post("/console/settings/domains/"+name+"/delete", url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove the domain = %d: %s", resp.StatusCode, body)
	}
	resp, body = b.get("/console/settings")
	expectPage(t, "settings after the removal", resp, body, http.StatusOK, "No domain is claimed.")
}

func consoleSSO(t *testing.T, tc *caddytest.Tester) {
	acme, b := loggedIn(t, tc, "SignCo")
	idp := startIdP(t)
	form := url.Values{"csrf": {b.token("/console/settings")}, "issuer": {idp.URL}, "client_id": {"console-app"},
		"client_secret": {"s3cret-of-the-client"}, "audience": {"contextlite-api"}}
	resp, body := b.get("/console/settings")
	expectPage(t, "settings on the free tier", resp, body, http.StatusOK, "single sign-on needs the enterprise tier. <a")
	if strings.Contains(body, `name="issuer"`) {
		t.Error("the settings page offers the single sign-on form to the free tier")
	}
	resp, body = b.post("/console/settings/sso", form)
	expectPage(t, "set single sign-on on the free tier", resp, body, http.StatusForbidden, "single sign-on needs the enterprise tier")

	setTierByOperator(t, tc, acme.TenantID, "enterprise")
	resp, body = b.get("/console/settings")
	expectPage(t, "settings on the enterprise tier", resp, body, http.StatusOK, "Single sign-on is not set.", `name="issuer"`)
	resp, body = b.post("/console/settings/sso", form)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("set single sign-on = %d: %s", resp.StatusCode, body)
	}
	resp, body = b.get("/console/settings")
	expectPage(t, "settings with single sign-on", resp, body, http.StatusOK,
		"<code>"+idp.URL+"</code>", "<code>contextlite-api</code>", "client secret set")
	if strings.Contains(body, "s3cret-of-the-client") {
		t.Fatal("the settings page shows the client secret")
	}
	checkWeight(t, b, "the settings page", body)
	if st, _ := bearerCall(t, tc, testBase+"/api/v1/documents", idp.token(t, "contextlite-api", time.Hour)); st != http.StatusOK {
		t.Fatalf("a token of the issuer set in the console = %d", st)
	}
	form.Set("issuer", "http://idp.example.com")
	resp, body = b.post("/console/settings/sso", form)
	expectStatus(t, "an issuer over plain http", resp, body, http.StatusUnprocessableEntity)
	resp, body = b.post("/console/settings/sso/delete", url.Values{"csrf": {form.Get("csrf")}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("turn single sign-on off = %d: %s", resp.StatusCode, body)
	}
	call(t, tc, "GET", testBase+"/api/v1/sso", acme.APIKey, nil, http.StatusNotFound, nil)
}

var (
	auditRow = regexp.MustCompile(`<tr><td>\d{4}-`)
	nextPage = regexp.MustCompile(`href="(/console/audit\?cursor=[^"]+)"`)
)

func consoleAudit(t *testing.T, tc *caddytest.Tester) {
	acme, b := loggedIn(t, tc, "LogCo")
	resp, body := b.get("/console/audit")
	expectPage(t, "audit log on the free tier", resp, body, http.StatusForbidden, "Upgrade to see the audit log", "Change the tier</a> on the billing page")

	setTierByOperator(t, tc, acme.TenantID, "pro")
	store := sharedStates()[0].store
	for i := range 55 {
		e := tenancy.AuditEvent{TenantID: acme.TenantID, Actor: "key-x", Action: tenancy.AuditKeyCreate,
			Target: fmt.Sprintf("logco-key-%02d", i), CreatedAt: time.Now()}
		if err := store.AddAudit(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	resp, body = b.get("/console/audit")
	expectPage(t, "audit log on the pro tier", resp, body, http.StatusOK, "tier.change", "logco-key-00", `href="/console/audit?cursor=`)
	if n := len(auditRow.FindAllString(body, -1)); n != 50 {
		t.Fatalf("the first page lists %d events, want 50", n)
	}
	checkWeight(t, b, "a full page of the audit log", body)
	next := nextPage.FindStringSubmatch(body)
	if next == nil {
		t.Fatalf("the first page links to no next page: %s", body)
	}
	resp, body = b.get(next[1])
	expectPage(t, "the second page", resp, body, http.StatusOK, "logco-key-54", `href="/console/audit">First page`)
	if strings.Contains(body, "logco-key-00") || strings.Contains(body, "cursor=") {
		t.Fatalf("the second page repeats the first or has a next page: %s", body)
	}
	other, ob := loggedIn(t, tc, "PeekCo")
	setTierByOperator(t, tc, other.TenantID, "pro")
	if _, body := ob.get("/console/audit"); !strings.Contains(body, "tier.change") || strings.Contains(body, "logco-key") {
		t.Fatal("another tenant's audit log shows this tenant's events")
	}
	resp, body = b.get("/console/audit?cursor=bogus")
	expectStatus(t, "a made-up cursor", resp, body, http.StatusUnprocessableEntity)
}

func consoleDeleteTenant(t *testing.T, tc *caddytest.Tester) {
	acme, b := loggedIn(t, tc, "GoneCo")
	resp, body := b.get("/console/settings")
	expectPage(t, "settings", resp, body, http.StatusOK, "Type <code>"+acme.Slug+"</code>")
	csrf := b.token("/console/settings")
	resp, body = b.post("/console/settings/delete", url.Values{"csrf": {csrf}, "confirm": {"not-" + acme.Slug}})
	expectPage(t, "delete with the wrong name", resp, body, http.StatusUnprocessableEntity, "Type "+acme.Slug+", the tenant")
	if !keyWorks(t, tc, acme.APIKey) {
		t.Fatal("a wrong confirmation deleted the tenant")
	}
	resp, body = b.post("/console/settings/delete", url.Values{"csrf": {csrf}, "confirm": {acme.Slug}})
	expectPage(t, "delete the tenant", resp, body, http.StatusOK, "The tenant is deleted")
	if c := resp.Header.Get("Set-Cookie"); !strings.HasPrefix(c, "__Host-console_session=;") || !strings.Contains(c, "Max-Age=0") {
		t.Fatalf("the deletion did not clear the session cookie: %q", c)
	}
	if keyWorks(t, tc, acme.APIKey) {
		t.Fatal("the deleted tenant's key still works")
	}
	if resp, _ := b.get("/console/overview"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/login" {
		t.Fatalf("the session outlived the tenant: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}
