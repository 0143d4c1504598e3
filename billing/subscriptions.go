package billing

import (
	"context"
	"fmt"

	"github.com/stripe/stripe-go/v76"

	"github.com/contextlite/cloud/tenancy"
)

// freeTier has no subscription: moving to it cancels the current one.
const freeTier = "free"

// Subscription is what Stripe answered to a tier change.
type Subscription struct {
	ID     string `json:"id,omitempty"` // empty when there was none to cancel
	Status string `json:"status,omitempty"`
}

// ChangeTier asks Stripe to move a tenant to tier: it creates the
// subscription, changes its price (Stripe's default proration) or, for
// the free tier, cancels it. The control plane's tier changes only when
// Stripe confirms it through a webhook. requestKey names the request, so
// a retry of it is not done twice.
func (b *Billing) ChangeTier(ctx context.Context, t tenancy.Tenant, tier, requestKey string) (Subscription, error) {
	sub, err := b.changeTier(ctx, t, tier, requestKey)
	if err != nil || sub == nil {
		return Subscription{}, err
	}
	return Subscription{ID: sub.ID, Status: string(sub.Status)}, nil
}

func (b *Billing) changeTier(ctx context.Context, t tenancy.Tenant, tier, requestKey string) (*stripe.Subscription, error) {
	if tier == freeTier {
		return b.cancel(ctx, t, requestKey)
	}
	price, ok := b.cfg.Prices[tier]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNoPrice, tier)
	}
	customer, err := b.EnsureCustomer(ctx, t)
	if err != nil {
		return nil, err
	}
	if t.StripeSubscriptionID != "" {
		sub, err := b.subscription(ctx, t.StripeSubscriptionID)
		if err != nil {
			return nil, err
		}
		if sub.Status != stripe.SubscriptionStatusCanceled && len(sub.Items.Data) > 0 {
			return b.changePrice(ctx, sub, price, requestKey)
		}
	}
	return b.subscribe(ctx, t, customer, price, requestKey)
}

func (b *Billing) subscription(ctx context.Context, id string) (*stripe.Subscription, error) {
	params := &stripe.SubscriptionParams{}
	params.Context = ctx
	sub, err := b.sc.Subscriptions.Get(id, params)
	if err != nil {
		return nil, fmt.Errorf("read Stripe subscription %s: %w", id, err)
	}
	return sub, nil
}

func (b *Billing) subscribe(ctx context.Context, t tenancy.Tenant, customer, price, requestKey string) (*stripe.Subscription, error) {
	params := &stripe.SubscriptionParams{
		Customer: stripe.String(customer),
		Items:    []*stripe.SubscriptionItemsParams{{Price: stripe.String(price)}},
	}
	params.AddMetadata("tenant_id", t.ID)
	params.SetIdempotencyKey("subscribe:" + t.ID + ":" + requestKey)
	params.Context = ctx
	sub, err := b.sc.Subscriptions.New(params)
	if err != nil {
		return nil, fmt.Errorf("create Stripe subscription of tenant %s: %w", t.ID, err)
	}
	if err := b.store.SetSubscription(ctx, t.ID, sub.ID); err != nil {
		return nil, fmt.Errorf("record Stripe subscription of tenant %s: %w", t.ID, err)
	}
	return sub, nil
}

func (b *Billing) changePrice(ctx context.Context, sub *stripe.Subscription, price, requestKey string) (*stripe.Subscription, error) {
	params := &stripe.SubscriptionParams{
		Items: []*stripe.SubscriptionItemsParams{{ID: stripe.String(sub.Items.Data[0].ID), Price: stripe.String(price)}},
	}
	params.SetIdempotencyKey("reprice:" + sub.ID + ":" + requestKey)
	params.Context = ctx
	updated, err := b.sc.Subscriptions.Update(sub.ID, params)
	if err != nil {
		return nil, fmt.Errorf("change Stripe subscription %s: %w", sub.ID, err)
	}
	return updated, nil
}

func (b *Billing) cancel(ctx context.Context, t tenancy.Tenant, requestKey string) (*stripe.Subscription, error) {
	if t.StripeSubscriptionID == "" {
		return nil, nil
	}
	params := &stripe.SubscriptionCancelParams{}
	params.SetIdempotencyKey("cancel:" + t.StripeSubscriptionID + ":" + requestKey)
	params.Context = ctx
	sub, err := b.sc.Subscriptions.Cancel(t.StripeSubscriptionID, params)
	if err != nil {
		return nil, fmt.Errorf("cancel Stripe subscription of tenant %s: %w", t.ID, err)
	}
	return sub, nil
}

// PortalURL returns a Stripe customer-portal session for the tenant that
// sends it back to returnURL.
func (b *Billing) PortalURL(ctx context.Context, t tenancy.Tenant, returnURL string) (string, error) {
	if t.StripeCustomerID == "" {
		return "", ErrNoCustomer
	}
	params := &stripe.BillingPortalSessionParams{Customer: stripe.String(t.StripeCustomerID), ReturnURL: stripe.String(returnURL)}
	params.Context = ctx
	s, err := b.sc.BillingPortalSessions.New(params)
	if err != nil {
		return "", fmt.Errorf("create portal session of tenant %s: %w", t.ID, err)
	}
	return s.URL, nil
}
