package billing

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/contextlite/cloud/internal/stripefake"
	"github.com/contextlite/cloud/tenancy"
)

// accountFixture is a Billing over a fake Stripe and a real SQLite
// control plane holding one free tenant without a customer.
type accountFixture struct {
	fake   *stripefake.Server
	store  tenancy.Store
	b      *Billing
	tenant tenancy.Tenant
}

func newAccountFixture(t *testing.T) *accountFixture {
	t.Helper()
	f := &accountFixture{fake: stripefake.New(t), store: openTestStore(t)}
	var err error
	f.b, err = New(Config{SecretKey: stripefake.TestKey, APIURL: f.fake.URL, MaxNetworkRetries: -1, Timeout: 500 * time.Millisecond,
		Prices: map[string]string{"starter": "price_starter", "pro": "price_pro"}}, f.store, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.tenant = tenancy.Tenant{ID: "0b6e1d5c-1b8f-4c43-9d63-0c1f5b1d2e3a", Slug: "acme", Email: "ops@acme.test",
		Name: "Acme", Tier: "free", Status: tenancy.StatusActive}
	if err := f.store.CreateTenant(context.Background(), f.tenant); err != nil {
		t.Fatal(err)
	}
	return f
}

// reload reads the tenant back from the control plane.
func (f *accountFixture) reload(t *testing.T) tenancy.Tenant {
	t.Helper()
	tn, err := f.store.Tenant(context.Background(), f.tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

func TestEnsureCustomerRetriedAfterATimeoutMakesOne(t *testing.T) {
	f := newAccountFixture(t)
	ctx := context.Background()
	f.fake.TimeoutNext(1)
	if _, err := f.b.EnsureCustomer(ctx, f.tenant); err == nil {
		t.Fatal("the timed-out call succeeded")
	}
	id, err := f.b.EnsureCustomer(ctx, f.tenant)
	if err != nil {
		t.Fatal(err)
	}
	customers := f.fake.Customers()
	if len(customers) != 1 || customers[0].ID != id || f.reload(t).StripeCustomerID != id {
		t.Fatalf("customers %+v, recorded %q, want one: %s", customers, f.reload(t).StripeCustomerID, id)
	}
	for _, k := range f.fake.IdempotencyKeys() {
		if k != "signup:"+f.tenant.ID+":customer" {
			t.Errorf("idempotency key %q", k)
		}
	}
	// A tenant with a customer makes no call.
	before := len(f.fake.Requests())
	if again, err := f.b.EnsureCustomer(ctx, f.reload(t)); err != nil || again != id || len(f.fake.Requests()) != before {
		t.Fatalf("second EnsureCustomer = %q, %v after %d calls", again, err, len(f.fake.Requests())-before)
	}
}

func TestChangeTierUpgradeRepriceCancel(t *testing.T) {
	f := newAccountFixture(t)
	ctx := context.Background()

	sub, err := f.b.ChangeTier(ctx, f.tenant, "starter", "req-1")
	if err != nil || sub.ID == "" {
		t.Fatalf("upgrade: %+v, %v", sub, err)
	}
	tn := f.reload(t)
	if tn.StripeSubscriptionID != sub.ID || tn.Tier != "free" {
		t.Fatalf("after upgrade: subscription %q, tier %q; want the subscription recorded and the tier unchanged until the webhook",
			tn.StripeSubscriptionID, tn.Tier)
	}
	// A retry of the same request after a timeout changes nothing more.
	f.fake.TimeoutNext(1)
	if _, err := f.b.ChangeTier(ctx, tn, "pro", "req-2"); err == nil {
		t.Fatal("the timed-out change succeeded")
	}
	if _, err := f.b.ChangeTier(ctx, tn, "pro", "req-2"); err != nil {
		t.Fatal(err)
	}
	subs := f.fake.Subscriptions()
	if len(subs) != 1 || len(subs[0].Items.Data) != 1 || subs[0].Items.Data[0].Price.ID != "price_pro" {
		t.Fatalf("subscriptions after the move to pro: %+v", subs)
	}

	if _, err := f.b.ChangeTier(ctx, tn, "free", "req-3"); err != nil {
		t.Fatal(err)
	}
	if subs = f.fake.Subscriptions(); subs[0].Status != stripe.SubscriptionStatusCanceled {
		t.Fatalf("after the move to free: status %s", subs[0].Status)
	}
	// A new paid tier after a cancellation is a new subscription.
	again, err := f.b.ChangeTier(ctx, tn, "starter", "req-4")
	if err != nil || again.ID == sub.ID || len(f.fake.Subscriptions()) != 2 {
		t.Fatalf("resubscribe: %+v, %v", again, err)
	}
	if _, err := f.b.ChangeTier(ctx, tn, "enterprise", "req-5"); !errors.Is(err, ErrNoPrice) {
		t.Fatalf("tier without a price: %v", err)
	}
}

func TestPortalURL(t *testing.T) {
	f := newAccountFixture(t)
	ctx := context.Background()
	if _, err := f.b.PortalURL(ctx, f.tenant, "https://acme.example.com/"); !errors.Is(err, ErrNoCustomer) {
		t.Fatalf("without a customer: %v", err)
	}
	if _, err := f.b.EnsureCustomer(ctx, f.tenant); err != nil {
		t.Fatal(err)
	}
	u, err := f.b.PortalURL(ctx, f.reload(t), "https://acme.example.com/")
	if err != nil || !strings.HasPrefix(u, "https://") {
		t.Fatalf("portal = %q, %v", u, err)
	}
}
