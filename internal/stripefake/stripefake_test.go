package stripefake

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// stripeError returns err as a *stripe.Error with the given status, or fails.
func stripeError(t *testing.T, err error, status int) *stripe.Error {
	t.Helper()
	var se *stripe.Error
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want a *stripe.Error", err)
	}
	if se.HTTPStatusCode != status {
		t.Fatalf("status = %d, want %d (%v)", se.HTTPStatusCode, status, err)
	}
	return se
}

func newCustomer(t *testing.T, sc *client.API) *stripe.Customer {
	t.Helper()
	cus, err := sc.Customers.New(&stripe.CustomerParams{Email: stripe.String("a@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	return cus
}

func newSubscription(t *testing.T, sc *client.API, customer, price string) *stripe.Subscription {
	t.Helper()
	sub, err := sc.Subscriptions.New(&stripe.SubscriptionParams{
		Customer: stripe.String(customer),
		Items:    []*stripe.SubscriptionItemsParams{{Price: stripe.String(price)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

func TestCustomerLifecycle(t *testing.T) {
	fake := New(t)
	sc := fake.Client()
	params := &stripe.CustomerParams{Email: stripe.String("ada@example.com"), Name: stripe.String("Ada")}
	params.AddMetadata("tenant_id", "t1")
	cus, err := sc.Customers.New(params)
	if err != nil {
		t.Fatal(err)
	}
	if cus.ID != "cus_1" || cus.Email != "ada@example.com" || cus.Name != "Ada" || cus.Metadata["tenant_id"] != "t1" {
		t.Fatalf("created %+v", cus)
	}

	got, err := sc.Customers.Get(cus.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != cus.ID || got.Email != cus.Email || got.Metadata["tenant_id"] != "t1" || got.Deleted {
		t.Fatalf("got %+v", got)
	}

	del, err := sc.Customers.Del(cus.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if del.ID != cus.ID || !del.Deleted {
		t.Fatalf("deleted %+v", del)
	}
	if got, err = sc.Customers.Get(cus.ID, nil); err != nil || !got.Deleted {
		t.Fatalf("get deleted = %+v, %v; want a deleted stub", got, err)
	}
	_, err = sc.Customers.Del(cus.ID, nil)
	if se := stripeError(t, err, http.StatusNotFound); se.Code != stripe.ErrorCodeResourceMissing {
		t.Fatalf("second delete: %v", err)
	}
	_, err = sc.Customers.Get("cus_nope", nil)
	stripeError(t, err, http.StatusNotFound)

	all := fake.Customers()
	if len(all) != 1 || !all[0].Deleted || all[0].Email != "ada@example.com" {
		t.Fatalf("Customers() = %+v", all)
	}
}

func TestCustomerValidation(t *testing.T) {
	sc := New(t).Client()
	_, err := sc.Customers.New(&stripe.CustomerParams{Email: stripe.String("not-an-email")})
	if se := stripeError(t, err, http.StatusBadRequest); se.Code != stripe.ErrorCodeEmailInvalid {
		t.Fatalf("bad email: %v", err)
	}
}

func TestAuthentication(t *testing.T) {
	fake := New(t)
	for _, key := range []string{"", "sk_live_0123456789abcdef", "pk_test_0123456789"} {
		backend := stripe.GetBackendWithConfig(stripe.APIBackend, fake.BackendConfig())
		sc := client.New(key, &stripe.Backends{API: backend})
		_, err := sc.Customers.New(&stripe.CustomerParams{})
		se := stripeError(t, err, http.StatusUnauthorized)
		if se.Type != stripe.ErrorTypeInvalidRequest || strings.Contains(se.Msg, "0123456789abcdef") {
			t.Errorf("key %q: %v", key, err)
		}
	}
	if n := len(fake.Customers()); n != 0 {
		t.Fatalf("%d customers created without a valid key", n)
	}
}

func TestSubscriptionLifecycle(t *testing.T) {
	fake := New(t)
	sc := fake.Client()
	cus := newCustomer(t, sc)
	params := &stripe.SubscriptionParams{
		Customer:          stripe.String(cus.ID),
		Items:             []*stripe.SubscriptionItemsParams{{Price: stripe.String("price_basic")}},
		ProrationBehavior: stripe.String("none"),
	}
	params.AddMetadata("tenant_id", "t1")
	before := time.Now().Unix()
	sub, err := sc.Subscriptions.New(params)
	if err != nil {
		t.Fatal(err)
	}
	if sub.Status != stripe.SubscriptionStatusActive || sub.Customer.ID != cus.ID || sub.Metadata["tenant_id"] != "t1" ||
		len(sub.Items.Data) != 1 || sub.Items.Data[0].Price.ID != "price_basic" {
		t.Fatalf("created %+v", sub)
	}
	start := sub.CurrentPeriodStart
	if start < before || sub.BillingCycleAnchor != start || sub.CurrentPeriodEnd != addMonth(time.Unix(start, 0)).Unix() {
		t.Fatalf("period %d..%d anchor %d", start, sub.CurrentPeriodEnd, sub.BillingCycleAnchor)
	}

	// Change the price of the item, then add a second one.
	itemID := sub.Items.Data[0].ID
	sub, err = sc.Subscriptions.Update(sub.ID, &stripe.SubscriptionParams{
		Items: []*stripe.SubscriptionItemsParams{{ID: stripe.String(itemID), Price: stripe.String("price_pro")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(sub.Items.Data) != 1 || sub.Items.Data[0].ID != itemID || sub.Items.Data[0].Price.ID != "price_pro" {
		t.Fatalf("after price change: %+v", sub.Items.Data)
	}
	sub, err = sc.Subscriptions.Update(sub.ID, &stripe.SubscriptionParams{
		Items:             []*stripe.SubscriptionItemsParams{{Price: stripe.String("price_seats")}},
		CancelAtPeriodEnd: stripe.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(sub.Items.Data) != 2 || sub.Items.Data[1].Price.ID != "price_seats" || !sub.CancelAtPeriodEnd ||
		sub.CancelAt != sub.CurrentPeriodEnd {
		t.Fatalf("after adding an item: %+v", sub)
	}
	_, err = sc.Subscriptions.Update(sub.ID, &stripe.SubscriptionParams{
		Items: []*stripe.SubscriptionItemsParams{{Price: stripe.String("price_seats")}},
	})
	stripeError(t, err, http.StatusBadRequest)

	got, err := sc.Subscriptions.Get(sub.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Items.Data[0].Price.ID != "price_pro" || !got.CancelAtPeriodEnd {
		t.Fatalf("get %+v", got)
	}

	canceled, err := sc.Subscriptions.Cancel(sub.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if canceled.Status != stripe.SubscriptionStatusCanceled || canceled.EndedAt == 0 {
		t.Fatalf("canceled %+v", canceled)
	}
	_, err = sc.Subscriptions.Cancel(sub.ID, nil)
	stripeError(t, err, http.StatusNotFound)
	_, err = sc.Subscriptions.Update(sub.ID, &stripe.SubscriptionParams{CancelAtPeriodEnd: stripe.Bool(false)})
	stripeError(t, err, http.StatusBadRequest)
	md := &stripe.SubscriptionParams{}
	md.AddMetadata("note", "kept")
	if _, err := sc.Subscriptions.Update(sub.ID, md); err != nil {
		t.Fatalf("metadata on a canceled subscription: %v", err)
	}
}

func TestSubscriptionErrors(t *testing.T) {
	sc := New(t).Client()
	_, err := sc.Subscriptions.New(&stripe.SubscriptionParams{
		Customer: stripe.String("cus_nope"),
		Items:    []*stripe.SubscriptionItemsParams{{Price: stripe.String("price_basic")}},
	})
	if se := stripeError(t, err, http.StatusBadRequest); se.Code != stripe.ErrorCodeResourceMissing || se.Param != "customer" {
		t.Fatalf("unknown customer: %v", err)
	}
	cus := newCustomer(t, sc)
	_, err = sc.Subscriptions.New(&stripe.SubscriptionParams{Customer: stripe.String(cus.ID)})
	if se := stripeError(t, err, http.StatusBadRequest); se.Code != stripe.ErrorCodeParameterMissing {
		t.Fatalf("no items: %v", err)
	}
	_, err = sc.Subscriptions.Get("sub_nope", nil)
	stripeError(t, err, http.StatusNotFound)
}

func TestSubscriptionList(t *testing.T) {
	fake := New(t)
	sc := fake.Client()
	a, b := newCustomer(t, sc), newCustomer(t, sc)
	s1 := newSubscription(t, sc, a.ID, "price_1")
	s2 := newSubscription(t, sc, a.ID, "price_2")
	newSubscription(t, sc, b.ID, "price_1")
	s4 := newSubscription(t, sc, a.ID, "price_3")
	if _, err := sc.Subscriptions.Cancel(s2.ID, nil); err != nil {
		t.Fatal(err)
	}

	ids := func(status string) []string {
		params := &stripe.SubscriptionListParams{Customer: stripe.String(a.ID)}
		params.Limit = stripe.Int64(1) // forces the iterator to page
		if status != "" {
			params.Status = stripe.String(status)
		}
		var out []string
		it := sc.Subscriptions.List(params)
		for it.Next() {
			out = append(out, it.Subscription().ID)
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got, want := strings.Join(ids(""), ","), s4.ID+","+s1.ID; got != want {
		t.Errorf("default list = %s, want %s (newest first, no canceled)", got, want)
	}
	if got, want := strings.Join(ids("all"), ","), s4.ID+","+s2.ID+","+s1.ID; got != want {
		t.Errorf("status=all list = %s, want %s", got, want)
	}
	if got := strings.Join(ids("canceled"), ","); got != s2.ID {
		t.Errorf("status=canceled list = %s, want %s", got, s2.ID)
	}
}

func TestDeleteCustomerCancelsSubscriptions(t *testing.T) {
	fake := New(t)
	sc := fake.Client()
	cus := newCustomer(t, sc)
	sub := newSubscription(t, sc, cus.ID, "price_1")
	if _, err := sc.Customers.Del(cus.ID, nil); err != nil {
		t.Fatal(err)
	}
	got, err := sc.Subscriptions.Get(sub.ID, nil)
	if err != nil || got.Status != stripe.SubscriptionStatusCanceled {
		t.Fatalf("subscription of a deleted customer: %+v, %v", got, err)
	}
}

func TestSetSubscriptionStatus(t *testing.T) {
	fake := New(t)
	sc := fake.Client()
	sub := newSubscription(t, sc, newCustomer(t, sc).ID, "price_1")
	fake.SetSubscriptionStatus(sub.ID, "past_due")
	got, err := sc.Subscriptions.Get(sub.ID, nil)
	if err != nil || got.Status != stripe.SubscriptionStatusPastDue {
		t.Fatalf("got %+v, %v", got, err)
	}
	if subs := fake.Subscriptions(); len(subs) != 1 || subs[0].Status != stripe.SubscriptionStatusPastDue {
		t.Fatalf("Subscriptions() = %+v", subs)
	}
}

func TestPortalSession(t *testing.T) {
	sc := New(t).Client()
	cus := newCustomer(t, sc)
	sess, err := sc.BillingPortalSessions.New(&stripe.BillingPortalSessionParams{
		Customer:  stripe.String(cus.ID),
		ReturnURL: stripe.String("https://app.example.com/billing"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sess.URL, "https://billing.stripe.test/session/") || sess.Customer != cus.ID ||
		sess.ReturnURL != "https://app.example.com/billing" {
		t.Fatalf("session %+v", sess)
	}
	_, err = sc.BillingPortalSessions.New(&stripe.BillingPortalSessionParams{Customer: stripe.String("cus_nope")})
	stripeError(t, err, http.StatusBadRequest)
}

func TestMeterEvents(t *testing.T) {
	fake := New(t)
	sc := fake.Client()
	ts := time.Now().Add(-time.Hour).Unix()
	event := func(identifier, value string) *stripe.BillingMeterEventParams {
		return &stripe.BillingMeterEventParams{
			EventName:  stripe.String("tokens"),
			Identifier: stripe.String(identifier),
			Payload:    map[string]string{"stripe_customer_id": "cus_1", "value": value},
			Timestamp:  stripe.Int64(ts),
		}
	}
	ev, err := sc.BillingMeterEvents.New(event("usage-1", "42"))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Identifier != "usage-1" || ev.Payload["value"] != "42" || ev.Timestamp != ts {
		t.Fatalf("event %+v", ev)
	}

	_, err = sc.BillingMeterEvents.New(event("usage-1", "42"))
	se := stripeError(t, err, http.StatusBadRequest)
	if se.Type != stripe.ErrorTypeInvalidRequest || !strings.Contains(se.Msg, "usage-1") {
		t.Fatalf("duplicate identifier: %v", err)
	}
	if got := se.LastResponse.Header.Get("Stripe-Should-Retry"); got != "false" {
		t.Errorf("Stripe-Should-Retry = %q, want false", got)
	}
	_, err = sc.BillingMeterEvents.New(event("usage-2", "1.5"))
	stripeError(t, err, http.StatusBadRequest)

	want := MeterEvent{EventName: "tokens", Identifier: "usage-1", Customer: "cus_1", Value: 42, Timestamp: ts}
	if got := fake.MeterEvents(); len(got) != 1 || got[0] != want {
		t.Fatalf("MeterEvents() = %+v, want [%+v]", got, want)
	}
}

func TestIdempotentReplay(t *testing.T) {
	fake := New(t)
	sc := fake.Client()
	create := func(email string) (*stripe.Customer, error) {
		params := &stripe.CustomerParams{Email: stripe.String(email)}
		params.SetIdempotencyKey("key-1")
		return sc.Customers.New(params)
	}
	first, err := create("a@example.com")
	if err != nil {
		t.Fatal(err)
	}
	second, err := create("a@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if second.ID != first.ID || len(fake.Customers()) != 1 {
		t.Fatalf("replay made %s after %s; %d customers", second.ID, first.ID, len(fake.Customers()))
	}
	if second.LastResponse.Header.Get("Idempotent-Replayed") != "true" {
		t.Error("replay not marked Idempotent-Replayed")
	}

	_, err = create("b@example.com")
	if se := stripeError(t, err, http.StatusBadRequest); se.Type != stripe.ErrorTypeIdempotency {
		t.Fatalf("key reused with other parameters: %v", err)
	}

	reqs := fake.Requests()
	if len(reqs) != 3 || reqs[0].Replayed || !reqs[1].Replayed || reqs[1].Status != http.StatusOK {
		t.Fatalf("Requests() = %+v", reqs)
	}
	if keys := fake.IdempotencyKeys(); len(keys) != 1 || keys[0] != "key-1" {
		t.Fatalf("IdempotencyKeys() = %v", keys)
	}
}

func TestDeleteIgnoresIdempotencyKey(t *testing.T) {
	sc := New(t).Client()
	sub := newSubscription(t, sc, newCustomer(t, sc).ID, "price_1")
	cancel := func() error {
		params := &stripe.SubscriptionCancelParams{}
		params.SetIdempotencyKey("cancel-1")
		_, err := sc.Subscriptions.Cancel(sub.ID, params)
		return err
	}
	if err := cancel(); err != nil {
		t.Fatal(err)
	}
	stripeError(t, cancel(), http.StatusNotFound)
}

func TestFailNext(t *testing.T) {
	fake := New(t)
	sc := fake.Client()
	fake.FailNext(1, http.StatusInternalServerError)
	params := &stripe.CustomerParams{}
	params.SetIdempotencyKey("key-1")
	_, err := sc.Customers.New(params)
	if se := stripeError(t, err, http.StatusInternalServerError); se.Type != stripe.ErrorTypeAPI {
		t.Fatalf("injected failure: %v", err)
	}
	if n := len(fake.Customers()); n != 0 {
		t.Fatalf("%d customers after a failed request", n)
	}
	// The failure was not saved: a retry with the key does the work.
	params = &stripe.CustomerParams{}
	params.SetIdempotencyKey("key-1")
	if _, err := sc.Customers.New(params); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.Customers()); n != 1 {
		t.Fatalf("%d customers, want 1", n)
	}
}

func TestFailNextRetriedByClient(t *testing.T) {
	fake := New(t)
	cfg := fake.BackendConfig()
	cfg.MaxNetworkRetries = stripe.Int64(2)
	sc := client.New(TestKey, &stripe.Backends{API: stripe.GetBackendWithConfig(stripe.APIBackend, cfg)})
	fake.FailNext(1, http.StatusServiceUnavailable)
	if _, err := sc.Customers.New(&stripe.CustomerParams{}); err != nil {
		t.Fatal(err)
	}
	reqs := fake.Requests()
	if len(reqs) != 2 || reqs[0].Status != http.StatusServiceUnavailable || reqs[1].IdempotencyKey != reqs[0].IdempotencyKey {
		t.Fatalf("Requests() = %+v", reqs)
	}
}

func TestTimeoutNext(t *testing.T) {
	fake := New(t)
	sc := fake.Client()
	fake.TimeoutNext(1)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	params := &stripe.CustomerParams{Email: stripe.String("a@example.com")}
	params.Context = ctx
	params.SetIdempotencyKey("key-1")
	if _, err := sc.Customers.New(params); err == nil {
		t.Fatal("request held by TimeoutNext succeeded")
	}
	if n := len(fake.Customers()); n != 1 {
		t.Fatalf("%d customers after the timeout, want 1 (the work is done)", n)
	}

	params = &stripe.CustomerParams{Email: stripe.String("a@example.com")}
	params.SetIdempotencyKey("key-1")
	cus, err := sc.Customers.New(params)
	if err != nil {
		t.Fatal(err)
	}
	if all := fake.Customers(); len(all) != 1 || all[0].ID != cus.ID {
		t.Fatalf("retry returned %s; customers %+v", cus.ID, all)
	}
	if reqs := fake.Requests(); !reqs[1].Replayed {
		t.Fatalf("retry not replayed: %+v", reqs)
	}
}

func TestTimeoutNextClientTimeout(t *testing.T) {
	fake := New(t)
	cfg := fake.BackendConfig()
	cfg.HTTPClient.Timeout = 100 * time.Millisecond
	sc := client.New(TestKey, &stripe.Backends{API: stripe.GetBackendWithConfig(stripe.APIBackend, cfg)})
	fake.TimeoutNext(1)
	if _, err := sc.Customers.New(&stripe.CustomerParams{}); err == nil {
		t.Fatal("request held by TimeoutNext succeeded")
	}
	if _, err := sc.Customers.New(&stripe.CustomerParams{}); err != nil {
		t.Fatalf("request after the timeout: %v", err)
	}
}

func TestUnknownRoute(t *testing.T) {
	fake := New(t)
	sc := fake.Client()
	_, err := sc.Invoices.Get("in_1", nil)
	stripeError(t, err, http.StatusNotFound)
}

func TestAddMonth(t *testing.T) {
	for in, want := range map[string]string{
		"2024-01-15T10:00:00Z": "2024-02-15T10:00:00Z",
		"2024-01-31T10:00:00Z": "2024-02-29T10:00:00Z",
		"2023-01-31T10:00:00Z": "2023-02-28T10:00:00Z",
		"2024-12-31T23:59:59Z": "2025-01-31T23:59:59Z",
	} {
		tm, _ := time.Parse(time.RFC3339, in)
		if got := addMonth(tm).Format(time.RFC3339); got != want {
			t.Errorf("addMonth(%s) = %s, want %s", in, got, want)
		}
	}
}
