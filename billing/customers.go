package billing

import (
	"context"
	"fmt"

	"github.com/stripe/stripe-go/v76"

	"github.com/contextlite/cloud/tenancy"
)

// EnsureCustomer returns the tenant's Stripe customer, creating it first
// if it has none. The creation's idempotency key is derived from the
// tenant, so a retry after a timeout finds the customer Stripe made
// instead of making a second one. Free tenants need no card.
func (b *Billing) EnsureCustomer(ctx context.Context, t tenancy.Tenant) (string, error) {
	if t.StripeCustomerID != "" {
		return t.StripeCustomerID, nil
	}
	params := &stripe.CustomerParams{
		Email: stripe.String(t.Email),
		Name:  stripe.String(t.Name),
	}
	params.AddMetadata("tenant_id", t.ID)
	params.AddMetadata("slug", t.Slug)
	params.SetIdempotencyKey("signup:" + t.ID + ":customer")
	params.Context = ctx
	c, err := b.sc.Customers.New(params)
	if err != nil {
		return "", fmt.Errorf("create Stripe customer of tenant %s: %w", t.ID, err)
	}
	if err := b.store.SetStripeCustomer(ctx, t.ID, c.ID); err != nil {
		return "", fmt.Errorf("record Stripe customer of tenant %s: %w", t.ID, err)
	}
	return c.ID, nil
}

// ensureCustomers gives every active tenant without one a Stripe
// customer, catching up on signups that happened while Stripe was down.
func (b *Billing) ensureCustomers(ctx context.Context) error {
	tenants, err := b.store.Tenants(ctx)
	if err != nil {
		return err
	}
	for _, t := range tenants {
		if t.StripeCustomerID != "" || t.Status == tenancy.StatusDeleted {
			continue
		}
		if _, err := b.EnsureCustomer(ctx, t); err != nil {
			return err
		}
	}
	return nil
}
