package tenancy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// sqlStore is the Store over either database; the SQL is written once.
type sqlStore struct {
	db database
}

const tenantColumns = "id, slug, name, email, tier, status, stripe_customer_id, stripe_subscription_id, created_at, updated_at, billing_anchor, payment_failed_at"

func scanTenant(row scanner) (Tenant, error) {
	var t Tenant
	var created, updated, anchor, paymentFailed timeCol
	err := row.Scan(&t.ID, &t.Slug, &t.Name, &t.Email, &t.Tier, &t.Status,
		&t.StripeCustomerID, &t.StripeSubscriptionID, &created, &updated, &anchor, &paymentFailed)
	t.CreatedAt, t.UpdatedAt, t.BillingAnchor, t.PaymentFailedAt = created.T, updated.T, anchor.T, paymentFailed.T
	return t, err
}

func (s *sqlStore) CreateTenant(ctx context.Context, t Tenant) error {
	if t.CreatedAt.IsZero() {
		t.CreatedAt = time.Now()
	}
	if t.UpdatedAt.IsZero() {
		t.UpdatedAt = t.CreatedAt
	}
	return s.db.tx(ctx, func(q querier) error {
		// A slug equal to another tenant's id would make lookups by id or
		// slug ambiguous.
		var clash int
		if err := q.queryRow(ctx, "SELECT count(*) FROM tenants WHERE id = $1", t.Slug).Scan(&clash); err != nil {
			return fmt.Errorf("create tenant %s: %w", t.ID, err)
		}
		if clash > 0 {
			return fmt.Errorf("create tenant %s: %w: %q is another tenant's id", t.ID, ErrSlugTaken, t.Slug)
		}
		n, err := q.exec(ctx, "INSERT INTO tenants ("+tenantColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (slug) DO NOTHING",
			t.ID, t.Slug, t.Name, t.Email, t.Tier, string(t.Status), t.StripeCustomerID, t.StripeSubscriptionID, t.CreatedAt, t.UpdatedAt,
			nullTime(t.BillingAnchor), nullTime(t.PaymentFailedAt))
		if err != nil {
			return fmt.Errorf("create tenant %s: %w", t.ID, err)
		}
		if n == 0 {
			return fmt.Errorf("create tenant %s: %w: %q", t.ID, ErrSlugTaken, t.Slug)
		}
		return nil
	})
}

func (s *sqlStore) Tenant(ctx context.Context, id string) (Tenant, error) {
	t, err := scanTenant(s.db.queryRow(ctx, "SELECT "+tenantColumns+" FROM tenants WHERE id = $1", id))
	if err != nil {
		return Tenant{}, fmt.Errorf("tenant %s: %w", id, notFound(err))
	}
	return t, nil
}

func (s *sqlStore) TenantByStripeCustomer(ctx context.Context, customerID string) (Tenant, error) {
	if customerID == "" {
		// "" is every tenant without a customer, never one tenant's.
		return Tenant{}, fmt.Errorf("tenant of Stripe customer %q: %w", customerID, ErrNotFound)
	}
	// A customer belongs to one tenant; the order only makes a mistake
	// deterministic.
	t, err := scanTenant(s.db.queryRow(ctx, "SELECT "+tenantColumns+" FROM tenants WHERE stripe_customer_id = $1 ORDER BY created_at, id LIMIT 1", customerID))
	if err != nil {
		return Tenant{}, fmt.Errorf("tenant of Stripe customer %q: %w", customerID, notFound(err))
	}
	return t, nil
}

func (s *sqlStore) TenantBySlug(ctx context.Context, slug string) (Tenant, error) {
	t, err := scanTenant(s.db.queryRow(ctx, "SELECT "+tenantColumns+" FROM tenants WHERE slug = $1", slug))
	if err != nil {
		return Tenant{}, fmt.Errorf("tenant %q: %w", slug, notFound(err))
	}
	return t, nil
}

func (s *sqlStore) Tenants(ctx context.Context) ([]Tenant, error) {
	ts := []Tenant{}
	err := s.db.query(ctx, func(row scanner) error {
		t, err := scanTenant(row)
		ts = append(ts, t)
		return err
	}, "SELECT "+tenantColumns+" FROM tenants ORDER BY created_at, id")
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	return ts, nil
}

func (s *sqlStore) SetTier(ctx context.Context, id, tier string) error {
	return s.updateTenant(ctx, id, "tier", tier)
}

func (s *sqlStore) SetStatus(ctx context.Context, id string, st Status) error {
	if !st.valid() {
		return fmt.Errorf("tenant %s: unknown status %q", id, st)
	}
	return s.updateTenant(ctx, id, "status", string(st))
}

func (s *sqlStore) SetBillingAnchor(ctx context.Context, id string, anchor time.Time) error {
	return s.updateTenant(ctx, id, "billing_anchor", nullTime(anchor))
}

func (s *sqlStore) SetStripeCustomer(ctx context.Context, tenantID, customerID string) error {
	return s.updateTenant(ctx, tenantID, "stripe_customer_id", customerID)
}

func (s *sqlStore) SetSubscription(ctx context.Context, tenantID, subscriptionID string) error {
	return s.updateTenant(ctx, tenantID, "stripe_subscription_id", subscriptionID)
}

func (s *sqlStore) SetPaymentFailed(ctx context.Context, tenantID string, at time.Time) error {
	return s.updateTenant(ctx, tenantID, "payment_failed_at", nullTime(at))
}

// updateTenant sets one column, named by the caller, and updated_at.
func (s *sqlStore) updateTenant(ctx context.Context, id, column string, value any) error {
	n, err := s.db.exec(ctx, "UPDATE tenants SET "+column+" = $1, updated_at = $2 WHERE id = $3", value, time.Now(), id)
	if err != nil {
		return fmt.Errorf("tenant %s: set %s: %w", id, column, err)
	}
	if n == 0 {
		return fmt.Errorf("tenant %s: %w", id, ErrNotFound)
	}
	return nil
}

const keyColumns = "id, tenant_id, key_hash, prefix, name, scopes, last_used_at, created_at, expires_at, revoked_at"

func scanKey(row scanner) (APIKey, error) {
	var k APIKey
	var scopes string
	var lastUsed, created, expires, revoked timeCol
	err := row.Scan(&k.ID, &k.TenantID, &k.Hash, &k.Prefix, &k.Name, &scopes, &lastUsed, &created, &expires, &revoked)
	if scopes != "" {
		k.Scopes = strings.Split(scopes, ",")
	}
	k.LastUsedAt, k.CreatedAt, k.ExpiresAt, k.RevokedAt = lastUsed.ptr(), created.T, expires.ptr(), revoked.ptr()
	return k, err
}

func (s *sqlStore) CreateKey(ctx context.Context, k APIKey) error {
	if k.CreatedAt.IsZero() {
		k.CreatedAt = time.Now()
	}
	_, err := s.db.exec(ctx, "INSERT INTO api_keys ("+keyColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
		k.ID, k.TenantID, k.Hash, k.Prefix, k.Name, strings.Join(k.Scopes, ","), k.LastUsedAt, k.CreatedAt, k.ExpiresAt, k.RevokedAt)
	if err != nil {
		return fmt.Errorf("create key %s of tenant %s: %w", k.ID, k.TenantID, err)
	}
	return nil
}

func (s *sqlStore) KeyByHash(ctx context.Context, hash []byte) (APIKey, error) {
	k, err := scanKey(s.db.queryRow(ctx, "SELECT "+keyColumns+" FROM api_keys WHERE key_hash = $1", hash))
	if err != nil {
		return APIKey{}, fmt.Errorf("key by hash: %w", notFound(err))
	}
	return k, nil
}

func (s *sqlStore) Keys(ctx context.Context, tenantID string) ([]APIKey, error) {
	ks := []APIKey{}
	err := s.db.query(ctx, func(row scanner) error {
		k, err := scanKey(row)
		ks = append(ks, k)
		return err
	}, "SELECT "+keyColumns+" FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id", tenantID)
	if err != nil {
		return nil, fmt.Errorf("keys of tenant %s: %w", tenantID, err)
	}
	return ks, nil
}

func (s *sqlStore) RevokeKey(ctx context.Context, tenantID, keyID string, at time.Time) error {
	return s.updateKey(ctx, tenantID, keyID, "revoke",
		"UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE tenant_id = $2 AND id = $3", at)
}

func (s *sqlStore) ExpireKey(ctx context.Context, tenantID, keyID string, at time.Time) error {
	return s.updateKey(ctx, tenantID, keyID, "expire",
		"UPDATE api_keys SET expires_at = CASE WHEN expires_at < $1 THEN expires_at ELSE $1 END WHERE tenant_id = $2 AND id = $3", at)
}

// updateKey runs stmt, which sets a time from $1 on the key $3 of tenant $2.
func (s *sqlStore) updateKey(ctx context.Context, tenantID, keyID, verb, stmt string, at time.Time) error {
	n, err := s.db.exec(ctx, stmt, at, tenantID, keyID)
	if err != nil {
		return fmt.Errorf("%s key %s of tenant %s: %w", verb, keyID, tenantID, err)
	}
	if n == 0 {
		return fmt.Errorf("%s key %s of tenant %s: %w", verb, keyID, tenantID, ErrNotFound)
	}
	return nil
}

func (s *sqlStore) TouchKeys(ctx context.Context, lastUsed map[string]time.Time) error {
	if len(lastUsed) == 0 {
		return nil
	}
	err := s.db.tx(ctx, func(q querier) error {
		// In id order, so concurrent flushes lock rows in the same order.
		for _, id := range slices.Sorted(maps.Keys(lastUsed)) {
			_, err := q.exec(ctx, "UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)", lastUsed[id], id)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record key use: %w", err)
	}
	return nil
}

func (s *sqlStore) Close() error {
	return s.db.close()
}

// nullTime is t as a column value: nil (NULL) when t is zero.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// notFound turns "no rows" (database/sql's and pgx's, which wraps it)
// into ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// DeleteTenant removes a tenant and, by cascade, its keys and usage; Signup
// uses it to undo a tenant it could not finish.
func (s *sqlStore) DeleteTenant(ctx context.Context, id string) error {
	n, err := s.db.exec(ctx, "DELETE FROM tenants WHERE id = $1", id)
	if err != nil {
		return fmt.Errorf("delete tenant %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("delete tenant %s: %w", id, ErrNotFound)
	}
	return nil
}
