package tenancy

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"time"
)

// Errors of the control plane; match them with errors.Is.
var (
	ErrNotFound       = errors.New("not found")
	ErrSlugTaken      = errors.New("slug already taken")
	ErrReservedSlug   = errors.New("reserved slug")
	ErrInvalidSlug    = errors.New("invalid slug")
	ErrMalformedKey   = errors.New("malformed API key")
	ErrInvalidKey     = errors.New("invalid API key")
	ErrKeyRevoked     = errors.New("API key revoked")
	ErrKeyExpired     = errors.New("API key expired")
	ErrInvalidEmail   = errors.New("invalid email address")
	ErrInvalidScope   = errors.New("invalid scopes")
	ErrInvalidKeyName = errors.New("invalid API key name")
	ErrInvalidExpiry  = errors.New("invalid API key expiry")
)

// Store keeps the control plane's records. Implementations are safe for
// concurrent use.
type Store interface {
	// CreateTenant adds t; ErrSlugTaken if its slug is in use. Zero
	// CreatedAt and UpdatedAt are set to now.
	CreateTenant(ctx context.Context, t Tenant) error
	// Tenant returns the tenant with id; ErrNotFound if there is none.
	Tenant(ctx context.Context, id string) (Tenant, error)
	// TenantBySlug returns the tenant with slug; ErrNotFound if there is none.
	TenantBySlug(ctx context.Context, slug string) (Tenant, error)
	// Tenants returns all tenants ordered by created_at, id; never nil.
	Tenants(ctx context.Context) ([]Tenant, error)
	// SetTier moves a tenant to tier; ErrNotFound if there is no such tenant.
	SetTier(ctx context.Context, id, tier string) error
	// SetStatus sets a tenant's status; ErrNotFound if there is no such tenant.
	SetStatus(ctx context.Context, id string, s Status) error
	// SetBillingAnchor sets the instant a tenant's billing periods start from (zero clears it); ErrNotFound if there is no such tenant.
	SetBillingAnchor(ctx context.Context, id string, anchor time.Time) error

	// CreateKey adds k. A zero CreatedAt is set to now.
	CreateKey(ctx context.Context, k APIKey) error
	// KeyByHash returns the key whose hash is hash; ErrNotFound if there is none.
	KeyByHash(ctx context.Context, hash []byte) (APIKey, error)
	// Keys returns a tenant's keys, revoked and expired ones included,
	// ordered by created_at, id; never nil.
	Keys(ctx context.Context, tenantID string) ([]APIKey, error)
	// RevokeKey revokes a key of a tenant at at, unless it is revoked
	// already; ErrNotFound if the tenant has no such key.
	RevokeKey(ctx context.Context, tenantID, keyID string, at time.Time) error
	// ExpireKey makes a key of a tenant expire at at, unless it expires
	// earlier already; ErrNotFound if the tenant has no such key.
	ExpireKey(ctx context.Context, tenantID, keyID string, at time.Time) error
	// TouchKeys records when keys were last used (key id to time) in one
	// transaction. It never moves a last use back; unknown ids are ignored.
	TouchKeys(ctx context.Context, lastUsed map[string]time.Time) error

	// AddUsage stores events in one transaction, skipping those whose
	// IdempotencyKey is stored already; it returns how many it inserted.
	AddUsage(ctx context.Context, events []UsageEvent) (int, error)
	// UsageTotals sums a tenant's events per meter with from <= occurred_at < to.
	// Meters without events are absent; never nil.
	UsageTotals(ctx context.Context, tenantID string, from, to time.Time) (map[string]int64, error)

	// AddNotice records n (status pending) unless a notice for the same
	// tenant, meter, period start and threshold exists; it reports whether it added one.
	// An empty ID is set to NoticeID's; a zero NextAttempt, CreatedAt or UpdatedAt to now.
	AddNotice(ctx context.Context, n Notice) (bool, error)
	// DueNotices returns pending notices whose NextAttempt is at or before now, oldest first, at most limit.
	DueNotices(ctx context.Context, now time.Time, limit int) ([]Notice, error)
	// UpdateNotice stores a delivery attempt's outcome: Status, Attempts, NextAttempt, LastError (UpdatedAt set to now); ErrNotFound if there is no such notice.
	// A zero NextAttempt means due at once for a pending notice, else none.
	UpdateNotice(ctx context.Context, n Notice) error
	// Notices returns a tenant's notices of the period starting at periodStart, oldest first; never nil.
	Notices(ctx context.Context, tenantID string, periodStart time.Time) ([]Notice, error)

	// SetWebhook creates or replaces a tenant's webhook; ErrNotFound if there is no such tenant.
	// A zero UpdatedAt is set to now.
	SetWebhook(ctx context.Context, w Webhook) error
	// Webhook returns a tenant's webhook; ErrNotFound if it has none.
	Webhook(ctx context.Context, tenantID string) (Webhook, error)
	// DeleteWebhook removes a tenant's webhook; ErrNotFound if it has none.
	DeleteWebhook(ctx context.Context, tenantID string) error

	// Close releases the database.
	Close() error
}

// Open opens the control plane: PostgreSQL (pgxpool) when dsn starts with
// postgres:// or postgresql://, else an embedded SQLite file at
// filepath.Join(dataDir, "control.db"). Migrations are applied at open.
// A dsn that is neither empty nor a PostgreSQL URL is an error.
func Open(ctx context.Context, dsn, dataDir string) (Store, error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return openPostgres(ctx, dsn)
	case dsn != "":
		return nil, errors.New("control plane: the DSN must be a postgres:// or postgresql:// URL, or empty for SQLite")
	case dataDir == "":
		return nil, errors.New("control plane: SQLite needs a data directory")
	}
	return openSQLite(ctx, filepath.Join(dataDir, "control.db"))
}
