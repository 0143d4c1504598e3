package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"

	"github.com/contextlite/cloud/contextengine"
	"github.com/contextlite/cloud/metering"
	"github.com/contextlite/cloud/tenancy"
)

// The rules below are shared with the other front ends of the engine (the
// MCP server), so a call answers and counts the same whichever way it
// comes in.

// Scopes a caller may hold, for the front ends that check them.
const (
	ScopeRead  = scopeRead
	ScopeWrite = scopeWrite
)

// MaxBodyBytes bounds a request body, as the REST API reads it.
const MaxBodyBytes = maxBodyBytes

// Limits of a search, as GET /api/v1/documents/search applies them.
const (
	DefaultSearchLimit = defaultSearchLimit
	MaxSearchLimit     = maxSearchLimit
)

// DecodeObject decodes data, a JSON object or nothing (an empty object),
// into v as request bodies are decoded: unknown fields and values of the
// wrong type are refused, with errors ErrorFrom maps.
func DecodeObject(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 || string(bytes.TrimSpace(data)) == "null" {
		data = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	return nil
}

// ErrorFor maps err of a call to the *Error a REST client gets for it;
// limit errors name nextTier ("" names none) as the tier that allows more.
func ErrorFor(err error, nextTier string) *Error {
	if le, ok := errors.AsType[*contextengine.LimitError](err); ok {
		return limitError(le, nextTier)
	}
	return ErrorFrom(err)
}

// TokenBudget returns the max_tokens an assemble of requested tokens (0:
// the default) gets under a tier limit (0: none), and whether the limit
// lowered an explicit request.
func TokenBudget(requested, limit int) (budget int, clamped bool) {
	return tokenBudget(requested, limit)
}

// NewAuditEvent is the audit event of a call of p, from r, doing action
// on target.
func NewAuditEvent(r *http.Request, p Principal, action, target string) tenancy.AuditEvent {
	actor := p.KeyID
	if actor == "" {
		actor = tenancy.ActorJWT
	}
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	return tenancy.AuditEvent{TenantID: p.TenantID, Actor: actor, Action: action, Target: target,
		IP: ip, UserAgent: r.UserAgent(), RequestID: RequestID(r.Context())}
}

// onTenant runs fn on the open tenant of caller p, who must hold scope,
// for the other front ends (the console). A query (search or assemble)
// is first admitted under the tier's query quota and reserved while fn
// runs, as the meter in front of the REST API admits it. A used-up
// quota and a stored-data limit come back as the *Error a REST client
// reads.
func (h *Handler) onTenant(ctx context.Context, p Principal, scope string, query bool, fn func(*contextengine.Tenant) error) error {
	h.once.Do(h.init)
	if query {
		adm, err := h.Meter.Admit(ctx, p.TenantID, p.PeriodAnchor, h.Plans.Quota(p.Tier), true)
		if qe, ok := errors.AsType[*metering.QuotaError](err); ok {
			return &Error{http.StatusTooManyRequests, "quota_exceeded", qe.Error()}
		}
		if err != nil {
			return err
		}
		defer adm.Release()
	}
	t, err := h.open(ctx, p, scope)
	if err != nil {
		return err
	}
	defer t.Close()
	err = fn(t)
	if _, ok := errors.AsType[*contextengine.LimitError](err); ok {
		return h.errorFor(err, p)
	}
	return err
}
