package api

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/contextlite/cloud/contextengine"
	"github.com/contextlite/cloud/metering"
)

// UsageReport returns caller p's usage of the current period, as GET
// /api/v1/usage reports it.
func (h *Handler) UsageReport(ctx context.Context, p Principal) (metering.Report, error) {
	t, err := h.Engine.Open(ctx, p.TenantID)
	if err != nil {
		return metering.Report{}, fmt.Errorf("open tenant %s: %w", p.TenantID, err)
	}
	defer t.Close()
	return h.report(ctx, t, p)
}

// report returns p's usage with t's totals.
func (h *Handler) report(ctx context.Context, t *contextengine.Tenant, p Principal) (metering.Report, error) {
	return h.Meter.Report(ctx, p.TenantID, p.PeriodAnchor, h.Plans.Quota(p.Tier), t.Totals())
}

// IdempotencyHeader names a request so a retry of it gets the first
// answer again (see idempotent) and is billed once.
const IdempotencyHeader = "Idempotency-Key"

// maxIdempotencyKey bounds the Idempotency-Key header.
const maxIdempotencyKey = 255

// IsQuery reports whether r calls a metered query endpoint (search or
// assemble), which the query quota admits.
func IsQuery(r *http.Request) bool {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/api/v1/context/assemble":
		return true
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/documents/search":
		return true
	}
	return false
}

// requestName names a metered request for the usage outbox: from its
// Idempotency-Key and what it asks (args), so that a retry records
// nothing new while a reused key with other arguments is a new request.
// Without the header every request is new ("").
func requestName(r *http.Request, args []byte) (string, error) {
	key := r.Header.Get(IdempotencyHeader)
	if key == "" {
		return "", nil
	}
	if len(key) > maxIdempotencyKey {
		return "", &Error{http.StatusBadRequest, "bad_request", "the Idempotency-Key header is longer than 255 characters"}
	}
	h := sha256.New()
	for _, part := range []string{key, r.Method, r.URL.Path} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	h.Write(args)
	return hex.EncodeToString(h.Sum(nil)[:16]), nil
}

// getUsage serves GET /api/v1/usage: the current period per meter. It
// stays reachable when a quota is used up.
func (h *Handler) getUsage(w http.ResponseWriter, r *http.Request, t *contextengine.Tenant, p Principal) error {
	report, err := h.report(r.Context(), t, p)
	if err != nil {
		return err
	}
	body, _ := report.MarshalJSON() // never fails; an object
	writeBody(w, http.StatusOK, append([]byte(`{"object":"usage",`), body[1:]...))
	return nil
}

// WriteQuotaError answers a used-up quota: 429 quota_exceeded, with
// Retry-After at the period's reset for per-period meters.
func WriteQuotaError(w http.ResponseWriter, e *metering.QuotaError, now time.Time) {
	if e.Meter == metering.Queries {
		w.Header().Set("Retry-After", strconv.FormatInt(max(int64(e.Reset.Sub(now).Seconds()), 1), 10))
	}
	WriteError(w, http.StatusTooManyRequests, "quota_exceeded", e.Error())
}

// limitError answers a stored-data limit reached: 403, not 429, since
// waiting frees nothing, with a code naming the limit and the tier that
// allows more (nextTier; "" names none).
func limitError(e *contextengine.LimitError, nextTier string) *Error {
	code := map[string]string{
		contextengine.LimitDocuments:    "document_limit_reached",
		contextengine.LimitWorkspaces:   "workspace_limit_reached",
		contextengine.LimitStorageBytes: "storage_limit_reached",
	}[e.Limit]
	msg := e.Error() + "; delete some to make room"
	if nextTier != "" {
		msg += ", or upgrade: the " + nextTier + " tier allows more"
	}
	return &Error{http.StatusForbidden, cmp.Or(code, "limit_reached"), msg}
}

// errorFor is ErrorFrom for a call of p: limit errors name p's next tier.
func (h *Handler) errorFor(err error, p Principal) *Error {
	if le, ok := errors.AsType[*contextengine.LimitError](err); ok {
		return limitError(le, h.Plans.Quota(p.Tier).NextTier)
	}
	return ErrorFrom(err)
}
