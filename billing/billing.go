// Package billing connects tenants to Stripe with stripe-go v76:
// customers, subscriptions and the customer portal, hourly usage reports
// as Billing Meter events, and signed webhooks that move tenants between
// tiers. Billing is optional: without a secret key nothing here is built.
package billing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/contextlite/cloud/tenancy"
)

// Config is how the service talks to Stripe.
type Config struct {
	SecretKey     string            // sk_live_... or sk_test_...
	WebhookSecret string            // whsec_... of the webhook endpoint
	APIURL        string            // default https://api.stripe.com; tests point it elsewhere
	Prices        map[string]string // paid tier name to Stripe price id
	MeterEvents   map[string]string // meter (queries, tokens) to Stripe meter event name
	// GracePeriod is how long a tenant whose payment failed keeps working
	// before it is suspended (default 3 days).
	GracePeriod time.Duration
	// IgnoreAPIVersionMismatch accepts webhook events of another API
	// version than stripe-go v76's 2023-10-16.
	IgnoreAPIVersionMismatch bool
	Timeout                  time.Duration // per Stripe call (default 20s)
	MaxNetworkRetries        int64         // stripe-go's retries, same idempotency key (default 2)
	// OnReport, when set, hears the outcome of each usage report sent or
	// settled: sent, skipped or pending (failed, to be retried).
	OnReport func(outcome string)
}

func (c Config) observeReport(outcome string) {
	if c.OnReport != nil {
		c.OnReport(outcome)
	}
}

// Store is the control plane as billing uses it.
type Store interface {
	Tenant(ctx context.Context, id string) (tenancy.Tenant, error)
	Tenants(ctx context.Context) ([]tenancy.Tenant, error)
	TenantByStripeCustomer(ctx context.Context, customerID string) (tenancy.Tenant, error)
	SetTier(ctx context.Context, id, tier string) error
	SetStatus(ctx context.Context, id string, s tenancy.Status) error
	SetBillingAnchor(ctx context.Context, id string, anchor time.Time) error
	SetStripeCustomer(ctx context.Context, tenantID, customerID string) error
	SetSubscription(ctx context.Context, tenantID, subscriptionID string) error
	SetPaymentFailed(ctx context.Context, tenantID string, at time.Time) error
	RecordBillingEvent(ctx context.Context, id, typ string, payload []byte, receivedAt time.Time) (bool, error)
	MarkBillingEventProcessed(ctx context.Context, id string, at time.Time) error
	UsageReceived(ctx context.Context, tenantID, meter string, from, to time.Time) (int64, error)
	AddUsageReport(ctx context.Context, r tenancy.UsageReport) (bool, error)
	LastUsageReport(ctx context.Context, tenantID, meter string) (tenancy.UsageReport, error)
	PendingUsageReports(ctx context.Context, limit int) ([]tenancy.UsageReport, error)
	UpdateUsageReport(ctx context.Context, r tenancy.UsageReport) error
}

// Errors of billing calls; match them with errors.Is.
var (
	ErrNoPrice      = errors.New("no Stripe price is configured for this tier")
	ErrNoCustomer   = errors.New("the tenant has no Stripe customer yet")
	ErrInvalidEvent = errors.New("invalid webhook event")
)

// Billing is one app instance's connection to Stripe. It is safe for
// concurrent use.
type Billing struct {
	cfg    Config
	sc     *client.API
	store  Store
	log    *slog.Logger
	now    func() time.Time
	tierOf map[string]string // price id to tier
	health healthCache
}

// New returns a Billing for cfg over store; log may be nil.
func New(cfg Config, store Store, log *slog.Logger) (*Billing, error) {
	if cfg.SecretKey == "" {
		return nil, errors.New("billing: a Stripe secret key is required")
	}
	if cfg.APIURL == "" {
		cfg.APIURL = stripe.APIURL
	}
	if cfg.GracePeriod <= 0 {
		cfg.GracePeriod = 3 * 24 * time.Hour
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 20 * time.Second
	}
	if cfg.MaxNetworkRetries == 0 {
		cfg.MaxNetworkRetries = 2
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Billing{cfg: cfg, store: store, log: log, now: time.Now, tierOf: make(map[string]string)}
	for tier, price := range cfg.Prices {
		if prev, dup := b.tierOf[price]; dup {
			return nil, fmt.Errorf("billing: price %s is set for both %s and %s", price, prev, tier)
		}
		b.tierOf[price] = tier
	}
	backend := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
		URL:               stripe.String(cfg.APIURL),
		HTTPClient:        &http.Client{Timeout: cfg.Timeout},
		MaxNetworkRetries: stripe.Int64(max(cfg.MaxNetworkRetries, 0)),
		LeveledLogger:     stripeLogger{log},
	})
	b.sc = client.New(cfg.SecretKey, &stripe.Backends{API: backend, Connect: backend, Uploads: backend})
	return b, nil
}

// stripeLogger passes stripe-go's warnings and errors to slog.
type stripeLogger struct{ log *slog.Logger }

func (l stripeLogger) Debugf(string, ...any) {}
func (l stripeLogger) Infof(string, ...any)  {}
func (l stripeLogger) Warnf(format string, v ...any) {
	l.log.Warn("stripe: " + fmt.Sprintf(format, v...))
}
func (l stripeLogger) Errorf(format string, v ...any) {
	l.log.Error("stripe: " + fmt.Sprintf(format, v...))
}
