package billing

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/contextlite/cloud/tenancy"
)

// testWebhookSecret is the webhook signing secret of the tests' Billing.
const testWebhookSecret = "whsec_test"

// openTestStore opens a SQLite control plane in a temporary directory
// that is closed when the test ends.
func openTestStore(t *testing.T) tenancy.Store {
	t.Helper()
	store, err := tenancy.Open(context.Background(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// eventPayload returns a webhook event of type typ about object, shaped
// like Stripe's and rendered in stripe-go v76's API version.
func eventPayload(t *testing.T, id string, typ stripe.EventType, object map[string]any) []byte {
	t.Helper()
	return eventPayloadVersion(t, id, typ, stripe.APIVersion, object)
}

// eventPayloadVersion is eventPayload rendered in apiVersion.
func eventPayloadVersion(t *testing.T, id string, typ stripe.EventType, apiVersion string, object map[string]any) []byte {
	t.Helper()
	payload, err := json.Marshal(map[string]any{
		"id":               id,
		"object":           "event",
		"api_version":      apiVersion,
		"created":          time.Now().Unix(),
		"livemode":         false,
		"pending_webhooks": 1,
		"request":          map[string]any{"id": nil, "idempotency_key": nil},
		"type":             string(typ),
		"data":             map[string]any{"object": object},
	})
	if err != nil {
		t.Fatal(err)
	}
	return payload
}

// signature returns the Stripe-Signature header of payload signed with
// secret at the given time.
func signature(payload []byte, secret string, at time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{
		Payload: payload, Secret: secret, Timestamp: at,
	}).Header
}

// subscriptionObject renders sub as a webhook's data.object, with the
// price of its first item replaced by price if that is not empty (to
// make a stale payload).
func subscriptionObject(sub *stripe.Subscription, price string) map[string]any {
	items := []any{}
	for i, it := range sub.Items.Data {
		p := it.Price.ID
		if i == 0 && price != "" {
			p = price
		}
		items = append(items, map[string]any{
			"id": it.ID, "object": "subscription_item", "subscription": sub.ID, "quantity": 1,
			"price": map[string]any{"id": p, "object": "price", "currency": "usd", "unit_amount": 1900},
		})
	}
	return map[string]any{
		"id":                   sub.ID,
		"object":               "subscription",
		"customer":             sub.Customer.ID,
		"status":               string(sub.Status),
		"billing_cycle_anchor": sub.BillingCycleAnchor,
		"current_period_start": sub.CurrentPeriodStart,
		"current_period_end":   sub.CurrentPeriodEnd,
		"cancel_at_period_end": sub.CancelAtPeriodEnd,
		"livemode":             false,
		"items":                map[string]any{"object": "list", "data": items, "has_more": false},
	}
}

// invoiceObject renders an invoice of customer as a webhook's data.object.
func invoiceObject(id, customer, subscription, status string) map[string]any {
	return map[string]any{
		"id":           id,
		"object":       "invoice",
		"customer":     customer,
		"subscription": subscription,
		"status":       status,
		"paid":         status == "paid",
		"amount_due":   1900,
		"currency":     "usd",
		"livemode":     false,
	}
}

// customerObject renders a customer as a webhook's data.object.
func customerObject(id, email string) map[string]any {
	return map[string]any{"id": id, "object": "customer", "email": email, "livemode": false}
}
