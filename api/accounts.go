package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/contextlite/cloud/tenancy"
)

// Accounts manages a tenant's record and its API keys.
type Accounts interface {
	Tenant(ctx context.Context, id string) (tenancy.Tenant, error)
	Keys(ctx context.Context, tenantID string) ([]tenancy.APIKey, error)
	CreateKey(ctx context.Context, tenantID, name string, scopes []string, expiresAt *time.Time) (string, tenancy.APIKey, error)
	RotateKey(ctx context.Context, tenantID, keyID string, grace time.Duration) (string, tenancy.APIKey, error)
	RevokeKey(ctx context.Context, tenantID, keyID string) error
	DeleteTenant(ctx context.Context, id string) (purgeAfter time.Time, err error)
}

// defaultRotationGrace is how long a rotated key keeps working.
const defaultRotationGrace = 24 * time.Hour

// accountCall serves one account call of caller p.
type accountCall func(w http.ResponseWriter, r *http.Request, p Principal) error

// account turns fn into a handler for callers that hold scope.
func (h *Handler) account(scope string, fn accountCall) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := h.authorize(w, r, scope)
		if err == nil {
			err = fn(w, r, p)
		}
		if err != nil {
			h.fail(w, r, accountError(err))
		}
	}
}

// accountError maps control-plane errors to client errors.
func accountError(err error) error {
	switch {
	case errors.Is(err, tenancy.ErrNotFound):
		return &Error{http.StatusNotFound, "not_found", "no such key"}
	case errors.Is(err, tenancy.ErrInvalidScope), errors.Is(err, tenancy.ErrInvalidKeyName), errors.Is(err, tenancy.ErrInvalidExpiry),
		errors.Is(err, tenancy.ErrInvalidGrace), errors.Is(err, tenancy.ErrTimeOutOfRange):
		return &Error{http.StatusUnprocessableEntity, "invalid_request", err.Error()}
	case errors.Is(err, tenancy.ErrKeyRevoked), errors.Is(err, tenancy.ErrKeyExpired):
		return &Error{http.StatusConflict, "key_inactive", "only an active key can be rotated"}
	}
	return err
}

// tierLimits are a tier's limits as clients see them: null is unlimited.
type tierLimits struct {
	Name            string `json:"name"`
	QueriesPerMonth *int64 `json:"queries_per_month"`
	Documents       *int64 `json:"documents"`
	Workspaces      *int64 `json:"workspaces"`
	TokensPerQuery  *int64 `json:"tokens_per_query"`
	RatePerSecond   *int64 `json:"rate_per_second"`
	Burst           *int64 `json:"burst"`
	RetentionDays   *int64 `json:"retention_days"` // how long usage history and audit entries are kept
}

// limitsOf returns the limits of tier t.
func limitsOf(t tenancy.Tier) tierLimits {
	return tierLimits{
		Name:            t.Name,
		QueriesPerMonth: limited(t.QueriesPerMonth),
		Documents:       limited(t.Documents),
		Workspaces:      limited(t.Workspaces),
		TokensPerQuery:  limited(int64(t.TokensPerQuery)),
		RatePerSecond:   limited(int64(t.RatePerSecond)),
		Burst:           limited(int64(t.Burst)),
		RetentionDays:   limited(int64((t.Retention + 24*time.Hour - 1) / (24 * time.Hour))),
	}
}

// limited returns n, or nil (unlimited) when n is 0 or less.
func limited(n int64) *int64 {
	if n <= 0 {
		return nil
	}
	return &n
}

func (h *Handler) getTenant(w http.ResponseWriter, r *http.Request, p Principal) error {
	t, err := h.TenantOf(r.Context(), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, tenantOf(t, h.Tiers, p.Can(scopeAdmin)))
}

// TenantOf returns caller p's tenant as the control plane has it now, as
// GET /api/v1/tenant does.
func (h *Handler) TenantOf(ctx context.Context, p Principal) (tenancy.Tenant, error) {
	return h.Accounts.Tenant(ctx, p.TenantID)
}

func (h *Handler) listKeys(w http.ResponseWriter, r *http.Request, p Principal) error {
	keys, err := h.Accounts.Keys(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	out := make([]key, len(keys))
	for i, k := range keys {
		out[i] = keyOf(k)
	}
	return writeJSON(w, http.StatusOK, newList(out, ""))
}

// newKey is the body of POST /api/v1/keys; ExpiresAt is RFC 3339.
type newKey struct {
	Name      string   `json:"name"`
	Scopes    []string `json:"scopes"`
	ExpiresAt *string  `json:"expires_at"`
}

// expiry parses the expires_at of a new key (nil: none).
func (k newKey) expiry() (*time.Time, error) {
	if k.ExpiresAt == nil {
		return nil, nil
	}
	at, err := time.Parse(time.RFC3339Nano, *k.ExpiresAt)
	if err != nil {
		return nil, &Error{http.StatusUnprocessableEntity, "invalid_request",
			"expires_at must be an RFC 3339 time such as 2027-01-31T00:00:00Z"}
	}
	return &at, nil
}

// createdKey is shown once: it holds the only copy of the key.
type createdKey struct {
	key
	Key string `json:"key"`
}

func (h *Handler) createKey(w http.ResponseWriter, r *http.Request, p Principal) error {
	var req newKey
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	expiresAt, err := req.expiry()
	if err != nil {
		return err
	}
	if len(req.Scopes) == 0 {
		req.Scopes = []string{scopeRead, scopeWrite}
	}
	plain, k, err := h.CreateKeyFor(r, p, req.Name, req.Scopes, expiresAt)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, createdKey{key: keyOf(k), Key: plain})
}

// rotation is the optional body of POST /api/v1/keys/{id}/rotate.
type rotation struct {
	GraceSeconds *int64 `json:"grace_seconds"`
}

func (h *Handler) rotateKey(w http.ResponseWriter, r *http.Request, p Principal) error {
	var req rotation
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &req); err != nil {
			return err
		}
	}
	grace := defaultRotationGrace
	if req.GraceSeconds != nil {
		if most := int64(tenancy.MaxRotationGrace / time.Second); *req.GraceSeconds < 0 || *req.GraceSeconds > most {
			return &Error{http.StatusUnprocessableEntity, "invalid_request", fmt.Sprintf("grace_seconds must be between 0 and %d (30 days)", most)}
		}
		grace = time.Duration(*req.GraceSeconds) * time.Second
	}
	plain, k, err := h.RotateKeyFor(r, p, r.PathValue("id"), grace)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, createdKey{key: keyOf(k), Key: plain})
}

func (h *Handler) revokeKey(w http.ResponseWriter, r *http.Request, p Principal) error {
	if err := h.RevokeKeyFor(r, p, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// The key operations of the API, for its other front ends (the console):
// the same checks, the same audit entries, the same errors.

// CreateKeyFor creates a key for caller p, as POST /api/v1/keys does, in request r.
func (h *Handler) CreateKeyFor(r *http.Request, p Principal, name string, scopes []string, expiresAt *time.Time) (string, tenancy.APIKey, error) {
	plain, k, err := h.Accounts.CreateKey(r.Context(), p.TenantID, name, scopes, expiresAt)
	if err != nil {
		return "", tenancy.APIKey{}, accountError(err)
	}
	h.audit(r, p, tenancy.AuditKeyCreate, k.ID)
	return plain, k, nil
}

// RotateKeyFor rotates key id of caller p's tenant, as POST /api/v1/keys/{id}/rotate does.
func (h *Handler) RotateKeyFor(r *http.Request, p Principal, id string, grace time.Duration) (string, tenancy.APIKey, error) {
	plain, k, err := h.Accounts.RotateKey(r.Context(), p.TenantID, id, grace)
	if err != nil {
		return "", tenancy.APIKey{}, accountError(err)
	}
	h.audit(r, p, tenancy.AuditKeyRotate, id)
	return plain, k, nil
}

// RevokeKeyFor revokes key id of caller p's tenant, as DELETE /api/v1/keys/{id} does.
func (h *Handler) RevokeKeyFor(r *http.Request, p Principal, id string) error {
	if err := h.Accounts.RevokeKey(r.Context(), p.TenantID, id); err != nil {
		return accountError(err)
	}
	h.audit(r, p, tenancy.AuditKeyRevoke, id)
	return nil
}

// KeysOf returns caller p's tenant's keys, as GET /api/v1/keys does.
func (h *Handler) KeysOf(ctx context.Context, p Principal) ([]tenancy.APIKey, error) {
	return h.Accounts.Keys(ctx, p.TenantID)
}
