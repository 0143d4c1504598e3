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
	ErrInvalidCompany = errors.New("invalid company name")
	ErrMalformedKey   = errors.New("malformed API key")
	ErrInvalidKey     = errors.New("invalid API key")
	ErrKeyRevoked     = errors.New("API key revoked")
	ErrKeyExpired     = errors.New("API key expired")
	ErrInvalidEmail   = errors.New("invalid email address")
	ErrInvalidScope   = errors.New("invalid scopes")
	ErrInvalidKeyName = errors.New("invalid API key name")
	ErrInvalidExpiry  = errors.New("invalid API key expiry")
	ErrInvalidGrace   = errors.New("invalid rotation grace")
	ErrTimeOutOfRange = errors.New("time out of the storable range")
)

// Store keeps the control plane's records. Implementations are safe for
// concurrent use.
type Store interface {
	// CreateTenant adds t; ErrSlugTaken if its slug is in use as a slug
	// or as another tenant's id. Zero
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
	// TenantByStripeCustomer returns the tenant whose Stripe customer is customerID; ErrNotFound if none (always for "").
	TenantByStripeCustomer(ctx context.Context, customerID string) (Tenant, error)
	// SetStripeCustomer records a tenant's Stripe customer id ("" clears it); ErrNotFound if no such tenant.
	SetStripeCustomer(ctx context.Context, tenantID, customerID string) error
	// SetSubscription records a tenant's Stripe subscription id ("" clears it); ErrNotFound if no such tenant.
	SetSubscription(ctx context.Context, tenantID, subscriptionID string) error
	// SetPaymentFailed records when a tenant's payments started failing (zero clears it); ErrNotFound if no such tenant.
	SetPaymentFailed(ctx context.Context, tenantID string, at time.Time) error

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
	// DailyUsage returns a tenant's sums per UTC day and meter, from the day
	// of from to the day of to, both included, ordered by day and meter;
	// days and meters without events are absent; never nil.
	DailyUsage(ctx context.Context, tenantID string, from, to time.Time) ([]UsageDay, error)

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

	// RecordBillingEvent stores a Stripe event (id, type, raw JSON payload) unless its id is stored
	// already, and reports whether it was already processed (so a duplicate delivery does nothing,
	// while an event whose processing failed is processed again on redelivery).
	// A zero receivedAt is set to now; a payload that is not JSON is an error.
	RecordBillingEvent(ctx context.Context, id, typ string, payload []byte, receivedAt time.Time) (processed bool, err error)
	// MarkBillingEventProcessed sets a stored event's processed_at (a zero at to now); ErrNotFound if it is not stored.
	MarkBillingEventProcessed(ctx context.Context, id string, at time.Time) error

	// UsageReceived sums a tenant's usage events of meter that the control plane stored
	// (created_at, not occurred_at) in [from, to).
	UsageReceived(ctx context.Context, tenantID, meter string, from, to time.Time) (int64, error)

	// AddUsageReport stores r unless its Identifier exists; reports whether it added it.
	// An empty Status is set to ReportPending, a zero CreatedAt to now and a zero UpdatedAt to CreatedAt.
	AddUsageReport(ctx context.Context, r UsageReport) (bool, error)
	// LastUsageReport returns the tenant's report of meter with the latest HourStart; ErrNotFound if none.
	LastUsageReport(ctx context.Context, tenantID, meter string) (UsageReport, error)
	// PendingUsageReports returns pending reports, oldest HourStart first, at most limit; never nil.
	PendingUsageReports(ctx context.Context, limit int) ([]UsageReport, error)
	// UpdateUsageReport stores Status, Attempts and LastError of a report (UpdatedAt = now); ErrNotFound if none.
	UpdateUsageReport(ctx context.Context, r UsageReport) error

	// PruneUsage deletes a tenant's usage events that occurred, and notices
	// and audit entries created, before before; it returns how many rows went.
	// The daily sums of the days before before's go too, uncounted.
	PruneUsage(ctx context.Context, tenantID string, before time.Time) (int64, error)

	// AddAudit appends an event to its tenant's audit log (ID and a zero CreatedAt are set).
	AddAudit(ctx context.Context, e AuditEvent) error
	// AuditEvents returns a tenant's events with ID > after, oldest first, at most limit, restricted to actions (nil: all); never nil.
	AuditEvents(ctx context.Context, tenantID string, after int64, limit int, actions []string) ([]AuditEvent, error)

	// AddDomain claims d.Name for d.TenantID. A claim that is verified
	// or made at or after staleBefore stands: claiming it again for the
	// same tenant changes nothing, for another is ErrDomainTaken. An
	// older unverified claim is stale: another tenant's claim replaces
	// it, its own renews it (CreatedAt from d, the token kept).
	AddDomain(ctx context.Context, d Domain, staleBefore time.Time) error
	// Domain returns the claim on name; ErrNotFound if there is none.
	Domain(ctx context.Context, name string) (Domain, error)
	// Domains returns a tenant's domains by name; never nil.
	Domains(ctx context.Context, tenantID string) ([]Domain, error)
	// VerifyDomain records that a tenant's domain was verified at at;
	// ErrNotFound if the tenant has no such domain.
	VerifyDomain(ctx context.Context, tenantID, name string, at time.Time) error
	// DeleteDomain removes a tenant's domain; ErrNotFound if it has none such.
	DeleteDomain(ctx context.Context, tenantID, name string) error

	// SetSSO creates or replaces a tenant's single sign-on; ErrNotFound if there is no such tenant.
	// A zero UpdatedAt is set to now.
	SetSSO(ctx context.Context, c SSOConfig) error
	// SSO returns a tenant's single sign-on; ErrNotFound if it has none.
	SSO(ctx context.Context, tenantID string) (SSOConfig, error)
	// SSOByIssuer returns the enabled single sign-ons naming issuer, by tenant id; never nil.
	SSOByIssuer(ctx context.Context, issuer string) ([]SSOConfig, error)
	// DeleteSSO removes a tenant's single sign-on; ErrNotFound if it has none.
	DeleteSSO(ctx context.Context, tenantID string) error

	// CreateSession stores a console session; an empty Kind is SessionKey.
	CreateSession(ctx context.Context, s Session) error
	// Session returns the console session whose id hashes to idHash; ErrNotFound if none.
	Session(ctx context.Context, idHash []byte) (Session, error)
	// TouchSession records a session's use at seen and its new idle expiry; ErrNotFound if none.
	TouchSession(ctx context.Context, idHash []byte, seen, expires time.Time) error
	// DeleteSession removes a session (log out); removing one that is gone is no error.
	DeleteSession(ctx context.Context, idHash []byte) error
	// DeleteExpiredSessions removes the sessions expired at now and returns how many went.
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error)

	// Close releases the database.
	Close() error
}

// Open opens the control plane: PostgreSQL (pgxpool) when dsn starts with
// postgres:// or postgresql://, else an embedded SQLite file at
// filepath.Join(dataDir, "control.db"). Migrations are applied at open.
// A dsn that is neither empty nor a PostgreSQL URL is an error.
func Open(ctx context.Context, dsn, dataDir string) (Store, error) {
	switch {
	case IsPostgres(dsn):
		return openPostgres(ctx, dsn)
	case dsn != "":
		return nil, errors.New("control plane: the DSN must be a postgres:// or postgresql:// URL, or empty for SQLite")
	case dataDir == "":
		return nil, errors.New("control plane: SQLite needs a data directory")
	}
	return openSQLite(ctx, filepath.Join(dataDir, "control.db"))
}

// IsPostgres reports whether dsn names a PostgreSQL control plane.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}
