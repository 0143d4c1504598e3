package tenancy

import (
	"context"
	"fmt"
	"time"
)

// SSOConfig is an enterprise tenant's OpenID Connect single sign-on: JWTs
// its issuer signs for its audience are accepted for the tenant.
type SSOConfig struct {
	TenantID     string
	Issuer       string // the OpenID Provider's issuer URL
	ClientID     string
	ClientSecret string // never returned by the API nor logged
	Audience     string // the aud accepted tokens carry; usually ClientID
	Enabled      bool
	UpdatedAt    time.Time
}

const ssoColumns = "tenant_id, issuer, client_id, client_secret, audience, enabled, updated_at"

func scanSSO(row scanner) (SSOConfig, error) {
	var c SSOConfig
	var updated timeCol
	err := row.Scan(&c.TenantID, &c.Issuer, &c.ClientID, &c.ClientSecret, &c.Audience, &c.Enabled, &updated)
	c.UpdatedAt = updated.T
	return c, err
}

func (s *sqlStore) SetSSO(ctx context.Context, c SSOConfig) error {
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = time.Now()
	}
	// The WHERE makes an unknown tenant insert nothing, as for webhooks.
	n, err := s.db.exec(ctx, "INSERT INTO tenant_sso ("+ssoColumns+")"+
		" SELECT $1, $2, $3, $4, $5, $6, $7 WHERE EXISTS (SELECT 1 FROM tenants WHERE id = $1)"+
		" ON CONFLICT (tenant_id) DO UPDATE SET issuer = excluded.issuer, client_id = excluded.client_id,"+
		" client_secret = excluded.client_secret, audience = excluded.audience, enabled = excluded.enabled, updated_at = excluded.updated_at",
		c.TenantID, c.Issuer, c.ClientID, c.ClientSecret, c.Audience, c.Enabled, c.UpdatedAt)
	if err != nil {
		return fmt.Errorf("set SSO of tenant %s: %w", c.TenantID, err)
	}
	if n == 0 {
		return fmt.Errorf("set SSO of tenant %s: %w", c.TenantID, ErrNotFound)
	}
	return nil
}

func (s *sqlStore) SSO(ctx context.Context, tenantID string) (SSOConfig, error) {
	c, err := scanSSO(s.db.queryRow(ctx, "SELECT "+ssoColumns+" FROM tenant_sso WHERE tenant_id = $1", tenantID))
	if err != nil {
		return SSOConfig{}, fmt.Errorf("SSO of tenant %s: %w", tenantID, notFound(err))
	}
	return c, nil
}

func (s *sqlStore) SSOByIssuer(ctx context.Context, issuer string) ([]SSOConfig, error) {
	cs := []SSOConfig{}
	err := s.db.query(ctx, func(row scanner) error {
		c, err := scanSSO(row)
		cs = append(cs, c)
		return err
	}, "SELECT "+ssoColumns+" FROM tenant_sso WHERE issuer = $1 AND enabled ORDER BY tenant_id", issuer)
	if err != nil {
		return nil, fmt.Errorf("SSO of issuer %s: %w", issuer, err)
	}
	return cs, nil
}

func (s *sqlStore) DeleteSSO(ctx context.Context, tenantID string) error {
	n, err := s.db.exec(ctx, "DELETE FROM tenant_sso WHERE tenant_id = $1", tenantID)
	if err != nil {
		return fmt.Errorf("delete SSO of tenant %s: %w", tenantID, err)
	}
	if n == 0 {
		return fmt.Errorf("delete SSO of tenant %s: %w", tenantID, ErrNotFound)
	}
	return nil
}
