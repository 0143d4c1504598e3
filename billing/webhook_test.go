package billing

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/contextlite/cloud/internal/stripefake"
	"github.com/contextlite/cloud/tenancy"
)

// The webhook tests run Billing over the real SQLite control plane and
// the fake Stripe API. Subscriptions are made at the fake directly, as
// Stripe's dashboard or checkout would, and the tests deliver the events
// Stripe would send about them, signed like Stripe signs them.

// webhookFixture is a Billing with an injected clock, its control plane
// and the fake Stripe it talks to.
type webhookFixture struct {
	ctx    context.Context
	store  tenancy.Store
	fake   *stripefake.Server
	stripe *client.API // to change the fake's state as Stripe would
	b      *Billing
	now    time.Time // Billing's clock
}

// newWebhookFixture returns a fixture whose Billing does not retry failed
// Stripe calls, so that an injected failure reaches HandleWebhook.
func newWebhookFixture(t *testing.T) *webhookFixture {
	t.Helper()
	store := openTestStore(t)
	fake := stripefake.New(t)
	b, err := New(Config{
		SecretKey:         "sk_test_x",
		APIURL:            fake.URL,
		WebhookSecret:     testWebhookSecret,
		Prices:            map[string]string{"starter": "price_starter", "pro": "price_pro"},
		Timeout:           2 * time.Second,
		MaxNetworkRetries: -1,
	}, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &webhookFixture{ctx: context.Background(), store: store, fake: fake, stripe: fake.Client(), b: b,
		now: time.Now().Truncate(time.Second)}
	b.now = func() time.Time { return f.now }
	return f
}

// tenant creates an active free tenant with a Stripe customer.
func (f *webhookFixture) tenant(t *testing.T, slug string) tenancy.Tenant {
	t.Helper()
	tn := tenancy.Tenant{ID: tenancy.NewTenantID(), Slug: slug, Name: slug, Email: slug + "@example.com",
		Tier: freeTier, Status: tenancy.StatusActive}
	if err := f.store.CreateTenant(f.ctx, tn); err != nil {
		t.Fatal(err)
	}
	if _, err := f.b.EnsureCustomer(f.ctx, tn); err != nil {
		t.Fatal(err)
	}
	return f.get(t, tn.ID)
}

// get reads a tenant back from the control plane.
func (f *webhookFixture) get(t *testing.T, id string) tenancy.Tenant {
	t.Helper()
	tn, err := f.store.Tenant(f.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

// subscribe creates a subscription of tn to price at the fake.
func (f *webhookFixture) subscribe(t *testing.T, tn tenancy.Tenant, price string) *stripe.Subscription {
	t.Helper()
	sub, err := f.stripe.Subscriptions.New(&stripe.SubscriptionParams{
		Customer: stripe.String(tn.StripeCustomerID),
		Items:    []*stripe.SubscriptionItemsParams{{Price: stripe.String(price)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

// reprice moves sub's first item to price at the fake.
func (f *webhookFixture) reprice(t *testing.T, sub *stripe.Subscription, price string) *stripe.Subscription {
	t.Helper()
	sub, err := f.stripe.Subscriptions.Update(sub.ID, &stripe.SubscriptionParams{
		Items: []*stripe.SubscriptionItemsParams{{ID: stripe.String(sub.Items.Data[0].ID), Price: stripe.String(price)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

// deliver hands payload to HandleWebhook, freshly signed.
func (f *webhookFixture) deliver(payload []byte) error {
	return f.b.HandleWebhook(f.ctx, payload, signature(payload, testWebhookSecret, time.Now()))
}

// mustDeliver delivers payload and fails the test on an error.
func (f *webhookFixture) mustDeliver(t *testing.T, payload []byte) {
	t.Helper()
	if err := f.deliver(payload); err != nil {
		t.Fatalf("HandleWebhook: %v", err)
	}
}

// processed reports whether the event was recorded as processed.
func (f *webhookFixture) processed(t *testing.T, id string) bool {
	t.Helper()
	done, err := f.store.RecordBillingEvent(f.ctx, id, "probe", []byte(`{}`), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return done
}

// subscriptionReads counts the fake's GET requests for subscription id.
func (f *webhookFixture) subscriptionReads(id string) int {
	n := 0
	for _, r := range f.fake.Requests() {
		if r.Method == http.MethodGet && r.Path == "/v1/subscriptions/"+id {
			n++
		}
	}
	return n
}

// wantPlan fails the test unless tn has tier and subscription, and a
// billing anchor at anchor (zero: none).
func wantPlan(t *testing.T, tn tenancy.Tenant, tier, subscription string, anchor time.Time) {
	t.Helper()
	if tn.Tier != tier || tn.StripeSubscriptionID != subscription || !tn.BillingAnchor.Equal(anchor) {
		t.Fatalf("tenant has tier %q, subscription %q, anchor %v; want %q, %q, %v",
			tn.Tier, tn.StripeSubscriptionID, tn.BillingAnchor, tier, subscription, anchor)
	}
}

func TestWebhookSubscriptionCreatedSetsTier(t *testing.T) {
	for _, tt := range []struct{ price, tier string }{
		{"price_starter", "starter"},
		{"price_pro", "pro"},
	} {
		t.Run(tt.tier, func(t *testing.T) {
			f := newWebhookFixture(t)
			tn := f.tenant(t, "acme")
			sub := f.subscribe(t, tn, tt.price)
			f.mustDeliver(t, eventPayload(t, "evt_created", stripe.EventTypeCustomerSubscriptionCreated, subscriptionObject(sub, "")))
			wantPlan(t, f.get(t, tn.ID), tt.tier, sub.ID, time.Unix(sub.BillingCycleAnchor, 0))
			if !f.processed(t, "evt_created") {
				t.Error("event not marked processed")
			}
		})
	}
}

func TestWebhookRejectsInvalidDeliveries(t *testing.T) {
	f := newWebhookFixture(t)
	tn := f.tenant(t, "acme")
	sub := f.subscribe(t, tn, "price_pro")
	now := time.Now()
	valid := eventPayload(t, "evt_1", stripe.EventTypeCustomerSubscriptionCreated, subscriptionObject(sub, ""))
	tampered := append(valid[:len(valid)-1:len(valid)-1], ' ', '}')
	malformed := []byte(`{"id": "evt_2", `)
	oldVersion := eventPayloadVersion(t, "evt_3", stripe.EventTypeCustomerSubscriptionCreated, "2020-08-27", subscriptionObject(sub, ""))
	noID := eventPayload(t, "", stripe.EventTypeCustomerSubscriptionCreated, subscriptionObject(sub, ""))
	for _, tt := range []struct {
		name      string
		payload   []byte
		signature string
	}{
		{"bad signature", valid, signature(valid, "whsec_other", now)},
		{"tampered payload", tampered, signature(valid, testWebhookSecret, now)},
		{"too old", valid, signature(valid, testWebhookSecret, now.Add(-10*time.Minute))},
		{"no signature", valid, ""},
		{"malformed header", valid, "garbage"},
		{"malformed JSON", malformed, signature(malformed, testWebhookSecret, now)},
		{"other API version", oldVersion, signature(oldVersion, testWebhookSecret, now)},
		{"no event id", noID, signature(noID, testWebhookSecret, now)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := f.b.HandleWebhook(f.ctx, tt.payload, tt.signature)
			if !errors.Is(err, ErrInvalidEvent) {
				t.Fatalf("HandleWebhook = %v, want ErrInvalidEvent", err)
			}
			wantPlan(t, f.get(t, tn.ID), freeTier, "", time.Time{})
		})
	}
	if n := f.subscriptionReads(sub.ID); n != 0 {
		t.Errorf("Stripe was asked for the subscription %d times for invalid events", n)
	}
}

func TestWebhookAcceptsOtherAPIVersionWhenConfigured(t *testing.T) {
	f := newWebhookFixture(t)
	f.b.cfg.IgnoreAPIVersionMismatch = true
	tn := f.tenant(t, "acme")
	sub := f.subscribe(t, tn, "price_pro")
	f.mustDeliver(t, eventPayloadVersion(t, "evt_1", stripe.EventTypeCustomerSubscriptionCreated, "2024-06-20", subscriptionObject(sub, "")))
	wantPlan(t, f.get(t, tn.ID), "pro", sub.ID, time.Unix(sub.BillingCycleAnchor, 0))
}

func TestWebhookProcessesAnEventOnce(t *testing.T) {
	f := newWebhookFixture(t)
	tn := f.tenant(t, "acme")
	sub := f.subscribe(t, tn, "price_pro")
	payload := eventPayload(t, "evt_dup", stripe.EventTypeCustomerSubscriptionCreated, subscriptionObject(sub, ""))
	f.mustDeliver(t, payload)
	if err := f.store.SetTier(f.ctx, tn.ID, "starter"); err != nil { // changed by hand in between
		t.Fatal(err)
	}
	f.mustDeliver(t, payload)
	if got := f.get(t, tn.ID).Tier; got != "starter" {
		t.Errorf("after the redelivery the tier is %q, want starter (left alone)", got)
	}
	if n := f.subscriptionReads(sub.ID); n != 1 {
		t.Errorf("subscription read %d times, want once", n)
	}
}

func TestWebhookConvergesOnStripeState(t *testing.T) {
	f := newWebhookFixture(t)
	tn := f.tenant(t, "acme")
	sub := f.subscribe(t, tn, "price_starter")
	created := subscriptionObject(sub, "")
	sub = f.reprice(t, sub, "price_pro")
	// The upgrade's event arrives first, the creation's (saying starter)
	// after it: the tenant stays on what Stripe says now.
	f.mustDeliver(t, eventPayload(t, "evt_upgraded", stripe.EventTypeCustomerSubscriptionUpdated, subscriptionObject(sub, "")))
	f.mustDeliver(t, eventPayload(t, "evt_created", stripe.EventTypeCustomerSubscriptionCreated, created))
	wantPlan(t, f.get(t, tn.ID), "pro", sub.ID, time.Unix(sub.BillingCycleAnchor, 0))
	// A stale update still naming starter changes nothing either.
	f.mustDeliver(t, eventPayload(t, "evt_stale", stripe.EventTypeCustomerSubscriptionUpdated, subscriptionObject(sub, "price_starter")))
	wantPlan(t, f.get(t, tn.ID), "pro", sub.ID, time.Unix(sub.BillingCycleAnchor, 0))
}

func TestWebhookSubscriptionEnded(t *testing.T) {
	for _, tt := range []struct {
		name string
		end  func(f *webhookFixture, t *testing.T, sub *stripe.Subscription)
	}{
		{"canceled", func(f *webhookFixture, t *testing.T, sub *stripe.Subscription) {
			if _, err := f.stripe.Subscriptions.Cancel(sub.ID, nil); err != nil {
				t.Fatal(err)
			}
		}},
		{"unpaid", func(f *webhookFixture, t *testing.T, sub *stripe.Subscription) {
			f.fake.SetSubscriptionStatus(sub.ID, "unpaid")
		}},
		{"incomplete_expired", func(f *webhookFixture, t *testing.T, sub *stripe.Subscription) {
			f.fake.SetSubscriptionStatus(sub.ID, "incomplete_expired")
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newWebhookFixture(t)
			tn := f.tenant(t, "acme")
			sub := f.subscribe(t, tn, "price_pro")
			f.mustDeliver(t, eventPayload(t, "evt_created", stripe.EventTypeCustomerSubscriptionCreated, subscriptionObject(sub, "")))
			tt.end(f, t, sub)
			f.mustDeliver(t, eventPayload(t, "evt_ended", stripe.EventTypeCustomerSubscriptionDeleted, subscriptionObject(sub, "")))
			wantPlan(t, f.get(t, tn.ID), freeTier, "", time.Time{})
		})
	}
}

func TestWebhookSubscriptionUnknownToStripeCountsAsCanceled(t *testing.T) {
	f := newWebhookFixture(t)
	tn := f.tenant(t, "acme")
	sub := f.subscribe(t, tn, "price_pro")
	f.mustDeliver(t, eventPayload(t, "evt_created", stripe.EventTypeCustomerSubscriptionCreated, subscriptionObject(sub, "")))
	gone := subscriptionObject(sub, "")
	gone["id"] = "sub_gone"
	if err := f.store.SetSubscription(f.ctx, tn.ID, "sub_gone"); err != nil {
		t.Fatal(err)
	}
	f.mustDeliver(t, eventPayload(t, "evt_deleted", stripe.EventTypeCustomerSubscriptionDeleted, gone))
	wantPlan(t, f.get(t, tn.ID), freeTier, "", time.Time{})
}

func TestWebhookOldSubscriptionEndingKeepsNewerOne(t *testing.T) {
	f := newWebhookFixture(t)
	tn := f.tenant(t, "acme")
	old := f.subscribe(t, tn, "price_starter")
	if _, err := f.stripe.Subscriptions.Cancel(old.ID, nil); err != nil {
		t.Fatal(err)
	}
	current := f.subscribe(t, tn, "price_pro")
	f.mustDeliver(t, eventPayload(t, "evt_new", stripe.EventTypeCustomerSubscriptionCreated, subscriptionObject(current, "")))
	// The old subscription's events arrive late.
	f.mustDeliver(t, eventPayload(t, "evt_old_updated", stripe.EventTypeCustomerSubscriptionUpdated, subscriptionObject(old, "")))
	f.mustDeliver(t, eventPayload(t, "evt_old_deleted", stripe.EventTypeCustomerSubscriptionDeleted, subscriptionObject(old, "")))
	wantPlan(t, f.get(t, tn.ID), "pro", current.ID, time.Unix(current.BillingCycleAnchor, 0))
}

func TestWebhookPaymentFailureGraceAndRecovery(t *testing.T) {
	f := newWebhookFixture(t)
	tn := f.tenant(t, "acme")
	other := f.tenant(t, "other") // paid up: never suspended
	sub := f.subscribe(t, tn, "price_pro")
	f.mustDeliver(t, eventPayload(t, "evt_created", stripe.EventTypeCustomerSubscriptionCreated, subscriptionObject(sub, "")))
	failedAt := f.now
	inv := f.fake.AddInvoice(tn.StripeCustomerID, sub.ID, "open")

	f.mustDeliver(t, eventPayload(t, "evt_failed_1", stripe.EventTypeInvoicePaymentFailed, invoiceObject(inv.ID, tn.StripeCustomerID, sub.ID, "open")))
	if got := f.get(t, tn.ID).PaymentFailedAt; !got.Equal(failedAt) {
		t.Fatalf("payment failed at %v, want %v", got, failedAt)
	}
	// A retry failing a day later does not extend the grace period.
	f.now = failedAt.Add(24 * time.Hour)
	f.mustDeliver(t, eventPayload(t, "evt_failed_2", stripe.EventTypeInvoicePaymentFailed, invoiceObject(inv.ID, tn.StripeCustomerID, sub.ID, "open")))
	if got := f.get(t, tn.ID).PaymentFailedAt; !got.Equal(failedAt) {
		t.Fatalf("after a second failure, payment failed at %v, want still %v", got, failedAt)
	}

	f.now = failedAt.Add(3*24*time.Hour - time.Second)
	if err := f.b.EnforceGrace(f.ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.get(t, tn.ID).Status; got != tenancy.StatusActive {
		t.Fatalf("within the grace period the tenant is %s, want active", got)
	}

	f.now = failedAt.Add(3 * 24 * time.Hour)
	if err := f.b.EnforceGrace(f.ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.get(t, tn.ID); got.Status != tenancy.StatusSuspended || got.Tier != "pro" {
		t.Fatalf("after the grace period the tenant is %s on %s, want suspended on pro", got.Status, got.Tier)
	}
	if got := f.get(t, other.ID).Status; got != tenancy.StatusActive {
		t.Errorf("paid-up tenant is %s, want active", got)
	}

	f.fake.SetInvoiceStatus(inv.ID, "paid")
	f.mustDeliver(t, eventPayload(t, "evt_paid", stripe.EventTypeInvoicePaid, invoiceObject(inv.ID, tn.StripeCustomerID, sub.ID, "paid")))
	got := f.get(t, tn.ID)
	if got.Status != tenancy.StatusActive || !got.PaymentFailedAt.IsZero() {
		t.Fatalf("after payment the tenant is %s with payment failed at %v, want active and cleared", got.Status, got.PaymentFailedAt)
	}
	f.now = failedAt.Add(30 * 24 * time.Hour)
	if err := f.b.EnforceGrace(f.ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.get(t, tn.ID).Status; got != tenancy.StatusActive {
		t.Errorf("paid-up tenant suspended again: %s", got)
	}
}

// A payment failure delivered late, for an invoice paid since, for one of
// a subscription the tenant no longer has, or for one Stripe does not
// have, does not start the grace period of a paid-up tenant; the same
// event acts once the invoice it names is open at Stripe.
func TestWebhookLatePaymentFailureOfSettledInvoice(t *testing.T) {
	f := newWebhookFixture(t)
	tn := f.tenant(t, "acme")
	old := f.subscribe(t, tn, "price_starter")
	sub := f.subscribe(t, tn, "price_pro")
	f.mustDeliver(t, eventPayload(t, "evt_created", stripe.EventTypeCustomerSubscriptionCreated, subscriptionObject(sub, "")))
	paid := f.fake.AddInvoice(tn.StripeCustomerID, sub.ID, "paid")
	oldOpen := f.fake.AddInvoice(tn.StripeCustomerID, old.ID, "open")
	for id, payload := range map[string][]byte{
		"evt_late_paid":    eventPayload(t, "evt_late_paid", stripe.EventTypeInvoicePaymentFailed, invoiceObject(paid.ID, tn.StripeCustomerID, sub.ID, "open")),
		"evt_late_old_sub": eventPayload(t, "evt_late_old_sub", stripe.EventTypeInvoicePaymentFailed, invoiceObject(oldOpen.ID, tn.StripeCustomerID, old.ID, "open")),
		"evt_late_missing": eventPayload(t, "evt_late_missing", stripe.EventTypeInvoicePaymentFailed, invoiceObject("in_missing", tn.StripeCustomerID, sub.ID, "open")),
	} {
		f.mustDeliver(t, payload)
		if got := f.get(t, tn.ID).PaymentFailedAt; !got.IsZero() {
			t.Fatalf("%s: payment failed at %v, want none: the tenant is paid up", id, got)
		}
		if !f.processed(t, id) {
			t.Errorf("%s not marked processed", id)
		}
	}

	open := f.fake.AddInvoice(tn.StripeCustomerID, sub.ID, "open")
	f.mustDeliver(t, eventPayload(t, "evt_failed", stripe.EventTypeInvoicePaymentFailed, invoiceObject(open.ID, tn.StripeCustomerID, sub.ID, "paid")))
	if got := f.get(t, tn.ID).PaymentFailedAt; !got.Equal(f.now) {
		t.Errorf("payment failed at %v, want %v: the invoice is open at Stripe whatever the payload says", got, f.now)
	}
}

// A payment failure is not recorded while its invoice cannot be read
// again; Stripe's redelivery applies it.
func TestWebhookPaymentFailureWaitsForStripe(t *testing.T) {
	f := newWebhookFixture(t)
	tn := f.tenant(t, "acme")
	sub := f.subscribe(t, tn, "price_pro")
	f.mustDeliver(t, eventPayload(t, "evt_created", stripe.EventTypeCustomerSubscriptionCreated, subscriptionObject(sub, "")))
	inv := f.fake.AddInvoice(tn.StripeCustomerID, sub.ID, "open")
	payload := eventPayload(t, "evt_failed", stripe.EventTypeInvoicePaymentFailed, invoiceObject(inv.ID, tn.StripeCustomerID, sub.ID, "open"))
	f.fake.FailNext(1, http.StatusInternalServerError)
	if err := f.deliver(payload); err == nil || errors.Is(err, ErrInvalidEvent) {
		t.Fatalf("HandleWebhook with Stripe down: %v, want a retryable error", err)
	}
	if got := f.get(t, tn.ID).PaymentFailedAt; !got.IsZero() {
		t.Fatalf("payment failed at %v before the invoice was read", got)
	}
	f.mustDeliver(t, payload)
	if got := f.get(t, tn.ID).PaymentFailedAt; !got.Equal(f.now) {
		t.Errorf("after redelivery payment failed at %v, want %v", got, f.now)
	}
}

func TestWebhookInvoicePaidKeepsOtherSuspensions(t *testing.T) {
	f := newWebhookFixture(t)
	tn := f.tenant(t, "acme")
	if err := f.store.SetStatus(f.ctx, tn.ID, tenancy.StatusSuspended); err != nil { // by an operator
		t.Fatal(err)
	}
	f.mustDeliver(t, eventPayload(t, "evt_paid", stripe.EventTypeInvoicePaid, invoiceObject("in_1", tn.StripeCustomerID, "", "paid")))
	if got := f.get(t, tn.ID).Status; got != tenancy.StatusSuspended {
		t.Errorf("tenant suspended for another reason is %s after a payment, want suspended", got)
	}
}

func TestWebhookEndedSubscriptionLiftsPaymentSuspension(t *testing.T) {
	f := newWebhookFixture(t)
	tn := f.tenant(t, "acme")
	sub := f.subscribe(t, tn, "price_pro")
	f.mustDeliver(t, eventPayload(t, "evt_created", stripe.EventTypeCustomerSubscriptionCreated, subscriptionObject(sub, "")))
	inv := f.fake.AddInvoice(tn.StripeCustomerID, sub.ID, "open")
	f.mustDeliver(t, eventPayload(t, "evt_failed", stripe.EventTypeInvoicePaymentFailed, invoiceObject(inv.ID, tn.StripeCustomerID, sub.ID, "open")))
	f.now = f.now.Add(4 * 24 * time.Hour)
	if err := f.b.EnforceGrace(f.ctx); err != nil {
		t.Fatal(err)
	}
	// Stripe gives up collecting and cancels: the tenant falls back to free.
	if _, err := f.stripe.Subscriptions.Cancel(sub.ID, nil); err != nil {
		t.Fatal(err)
	}
	f.mustDeliver(t, eventPayload(t, "evt_deleted", stripe.EventTypeCustomerSubscriptionDeleted, subscriptionObject(sub, "")))
	got := f.get(t, tn.ID)
	wantPlan(t, got, freeTier, "", time.Time{})
	if got.Status != tenancy.StatusActive || !got.PaymentFailedAt.IsZero() {
		t.Errorf("free tenant is %s with payment failed at %v, want active and cleared", got.Status, got.PaymentFailedAt)
	}
}

func TestWebhookCustomerDeleted(t *testing.T) {
	f := newWebhookFixture(t)
	tn := f.tenant(t, "acme")
	sub := f.subscribe(t, tn, "price_pro")
	f.mustDeliver(t, eventPayload(t, "evt_created", stripe.EventTypeCustomerSubscriptionCreated, subscriptionObject(sub, "")))
	if _, err := f.stripe.Customers.Del(tn.StripeCustomerID, nil); err != nil {
		t.Fatal(err)
	}
	f.mustDeliver(t, eventPayload(t, "evt_cus_deleted", stripe.EventTypeCustomerDeleted, customerObject(tn.StripeCustomerID, tn.Email)))
	got := f.get(t, tn.ID)
	wantPlan(t, got, freeTier, "", time.Time{})
	if got.StripeCustomerID != "" {
		t.Errorf("tenant keeps Stripe customer %q", got.StripeCustomerID)
	}
	// The subscription's own deletion event, arriving after, is about a
	// customer no tenant has any more: ignored.
	f.mustDeliver(t, eventPayload(t, "evt_sub_deleted", stripe.EventTypeCustomerSubscriptionDeleted, subscriptionObject(sub, "")))
	if !f.processed(t, "evt_sub_deleted") {
		t.Error("event of an unknown customer not marked processed")
	}
}

func TestWebhookIgnoresUnknownCustomersAndTypes(t *testing.T) {
	f := newWebhookFixture(t)
	tn := f.tenant(t, "acme")
	for id, payload := range map[string][]byte{
		"evt_unknown_customer": eventPayload(t, "evt_unknown_customer", stripe.EventTypeInvoicePaymentFailed, invoiceObject("in_9", "cus_nobody", "", "open")),
		"evt_other_type":       eventPayload(t, "evt_other_type", stripe.EventTypeChargeSucceeded, map[string]any{"id": "ch_1", "object": "charge", "customer": tn.StripeCustomerID}),
	} {
		f.mustDeliver(t, payload)
		if !f.processed(t, id) {
			t.Errorf("%s not marked processed", id)
		}
	}
	if got := f.get(t, tn.ID); got.Tier != freeTier || !got.PaymentFailedAt.IsZero() {
		t.Errorf("tenant changed: tier %s, payment failed at %v", got.Tier, got.PaymentFailedAt)
	}
}

func TestWebhookFailureIsRetried(t *testing.T) {
	f := newWebhookFixture(t)
	tn := f.tenant(t, "acme")
	sub := f.subscribe(t, tn, "price_pro")
	payload := eventPayload(t, "evt_retry", stripe.EventTypeCustomerSubscriptionCreated, subscriptionObject(sub, ""))

	f.fake.FailNext(1, http.StatusInternalServerError) // the re-read of the subscription
	err := f.deliver(payload)
	if err == nil || errors.Is(err, ErrInvalidEvent) {
		t.Fatalf("HandleWebhook with Stripe failing = %v, want an error other than ErrInvalidEvent", err)
	}
	if f.processed(t, "evt_retry") {
		t.Fatal("failed event marked processed")
	}
	wantPlan(t, f.get(t, tn.ID), freeTier, "", time.Time{})

	f.mustDeliver(t, payload) // Stripe's redelivery
	wantPlan(t, f.get(t, tn.ID), "pro", sub.ID, time.Unix(sub.BillingCycleAnchor, 0))
	if !f.processed(t, "evt_retry") {
		t.Error("redelivered event not marked processed")
	}
}
