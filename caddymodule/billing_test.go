package caddymodule

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/contextlite/cloud/internal/stripefake"
)

// stripeConfig is the contextlite settings of billing against fake; the
// secrets come from the environment, as the root Caddyfile reads them.
func stripeConfig(t *testing.T, fakeURL string) string {
	t.Setenv("CONTEXTLITE_STRIPE_SECRET_KEY", "sk_test_e2e")
	t.Setenv("CONTEXTLITE_STRIPE_WEBHOOK_SECRET", "whsec_e2e")
	return "\t\tstripe {\n\t\t\tapi_url " + fakeURL +
		"\n\t\t\tprice starter price_starter\n\t\t\tprice pro price_pro\n\t\t}\n"
}

// subscriptionEvent is a signed customer.subscription.* event of Stripe.
func subscriptionEvent(t *testing.T, id, typ, subID, customer string) (payload []byte, signature string) {
	t.Helper()
	body := fmt.Sprintf(`{"id": %q, "object": "event", "api_version": "2023-10-16", "type": %q, "created": %d,
		"data": {"object": {"id": %q, "object": "subscription", "customer": %q, "status": "active"}}}`,
		id, typ, time.Now().Unix(), subID, customer)
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(body), Secret: "whsec_e2e", Timestamp: time.Now()})
	return signed.Payload, signed.Header
}

func postWebhook(t *testing.T, tc interface {
	Do(*http.Request) (*http.Response, error)
}, payload []byte, signature string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", testBase+"/webhooks/stripe", strings.NewReader(string(payload)))
	req.Header.Set("Stripe-Signature", signature)
	resp, err := tc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e errorCode
	json.NewDecoder(resp.Body).Decode(&e)
	return resp.StatusCode, e.Error.Code
}

func TestBillingEndToEnd(t *testing.T) {
	fake := stripefake.New(t)
	tc := startServer(t, t.TempDir(), stripeConfig(t, fake.URL))
	acme := signup(t, tc, "PayCo")
	base := acme.URL + "/api/v1"

	customers := fake.Customers()
	if len(customers) != 1 || customers[0].Metadata["tenant_id"] != acme.TenantID {
		t.Fatalf("customers after signup = %+v", customers)
	}

	var sub struct {
		Subscription struct {
			ID string `json:"id"`
		} `json:"subscription"`
		CurrentTier string `json:"current_tier"`
	}
	call(t, tc, "POST", base+"/billing/subscription", acme.APIKey, map[string]string{"tier": "starter"}, http.StatusAccepted, &sub)
	if sub.Subscription.ID == "" || sub.CurrentTier != "free" {
		t.Fatalf("subscription answer = %+v", sub)
	}
	// Not before Stripe confirms.
	hdr := call(t, tc, "GET", base+"/usage", acme.APIKey, nil, http.StatusOK, nil)
	if hdr.Get("X-Quota-Limit") != "1000" {
		t.Fatalf("before the webhook: X-Quota-Limit %q, want the free tier's 1000", hdr.Get("X-Quota-Limit"))
	}

	payload, sig := subscriptionEvent(t, "evt_1", "customer.subscription.created", sub.Subscription.ID, customers[0].ID)
	for i := range 2 { // the second is a duplicate delivery
		if status, code := postWebhook(t, tc.Client, payload, sig); status != http.StatusOK {
			t.Fatalf("delivery %d: %d %s", i+1, status, code)
		}
	}
	hdr = call(t, tc, "GET", base+"/usage", acme.APIKey, nil, http.StatusOK, nil)
	if hdr.Get("X-Quota-Limit") != "100000" {
		t.Fatalf("after the webhook: X-Quota-Limit %q, want the starter tier's 100000", hdr.Get("X-Quota-Limit"))
	}

	if status, code := postWebhook(t, tc.Client, payload, "t=1,v1=deadbeef"); status != http.StatusBadRequest || code != "invalid_event" {
		t.Fatalf("bad signature: %d %s", status, code)
	}
	var portal struct {
		URL string `json:"url"`
	}
	call(t, tc, "POST", base+"/billing/portal", acme.APIKey, map[string]string{"return_url": "https://app.example.com/"}, http.StatusOK, &portal)
	if !strings.HasPrefix(portal.URL, "https://") {
		t.Fatalf("portal = %+v", portal)
	}
	var e errorCode
	call(t, tc, "POST", base+"/billing/subscription", acme.APIKey, map[string]string{"tier": "platinum"}, http.StatusUnprocessableEntity, &e)
}

func TestBillingOffAnswers404(t *testing.T) {
	tc := startServer(t, t.TempDir(), "")
	acme := signup(t, tc, "NoPayCo")
	var e errorCode
	call(t, tc, "POST", acme.URL+"/api/v1/billing/subscription", acme.APIKey, map[string]string{"tier": "pro"}, http.StatusNotFound, &e)
	if e.Error.Code != "billing_disabled" {
		t.Fatalf("code %q", e.Error.Code)
	}
	if status, code := postWebhook(t, tc.Client, []byte(`{}`), "t=1,v1=00"); status != http.StatusNotFound || code != "billing_disabled" {
		t.Fatalf("webhook without billing: %d %s", status, code)
	}
}

func TestHealth(t *testing.T) {
	fake := stripefake.New(t)
	tc := startServer(t, t.TempDir(), stripeConfig(t, fake.URL))
	signup(t, tc, "HealthCo")
	var h struct {
		Status      string            `json:"status"`
		Version     string            `json:"version"`
		TenantCount int               `json:"tenant_count"`
		Checks      map[string]string `json:"checks"`
	}
	for range 50 { // the stripe check is filled in by billing's first round
		resp, data := rawCall(t, tc, "GET", testBase+"/health", "", "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("health: %d %s", resp.StatusCode, data)
		}
		if err := json.Unmarshal(data, &h); err != nil {
			t.Fatal(err)
		}
		if h.Checks["stripe"] == "ok" {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if h.Status != "ok" || h.Version == "" || h.Checks["database"] != "ok" || h.Checks["storage"] != "ok" || h.Checks["stripe"] != "ok" {
		t.Fatalf("health = %+v", h)
	}
}
