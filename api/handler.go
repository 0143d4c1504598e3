// Package api serves the tenant REST API v1 of ContextLite Cloud over the
// context engine. Authentication happens before it: every request carries
// its caller as a Principal in its context (see WithPrincipal).
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/contextlite/cloud/contextengine"
	"github.com/contextlite/cloud/metering"
	"github.com/contextlite/cloud/tenancy"
)

// Handler serves the tenant REST API v1. Set its fields before the first
// request and leave them unchanged afterwards.
type Handler struct {
	Engine   *contextengine.Manager
	Accounts Accounts        // tenant record and API keys
	Tiers    tenancy.Tiers   // limits shown with the tenant
	Meter    *metering.Meter // usage counts: GET /api/v1/usage, the quota of SearchFor and AssembleFor
	Plans    metering.Plans  // quotas of the tiers
	Webhooks Webhooks        // where usage notices go
	Billing  Billing         // Stripe; nil when billing is off
	Domains  Domains         // tenants' own domains; nil: off
	SSO      SSO             // enterprise single sign-on; nil: off
	Audit    AuditLog        // tenants' audit logs; nil: nothing is recorded
	// AllowPrivateWebhooks accepts webhook URLs on loopback and private
	// addresses, and plain http; for development and tests.
	AllowPrivateWebhooks bool
	Logger               *slog.Logger // nil: discard

	once sync.Once
	mux  *http.ServeMux
	log  *slog.Logger
}

// ServeHTTP answers r. Unknown paths and methods get JSON errors too.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.once.Do(h.init)
	if fallback, pattern := h.mux.Handler(r); pattern == "" {
		routeError(w, r, fallback)
		return
	}
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) init() {
	h.log = h.Logger
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.mux = h.routes()
}

// endpoint serves one call of caller p on its open tenant t. It returns
// an error only before writing anything; the error is answered as JSON.
// Engine errors go back unwrapped: their text is the client's message.
type endpoint func(w http.ResponseWriter, r *http.Request, t *contextengine.Tenant, p Principal) error

// handler turns fn into a handler for callers that hold scope.
func (h *Handler) handler(scope string, fn endpoint) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h.call(w, r, scope, fn); err != nil {
			h.fail(w, r, err)
		}
	}
}

// call checks the caller's scope, opens its tenant and runs fn.
func (h *Handler) call(w http.ResponseWriter, r *http.Request, scope string, fn endpoint) error {
	p, err := h.authorize(w, r, scope)
	if err != nil {
		return err
	}
	t, err := h.open(r.Context(), p, scope)
	if err != nil {
		return err
	}
	defer t.Close()
	return fn(w, r, t, p)
}

// open opens the tenant of caller p, who must hold scope, with its tier's
// limits; the caller closes it.
func (h *Handler) open(ctx context.Context, p Principal, scope string) (*contextengine.Tenant, error) {
	if !p.Can(scope) {
		return nil, &Error{http.StatusForbidden, "insufficient_scope", fmt.Sprintf("this call needs the %q scope", scope)}
	}
	t, err := h.Engine.Open(ctx, p.TenantID)
	if err != nil {
		return nil, fmt.Errorf("open tenant %s: %w", p.TenantID, err)
	}
	t.SetLimits(h.Plans.Quota(p.Tier).Limits())
	return t, nil
}

// authorize returns the caller if it holds scope, and bounds the body.
func (h *Handler) authorize(w http.ResponseWriter, r *http.Request, scope string) (Principal, error) {
	p, ok := PrincipalFrom(r.Context())
	if !ok {
		return p, &Error{http.StatusUnauthorized, "unauthorized", "the request is not authenticated"}
	}
	if !p.Can(scope) {
		return p, &Error{http.StatusForbidden, "insufficient_scope", fmt.Sprintf("this call needs the %q scope", scope)}
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	return p, nil
}

// fail answers err as JSON and logs the errors clients are not told about.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if qe, ok := errors.AsType[*metering.QuotaError](err); ok {
		WriteQuotaError(w, qe, time.Now())
		return
	}
	p, _ := PrincipalFrom(r.Context())
	e := h.errorFor(err, p)
	if e.Status >= http.StatusInternalServerError && e.Code != codeTenantMoving { // a move is expected
		h.log.ErrorContext(r.Context(), "api call failed", "method", r.Method, "path", r.URL.Path,
			"tenant", p.TenantID, "status", e.Status, "error", err)
	}
	WriteError(w, e.Status, e.Code, e.Message)
}
