package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/contextlite/cloud/billing"
	"github.com/contextlite/cloud/tenancy"
)

// Billing changes tenants' subscriptions in Stripe.
type Billing interface {
	ChangeTier(ctx context.Context, t tenancy.Tenant, tier, requestKey string) (billing.Subscription, error)
	PortalURL(ctx context.Context, t tenancy.Tenant, returnURL string) (string, error)
}

type subscriptionRequest struct {
	Tier string `json:"tier"`
}

type subscriptionResponse struct {
	Object        string               `json:"object"` // always "subscription_change"
	Subscription  billing.Subscription `json:"subscription"`
	CurrentTier   string               `json:"current_tier"`
	RequestedTier string               `json:"requested_tier"`
	Message       string               `json:"message"`
}

// changeSubscription serves POST /api/v1/billing/subscription {tier}:
// 202, since the tier changes when Stripe confirms it by webhook.
func (h *Handler) changeSubscription(w http.ResponseWriter, r *http.Request, p Principal) error {
	var req subscriptionRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	t, sub, err := h.ChangeTierFor(r, p, req.Tier)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, subscriptionResponse{Object: "subscription_change", Subscription: sub, CurrentTier: t.Tier, RequestedTier: req.Tier,
		Message: "the tier changes once Stripe confirms the subscription"})
}

// ChangeTierFor asks Stripe to move caller p's tenant to tier, as POST
// /api/v1/billing/subscription does in request r. It returns the tenant
// as it was: its tier changes when Stripe confirms, by webhook.
func (h *Handler) ChangeTierFor(r *http.Request, p Principal, tier string) (tenancy.Tenant, billing.Subscription, error) {
	if _, ok := h.Tiers.Get(tier); !ok {
		return tenancy.Tenant{}, billing.Subscription{}, &Error{http.StatusUnprocessableEntity, "invalid_request", "tier must be one of free, starter, pro, enterprise"}
	}
	t, err := h.billingTenant(r.Context(), p)
	if err != nil {
		return tenancy.Tenant{}, billing.Subscription{}, err
	}
	sub, err := h.Billing.ChangeTier(r.Context(), t, tier, billingRequestKey(r))
	if err != nil {
		return tenancy.Tenant{}, billing.Subscription{}, billingError(err)
	}
	return t, sub, nil
}

type portalRequest struct {
	ReturnURL string `json:"return_url"`
}

// openPortal serves POST /api/v1/billing/portal {return_url}: a Stripe
// customer-portal URL. The return URL defaults to the tenant's API base.
func (h *Handler) openPortal(w http.ResponseWriter, r *http.Request, p Principal) error {
	var req portalRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &req); err != nil {
			return err
		}
	}
	if req.ReturnURL == "" {
		req.ReturnURL = "https://" + r.Host + "/"
	}
	u, err := h.PortalURLFor(r.Context(), p, req.ReturnURL)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"object": "billing_portal_session", "url": u})
}

// PortalURLFor returns a Stripe customer-portal URL for caller p's tenant
// that leads back to returnURL, as POST /api/v1/billing/portal does.
func (h *Handler) PortalURLFor(ctx context.Context, p Principal, returnURL string) (string, error) {
	if u, err := url.Parse(returnURL); err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return "", &Error{http.StatusUnprocessableEntity, "invalid_request", "return_url must be an absolute http(s) URL"}
	}
	t, err := h.billingTenant(ctx, p)
	if err != nil {
		return "", err
	}
	u, err := h.Billing.PortalURL(ctx, t, returnURL)
	if err != nil {
		return "", billingError(err)
	}
	return u, nil
}

// BillingAvailable returns nil when tenants change their tier through
// billing, else the error the billing calls answer.
func (h *Handler) BillingAvailable() error {
	if h.Billing == nil {
		return &Error{http.StatusNotFound, "billing_disabled", "billing is not enabled on this service; tiers are set by the operator"}
	}
	return nil
}

// billingTenant returns the caller's tenant, if billing is on.
func (h *Handler) billingTenant(ctx context.Context, p Principal) (tenancy.Tenant, error) {
	if err := h.BillingAvailable(); err != nil {
		return tenancy.Tenant{}, err
	}
	return h.Accounts.Tenant(ctx, p.TenantID)
}

// billingRequestKey names a billing request for Stripe's idempotency: the
// client's Idempotency-Key, so its retry is not done twice, else random.
func billingRequestKey(r *http.Request) string {
	if k := r.Header.Get(IdempotencyHeader); k != "" && len(k) <= maxIdempotencyKey {
		return k
	}
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// billingError maps billing failures to client errors.
func billingError(err error) error {
	switch {
	case errors.Is(err, billing.ErrNoPrice):
		return &Error{http.StatusUnprocessableEntity, "invalid_request", "this tier cannot be bought here; contact sales"}
	case errors.Is(err, billing.ErrNoCustomer):
		return &Error{http.StatusConflict, "no_customer", "the tenant has no billing account yet; retry in a minute"}
	}
	return &Error{http.StatusBadGateway, "billing_unavailable", "the payment provider did not answer; retry later"}
}

// WebhookHandler verifies and applies a payment provider's webhook.
type WebhookHandler interface {
	HandleWebhook(ctx context.Context, payload []byte, signature string) error
}

// maxWebhookBytes bounds a Stripe event.
const maxWebhookBytes = 1 << 20

// StripeWebhook serves POST /webhooks/stripe: 400 for events whose
// signature does not verify, 500 (so Stripe retries) when applying one
// fails, 200 otherwise, duplicates included.
type StripeWebhook struct {
	Handler WebhookHandler
	Logger  *slog.Logger // nil: discard
}

// ServeHTTP applies the event.
func (s *StripeWebhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		WriteError(w, http.StatusMethodNotAllowed, "method_not_allowed", "Stripe posts events")
		return
	}
	payload, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBytes))
	if err != nil {
		e := ErrorFrom(err)
		WriteError(w, e.Status, e.Code, e.Message)
		return
	}
	err = s.Handler.HandleWebhook(r.Context(), payload, r.Header.Get("Stripe-Signature"))
	switch {
	case errors.Is(err, billing.ErrInvalidEvent):
		WriteError(w, http.StatusBadRequest, "invalid_event", err.Error())
	case err != nil:
		if s.Logger != nil {
			s.Logger.ErrorContext(r.Context(), "stripe webhook not applied; Stripe will retry", "error", err)
		}
		WriteError(w, http.StatusInternalServerError, "internal_error", "the event was not applied; retry")
	default:
		writeJSON(w, http.StatusOK, map[string]bool{"received": true})
	}
}
