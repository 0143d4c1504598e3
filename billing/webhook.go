package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/contextlite/cloud/tenancy"
)

// webhookTolerance is how old a webhook's signature timestamp may be.
const webhookTolerance = 300 * time.Second

// HandleWebhook verifies and applies one Stripe webhook delivery: payload
// is the request body, signature the Stripe-Signature header.
//
// An error that wraps ErrInvalidEvent means the delivery is not a valid
// event (bad or missing signature, timestamp older than five minutes,
// malformed body, other API version): answer 400. Any other error is a
// failure on this side: answer 500 so that Stripe delivers it again.
//
// Every event is stored once. An event already processed is not applied
// again (nil); one whose processing failed before is processed again.
// Subscription and payment failure events do not trust the payload: the
// subscription or invoice is read again from Stripe, so events arriving
// late or out of order converge on Stripe's current state.
func (b *Billing) HandleWebhook(ctx context.Context, payload []byte, signature string) error {
	ev, err := webhook.ConstructEventWithOptions(payload, signature, b.cfg.WebhookSecret, webhook.ConstructEventOptions{
		Tolerance:                webhookTolerance,
		IgnoreAPIVersionMismatch: b.cfg.IgnoreAPIVersionMismatch,
	})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidEvent, err)
	}
	if ev.ID == "" || ev.Type == "" || ev.Data == nil {
		return fmt.Errorf("%w: event without id, type or data", ErrInvalidEvent)
	}
	processed, err := b.store.RecordBillingEvent(ctx, ev.ID, string(ev.Type), payload, b.now())
	if err != nil {
		return fmt.Errorf("record Stripe event %s: %w", ev.ID, err)
	}
	if processed {
		b.log.Debug("billing: Stripe event already processed", "event", ev.ID, "type", ev.Type)
		return nil
	}
	if err := b.processEvent(ctx, &ev); err != nil {
		return fmt.Errorf("process Stripe event %s (%s): %w", ev.ID, ev.Type, err)
	}
	if err := b.store.MarkBillingEventProcessed(ctx, ev.ID, b.now()); err != nil {
		return fmt.Errorf("mark Stripe event %s processed: %w", ev.ID, err)
	}
	return nil
}

// processEvent applies an event to the control plane; types billing does
// not act on are ignored.
func (b *Billing) processEvent(ctx context.Context, ev *stripe.Event) error {
	switch ev.Type {
	case stripe.EventTypeCustomerSubscriptionCreated,
		stripe.EventTypeCustomerSubscriptionUpdated,
		stripe.EventTypeCustomerSubscriptionDeleted:
		return b.onSubscription(ctx, ev)
	case stripe.EventTypeInvoicePaid:
		return b.onInvoicePaid(ctx, ev)
	case stripe.EventTypeInvoicePaymentFailed:
		return b.onPaymentFailed(ctx, ev)
	case stripe.EventTypeCustomerDeleted:
		return b.onCustomerDeleted(ctx, ev)
	default:
		return nil
	}
}

// decodeObject decodes the event's data.object into v; a malformed object
// makes the event invalid.
func decodeObject(ev *stripe.Event, v any) error {
	if err := json.Unmarshal(ev.Data.Raw, v); err != nil {
		return fmt.Errorf("%w: data.object of %s: %v", ErrInvalidEvent, ev.Type, err)
	}
	return nil
}

// customerID returns the id of a (possibly unexpanded) customer.
func customerID(c *stripe.Customer) string {
	if c == nil {
		return ""
	}
	return c.ID
}

// tenantOfCustomer returns the tenant whose Stripe customer is customer;
// ok is false, and the event is logged as ignored, when there is none.
func (b *Billing) tenantOfCustomer(ctx context.Context, ev *stripe.Event, customer string) (t tenancy.Tenant, ok bool, err error) {
	if customer == "" {
		return tenancy.Tenant{}, false, fmt.Errorf("%w: %s without a customer", ErrInvalidEvent, ev.Type)
	}
	t, err = b.store.TenantByStripeCustomer(ctx, customer)
	if errors.Is(err, tenancy.ErrNotFound) {
		b.log.Info("billing: ignoring Stripe event of an unknown customer", "event", ev.ID, "type", ev.Type, "customer", customer)
		return tenancy.Tenant{}, false, nil
	}
	if err != nil {
		return tenancy.Tenant{}, false, fmt.Errorf("find tenant of Stripe customer %s: %w", customer, err)
	}
	return t, true, nil
}

// onSubscription applies customer.subscription.created, .updated and
// .deleted from the subscription as Stripe has it now.
func (b *Billing) onSubscription(ctx context.Context, ev *stripe.Event) error {
	var obj stripe.Subscription
	if err := decodeObject(ev, &obj); err != nil {
		return err
	}
	if obj.ID == "" {
		return fmt.Errorf("%w: %s without a subscription id", ErrInvalidEvent, ev.Type)
	}
	t, ok, err := b.tenantOfCustomer(ctx, ev, customerID(obj.Customer))
	if err != nil || !ok {
		return err
	}
	sub, err := b.currentSubscription(ctx, obj.ID)
	if err != nil {
		return err
	}
	return b.applySubscription(ctx, t, obj.ID, sub)
}

// currentSubscription re-reads subscription id from Stripe; nil when
// Stripe no longer has it.
func (b *Billing) currentSubscription(ctx context.Context, id string) (*stripe.Subscription, error) {
	sub, err := b.subscription(ctx, id)
	if isNotFound(err) {
		return nil, nil
	}
	return sub, err
}

// isNotFound reports whether Stripe answered that the object does not exist.
func isNotFound(err error) bool {
	var se *stripe.Error
	return errors.As(err, &se) && (se.HTTPStatusCode == http.StatusNotFound || se.Code == stripe.ErrorCodeResourceMissing)
}

// applySubscription moves tenant t to what subscription id (sub, nil if
// Stripe no longer has it) entitles it to.
func (b *Billing) applySubscription(ctx context.Context, t tenancy.Tenant, id string, sub *stripe.Subscription) error {
	status := stripe.SubscriptionStatusCanceled
	if sub != nil {
		status = sub.Status
	}
	switch status {
	case stripe.SubscriptionStatusActive, stripe.SubscriptionStatusTrialing, stripe.SubscriptionStatusPastDue:
		return b.grantSubscription(ctx, t, sub)
	case stripe.SubscriptionStatusCanceled, stripe.SubscriptionStatusIncompleteExpired,
		stripe.SubscriptionStatusUnpaid, stripe.SubscriptionStatusPaused:
		if t.StripeSubscriptionID != "" && t.StripeSubscriptionID != id {
			b.log.Info("billing: ignoring the end of a subscription the tenant no longer has",
				"tenant", t.ID, "subscription", id, "current", t.StripeSubscriptionID)
			return nil
		}
		return b.downgrade(ctx, t)
	default: // incomplete: the first payment is pending; an update follows
		return nil
	}
}

// grantSubscription gives tenant t the tier of sub's price, and records
// sub and its billing anchor.
func (b *Billing) grantSubscription(ctx context.Context, t tenancy.Tenant, sub *stripe.Subscription) error {
	tier, ok := b.tierOfSubscription(sub)
	if !ok {
		b.log.Warn("billing: subscription has no price of a configured tier; tenant left unchanged",
			"tenant", t.ID, "subscription", sub.ID)
		return nil
	}
	if err := b.store.SetTier(ctx, t.ID, tier); err != nil {
		return fmt.Errorf("set tier of tenant %s to %s: %w", t.ID, tier, err)
	}
	if err := b.store.SetSubscription(ctx, t.ID, sub.ID); err != nil {
		return fmt.Errorf("record subscription %s of tenant %s: %w", sub.ID, t.ID, err)
	}
	if err := b.store.SetBillingAnchor(ctx, t.ID, time.Unix(sub.BillingCycleAnchor, 0)); err != nil {
		return fmt.Errorf("set billing anchor of tenant %s: %w", t.ID, err)
	}
	return nil
}

// tierOfSubscription returns the tier of the price of sub's first item.
func (b *Billing) tierOfSubscription(sub *stripe.Subscription) (string, bool) {
	if sub.Items == nil || len(sub.Items.Data) == 0 || sub.Items.Data[0].Price == nil {
		return "", false
	}
	tier, ok := b.tierOf[sub.Items.Data[0].Price.ID]
	return tier, ok
}

// downgrade moves tenant t to the free tier without a subscription. A
// free tenant owes nothing from now on, so a suspension for a failed
// payment ends with it: the tenant is reactivated first and its payment
// failure cleared after, so a failure in between is repaired by a retry.
func (b *Billing) downgrade(ctx context.Context, t tenancy.Tenant) error {
	if err := b.store.SetTier(ctx, t.ID, freeTier); err != nil {
		return fmt.Errorf("set tier of tenant %s to free: %w", t.ID, err)
	}
	if err := b.store.SetSubscription(ctx, t.ID, ""); err != nil {
		return fmt.Errorf("clear subscription of tenant %s: %w", t.ID, err)
	}
	if err := b.store.SetBillingAnchor(ctx, t.ID, time.Time{}); err != nil {
		return fmt.Errorf("clear billing anchor of tenant %s: %w", t.ID, err)
	}
	return b.clearPaymentFailure(ctx, t)
}

// clearPaymentFailure reactivates tenant t if it is suspended for a
// failed payment, then clears the failure.
func (b *Billing) clearPaymentFailure(ctx context.Context, t tenancy.Tenant) error {
	if t.PaymentFailedAt.IsZero() {
		return nil
	}
	if t.Status == tenancy.StatusSuspended {
		if err := b.store.SetStatus(ctx, t.ID, tenancy.StatusActive); err != nil {
			return fmt.Errorf("reactivate tenant %s: %w", t.ID, err)
		}
		b.log.Info("billing: tenant reactivated", "tenant", t.ID)
	}
	if err := b.store.SetPaymentFailed(ctx, t.ID, time.Time{}); err != nil {
		return fmt.Errorf("clear payment failure of tenant %s: %w", t.ID, err)
	}
	return nil
}

// onInvoicePaid ends a tenant's payment failure, reactivating it if it
// was suspended for it.
func (b *Billing) onInvoicePaid(ctx context.Context, ev *stripe.Event) error {
	var inv stripe.Invoice
	if err := decodeObject(ev, &inv); err != nil {
		return err
	}
	t, ok, err := b.tenantOfCustomer(ctx, ev, customerID(inv.Customer))
	if err != nil || !ok {
		return err
	}
	return b.clearPaymentFailure(ctx, t)
}

// onPaymentFailed starts a tenant's grace period at its first failed
// payment; later failures do not extend it. The invoice is read again
// from Stripe first: a failure reported late, for an invoice paid or
// voided since or of a subscription the tenant no longer has, changes
// nothing.
func (b *Billing) onPaymentFailed(ctx context.Context, ev *stripe.Event) error {
	var obj stripe.Invoice
	if err := decodeObject(ev, &obj); err != nil {
		return err
	}
	if obj.ID == "" {
		return fmt.Errorf("%w: %s without an invoice id", ErrInvalidEvent, ev.Type)
	}
	t, ok, err := b.tenantOfCustomer(ctx, ev, customerID(obj.Customer))
	if err != nil || !ok || !t.PaymentFailedAt.IsZero() {
		return err
	}
	inv, err := b.currentInvoice(ctx, obj.ID)
	if err != nil {
		return err
	}
	if why := b.settled(t, inv); why != "" {
		b.log.Info("billing: ignoring a payment failure "+why, "event", ev.ID, "tenant", t.ID, "invoice", obj.ID)
		return nil
	}
	if err := b.store.SetPaymentFailed(ctx, t.ID, b.now()); err != nil {
		return fmt.Errorf("record payment failure of tenant %s: %w", t.ID, err)
	}
	b.log.Info("billing: payment failed; grace period started", "tenant", t.ID, "invoice", obj.ID, "grace", b.cfg.GracePeriod)
	return nil
}

// currentInvoice re-reads invoice id from Stripe; nil when Stripe no
// longer has it.
func (b *Billing) currentInvoice(ctx context.Context, id string) (*stripe.Invoice, error) {
	params := &stripe.InvoiceParams{}
	params.Context = ctx
	inv, err := b.sc.Invoices.Get(id, params)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read Stripe invoice %s: %w", id, err)
	}
	return inv, nil
}

// settled says why invoice inv (nil: Stripe no longer has it) owes
// nothing that tenant t must pay now, or "" when it is still open.
func (b *Billing) settled(t tenancy.Tenant, inv *stripe.Invoice) string {
	switch {
	case inv == nil:
		return "of an invoice Stripe no longer has"
	case inv.Status != stripe.InvoiceStatusOpen:
		return "of an invoice that is " + string(inv.Status) + " now"
	case inv.Subscription != nil && t.StripeSubscriptionID != "" && inv.Subscription.ID != t.StripeSubscriptionID:
		return "of a subscription the tenant no longer has"
	}
	return ""
}

// onCustomerDeleted moves the tenant of a deleted customer to the free
// tier and forgets the customer. The customer id, by which a redelivery
// finds the tenant, is cleared last.
func (b *Billing) onCustomerDeleted(ctx context.Context, ev *stripe.Event) error {
	var c stripe.Customer
	if err := decodeObject(ev, &c); err != nil {
		return err
	}
	t, ok, err := b.tenantOfCustomer(ctx, ev, c.ID)
	if err != nil || !ok {
		return err
	}
	if err := b.downgrade(ctx, t); err != nil {
		return err
	}
	if err := b.store.SetStripeCustomer(ctx, t.ID, ""); err != nil {
		return fmt.Errorf("clear Stripe customer of tenant %s: %w", t.ID, err)
	}
	return nil
}

// EnforceGrace suspends every active tenant whose first failed payment is
// at least the grace period old. Run calls it every round; a failure for
// one tenant does not stop the others.
func (b *Billing) EnforceGrace(ctx context.Context) error {
	tenants, err := b.store.Tenants(ctx)
	if err != nil {
		return fmt.Errorf("enforce grace: list tenants: %w", err)
	}
	now := b.now()
	var errs []error
	for _, t := range tenants {
		if !b.graceExpired(t, now) {
			continue
		}
		if err := b.store.SetStatus(ctx, t.ID, tenancy.StatusSuspended); err != nil {
			errs = append(errs, fmt.Errorf("suspend tenant %s: %w", t.ID, err))
			continue
		}
		b.log.Info("billing: tenant suspended for a failed payment", "tenant", t.ID, "payment_failed_at", t.PaymentFailedAt)
	}
	return errors.Join(errs...)
}

// graceExpired reports whether t is active with a payment failure at
// least the grace period before now.
func (b *Billing) graceExpired(t tenancy.Tenant, now time.Time) bool {
	return t.Status == tenancy.StatusActive && !t.PaymentFailedAt.IsZero() &&
		!now.Before(t.PaymentFailedAt.Add(b.cfg.GracePeriod))
}
