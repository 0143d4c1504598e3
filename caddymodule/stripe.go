package caddymodule

import (
	"context"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/contextlite/cloud/api"
	"github.com/contextlite/cloud/billing"
	"github.com/contextlite/cloud/tenancy"
)

// StripeConfig enables billing with Stripe. Without a secret key billing
// is off: tiers are set with the admin commands and Stripe is never called.
type StripeConfig struct {
	// SecretKey is the Stripe API key (sk_...); {env.VAR} is resolved at
	// provisioning, which keeps the key out of the saved config.
	SecretKey string `json:"secret_key,omitempty"`
	// WebhookSecret verifies the signatures of Stripe's webhook events
	// (whsec_...); {env.VAR} is resolved at provisioning.
	WebhookSecret string `json:"webhook_secret,omitempty"`
	// APIURL replaces https://api.stripe.com (stripe-mock, tests).
	APIURL string `json:"api_url,omitempty"`
	// Prices maps paid tiers to Stripe price ids.
	Prices map[string]string `json:"prices,omitempty"`
	// MeterEvents maps meters (queries, tokens) to Stripe meter event
	// names (default contextlite_queries, contextlite_tokens).
	MeterEvents map[string]string `json:"meter_events,omitempty"`
	// GracePeriod after a failed payment before suspension (default 72h).
	GracePeriod caddy.Duration `json:"grace_period,omitempty"`
	// IgnoreAPIVersionMismatch accepts webhook events of another API
	// version than 2023-10-16, the one stripe-go v76 pins.
	IgnoreAPIVersionMismatch bool `json:"ignore_api_version_mismatch,omitempty"`
	// Interval of the background work: usage reports, grace, health
	// (default 1m).
	Interval caddy.Duration `json:"interval,omitempty"`
}

// enabled reports whether billing is on.
func (c *StripeConfig) enabled() bool { return c != nil && c.SecretKey != "" }

// newBilling builds this config's Stripe client and handlers; all nil
// when billing is off.
func (a *App) newBilling(ctx caddy.Context) error {
	a.webhook = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		api.WriteError(w, http.StatusNotFound, "billing_disabled", "billing is not enabled on this service")
	})
	if !a.Stripe.enabled() {
		return nil
	}
	events := a.Stripe.MeterEvents
	if len(events) == 0 {
		events = map[string]string{"queries": "contextlite_queries", "tokens": "contextlite_tokens"}
	}
	b, err := billing.New(billing.Config{
		SecretKey: a.Stripe.SecretKey, WebhookSecret: a.Stripe.WebhookSecret, APIURL: a.Stripe.APIURL,
		Prices: a.Stripe.Prices, MeterEvents: events, GracePeriod: time.Duration(a.Stripe.GracePeriod),
		IgnoreAPIVersionMismatch: a.Stripe.IgnoreAPIVersionMismatch, OnReport: a.shared.metrics.observeReport,
	}, auditingStore{forgettingStore{a.shared.store, a.forget}, tenancy.ActorSystem}, ctx.Slogger())
	if err != nil {
		return err
	}
	a.billing = b
	a.api.Billing = b
	a.signup.Customers = b
	a.webhook = &api.StripeWebhook{Handler: b, Logger: ctx.Slogger()}
	return nil
}

// forgettingStore forgets what the instance caches of a tenant (its keys,
// the tenant as JWT callers and certificate checks see it) when billing or
// the operator changes its tier, status, period anchor or payment state,
// so the change applies to the next request on this instance (other
// instances within the caches' 30 s).
type forgettingStore struct {
	tenancy.Store
	forget func(tenantID string)
}

// SetTier changes a tenant's tier.
func (s forgettingStore) SetTier(ctx context.Context, id, tier string) error {
	defer s.forget(id)
	return s.Store.SetTier(ctx, id, tier)
}

// SetStatus changes a tenant's status.
func (s forgettingStore) SetStatus(ctx context.Context, id string, st tenancy.Status) error {
	defer s.forget(id)
	return s.Store.SetStatus(ctx, id, st)
}

// SetBillingAnchor changes where a tenant's periods start.
func (s forgettingStore) SetBillingAnchor(ctx context.Context, id string, anchor time.Time) error {
	defer s.forget(id)
	return s.Store.SetBillingAnchor(ctx, id, anchor)
}

// SetPaymentFailed records a tenant's payment state.
func (s forgettingStore) SetPaymentFailed(ctx context.Context, id string, at time.Time) error {
	defer s.forget(id)
	return s.Store.SetPaymentFailed(ctx, id, at)
}

// auditingStore records tier changes in the tenant's audit log, as actor.
type auditingStore struct {
	forgettingStore
	actor string
}

// SetTier changes a tenant's tier and records it.
func (s auditingStore) SetTier(ctx context.Context, id, tier string) error {
	if err := s.forgettingStore.SetTier(ctx, id, tier); err != nil {
		return err
	}
	// The tier is changed; a lost audit entry must not undo that.
	_ = s.AddAudit(ctx, tenancy.AuditEvent{TenantID: id, Actor: s.actor, Action: tenancy.AuditTierChange, Target: tier})
	return nil
}

// runBilling runs billing's background work until ctx is done.
func (a *App) runBilling(ctx context.Context) {
	if a.billing != nil {
		a.billing.Run(ctx, time.Duration(a.Stripe.Interval))
	}
}

// parseStripe parses the stripe block of the contextlite option:
//
//	stripe {
//		secret_key     [sk_... | {env.VAR}]
//		webhook_secret [whsec_... | {env.VAR}]
//		api_url        [url]
//		price <tier> [price_...]
//		meter_event <meter> <event name>
//		grace_period <duration>
//		interval <duration>
//		ignore_api_version_mismatch [true|false]
//	}
//
// Empty values (unset environment placeholders) leave settings unset.
func (a *App) parseStripe(d *caddyfile.Dispenser) error {
	if a.Stripe == nil {
		a.Stripe = new(StripeConfig)
	}
	c := a.Stripe
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		switch d.Val() {
		case "secret_key":
			err = optionalArg(d, &c.SecretKey)
		case "webhook_secret":
			err = optionalArg(d, &c.WebhookSecret)
		case "api_url":
			err = optionalArg(d, &c.APIURL)
		case "price":
			err = mapArg(d, &c.Prices)
		case "meter_event":
			err = mapArg(d, &c.MeterEvents)
		case "grace_period":
			err = caddyDurationArg(d, &c.GracePeriod)
		case "interval":
			err = caddyDurationArg(d, &c.Interval)
		case "ignore_api_version_mismatch":
			err = boolArg(d, &c.IgnoreAPIVersionMismatch)
		default:
			err = d.Errf("unknown stripe setting %q", d.Val())
		}
		if err != nil {
			return err
		}
	}
	return nil
}
