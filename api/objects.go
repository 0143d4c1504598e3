package api

import (
	"time"

	"github.com/contextlite/cloud/contextengine"
	"github.com/contextlite/cloud/domains"
	"github.com/contextlite/cloud/tenancy"
)

// list is the envelope of every list answer: a page of data, the cursor
// of the next page (null on the last) and whether more follow.
type list[T any] struct {
	Object     string  `json:"object"` // always "list"
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
	HasMore    bool    `json:"has_more"`
}

// newList returns the page data, followed by the page of cursor next
// ("": none).
func newList[T any](data []T, next string) list[T] {
	if data == nil {
		data = []T{}
	}
	l := list[T]{Object: "list", Data: data}
	if next != "" {
		l.NextCursor, l.HasMore = &next, true
	}
	return l
}

// timeOrNull returns t in UTC, or nil when it is zero.
func timeOrNull(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// utcPtr returns *t in UTC, or nil.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	return timeOrNull(*t)
}

// document is a stored document; Content is present only when asked for.
type document struct {
	Object      string         `json:"object"` // always "document"
	ID          string         `json:"id"`
	Workspace   string         `json:"workspace"`
	Path        string         `json:"path"`
	Language    string         `json:"language"`
	Metadata    map[string]any `json:"metadata"`
	Content     *string        `json:"content,omitempty"`
	ContentHash string         `json:"content_hash"`
	SizeBytes   int64          `json:"size_bytes"` // stored bytes: content, path, language and metadata
	Tokens      int            `json:"tokens"`
	Chunks      int            `json:"chunks"`
	CreatedAt   time.Time      `json:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
}

// documentOf returns d as clients see it, with its content if withContent.
func documentOf(d *contextengine.Document, withContent bool) document {
	out := document{Object: "document", ID: d.ID, Workspace: d.Workspace, Path: d.Path, Language: d.Language,
		Metadata: d.Metadata, ContentHash: d.ContentHash, SizeBytes: d.SizeBytes, Tokens: d.Tokens, Chunks: d.Chunks,
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC()}
	if out.Metadata == nil {
		out.Metadata = map[string]any{}
	}
	if withContent {
		out.Content = &d.Content
	}
	return out
}

// workspace is a workspace with its totals.
type workspace struct {
	Object       string    `json:"object"` // always "workspace"
	Name         string    `json:"name"`
	Documents    int64     `json:"documents"`
	StorageBytes int64     `json:"storage_bytes"`
	Tokens       int64     `json:"tokens"`
	CreatedAt    time.Time `json:"created_at"`
}

// workspaceOf returns w as clients see it.
func workspaceOf(w contextengine.Workspace) workspace {
	return workspace{Object: "workspace", Name: w.Name, Documents: w.Documents, StorageBytes: w.StorageBytes,
		Tokens: w.Tokens, CreatedAt: w.CreatedAt.UTC()}
}

// workspacesOf returns ws as clients see them.
func workspacesOf(ws []contextengine.Workspace) []workspace {
	out := make([]workspace, len(ws))
	for i, w := range ws {
		out[i] = workspaceOf(w)
	}
	return out
}

// key is an API key without its secret.
type key struct {
	Object     string     `json:"object"` // always "key"
	ID         string     `json:"id"`
	TenantID   string     `json:"tenant_id"`
	Prefix     string     `json:"prefix"`
	Name       string     `json:"name"`
	Scopes     []string   `json:"scopes"`
	LastUsedAt *time.Time `json:"last_used_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	CreatedAt  time.Time  `json:"created_at"`
}

// keyOf returns k as clients see it.
func keyOf(k tenancy.APIKey) key {
	scopes := k.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	return key{Object: "key", ID: k.ID, TenantID: k.TenantID, Prefix: k.Prefix, Name: k.Name, Scopes: scopes,
		LastUsedAt: utcPtr(k.LastUsedAt), ExpiresAt: utcPtr(k.ExpiresAt), RevokedAt: utcPtr(k.RevokedAt),
		CreatedAt: k.CreatedAt.UTC()}
}

// tenant is a tenant with its tier's limits. The Stripe ids are shown to
// admin callers and the operator only.
type tenant struct {
	Object               string     `json:"object"` // always "tenant"
	ID                   string     `json:"id"`
	Slug                 string     `json:"slug"`
	Name                 string     `json:"name"`
	Email                string     `json:"email"`
	Tier                 string     `json:"tier"`
	Status               string     `json:"status"`
	StripeCustomerID     *string    `json:"stripe_customer_id,omitempty"`
	StripeSubscriptionID *string    `json:"stripe_subscription_id,omitempty"`
	BillingAnchor        *time.Time `json:"billing_anchor"`    // null: calendar months
	PaymentFailedAt      *time.Time `json:"payment_failed_at"` // null when paid up
	CreatedAt            time.Time  `json:"created_at"`
	UpdatedAt            time.Time  `json:"updated_at"`
	Limits               tierLimits `json:"limits"`
}

// tenantOf returns t with the limits of its tier in tiers; the Stripe ids
// only if withStripe.
func tenantOf(t tenancy.Tenant, tiers tenancy.Tiers, withStripe bool) tenant {
	tier, _ := tiers.Get(t.Tier)
	out := tenant{Object: "tenant", ID: t.ID, Slug: t.Slug, Name: t.Name, Email: t.Email, Tier: t.Tier,
		Status: string(t.Status), BillingAnchor: timeOrNull(t.BillingAnchor), PaymentFailedAt: timeOrNull(t.PaymentFailedAt),
		CreatedAt: t.CreatedAt.UTC(), UpdatedAt: t.UpdatedAt.UTC(), Limits: limitsOf(tier)}
	if withStripe {
		out.StripeCustomerID, out.StripeSubscriptionID = &t.StripeCustomerID, &t.StripeSubscriptionID
	}
	return out
}

// domain is a tenant's own domain and the DNS record that proves it.
type domain struct {
	Object      string     `json:"object"` // always "domain"
	Domain      string     `json:"domain"`
	VerifiedAt  *time.Time `json:"verified_at"` // null until verified
	CreatedAt   time.Time  `json:"created_at"`
	RecordName  string     `json:"record_name"`
	RecordType  string     `json:"record_type"`
	RecordValue string     `json:"record_value"`
	// ExpiresAt is when an unverified claim expires; null once verified.
	ExpiresAt *time.Time `json:"expires_at"`
}

// domainOf returns c as clients see it.
func domainOf(c domains.Claim) domain {
	return domain{Object: "domain", Domain: c.Name, VerifiedAt: timeOrNull(c.VerifiedAt), CreatedAt: c.CreatedAt.UTC(),
		RecordName: c.RecordName, RecordType: c.RecordType, RecordValue: c.RecordValue, ExpiresAt: timeOrNull(c.ExpiresAt)}
}

// auditEvent is one entry of a tenant's audit log.
type auditEvent struct {
	Object    string    `json:"object"` // always "audit_event"
	ID        int64     `json:"id"`
	Actor     string    `json:"actor"`
	Action    string    `json:"action"`
	Target    string    `json:"target"`
	IP        string    `json:"ip"`
	UserAgent string    `json:"user_agent"`
	RequestID string    `json:"request_id"`
	CreatedAt time.Time `json:"created_at"`
}

// auditEventOf returns e as clients see it.
func auditEventOf(e tenancy.AuditEvent) auditEvent {
	return auditEvent{Object: "audit_event", ID: e.ID, Actor: e.Actor, Action: e.Action, Target: e.Target, IP: e.IP,
		UserAgent: e.UserAgent, RequestID: e.RequestID, CreatedAt: e.CreatedAt.UTC()}
}
