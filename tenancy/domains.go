package tenancy

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrDomainTaken is returned when another tenant claimed a domain.
var ErrDomainTaken = errors.New("domain claimed by another tenant")

// Domain is a tenant's own domain for its API.
type Domain struct {
	Name       string    `json:"domain"`
	TenantID   string    `json:"-"`
	Token      string    `json:"-"` // the TXT record value that proves control
	VerifiedAt time.Time `json:"verified_at,omitzero"`
	CreatedAt  time.Time `json:"created_at"`
}

// Verified reports whether the domain's TXT record was found.
func (d Domain) Verified() bool { return !d.VerifiedAt.IsZero() }

const domainColumns = "domain, tenant_id, token, verified_at, created_at"

func scanDomain(row scanner) (Domain, error) {
	var d Domain
	var verified, created timeCol
	err := row.Scan(&d.Name, &d.TenantID, &d.Token, &verified, &created)
	d.VerifiedAt, d.CreatedAt = verified.T, created.T
	return d, err
}

func (s *sqlStore) AddDomain(ctx context.Context, d Domain, staleBefore time.Time) error {
	if d.CreatedAt.IsZero() {
		d.CreatedAt = time.Now()
	}
	// A stale claim is taken over by another tenant (its token with it)
	// or renewed by its own (the token it published is kept).
	_, err := s.db.exec(ctx, "INSERT INTO custom_domains ("+domainColumns+") VALUES ($1, $2, $3, NULL, $4)"+
		" ON CONFLICT (domain) DO UPDATE SET"+
		" token = CASE WHEN custom_domains.tenant_id = excluded.tenant_id THEN custom_domains.token ELSE excluded.token END,"+
		" tenant_id = excluded.tenant_id, created_at = excluded.created_at"+
		" WHERE custom_domains.verified_at IS NULL AND custom_domains.created_at < $5",
		d.Name, d.TenantID, d.Token, d.CreatedAt, staleBefore)
	if err != nil {
		return fmt.Errorf("add domain %s: %w", d.Name, err)
	}
	got, err := s.Domain(ctx, d.Name)
	if err != nil {
		return err
	}
	if got.TenantID != d.TenantID {
		return fmt.Errorf("add domain %s: %w", d.Name, ErrDomainTaken)
	}
	return nil
}

func (s *sqlStore) Domain(ctx context.Context, name string) (Domain, error) {
	d, err := scanDomain(s.db.queryRow(ctx, "SELECT "+domainColumns+" FROM custom_domains WHERE domain = $1", name))
	if err != nil {
		return Domain{}, fmt.Errorf("domain %s: %w", name, notFound(err))
	}
	return d, nil
}

func (s *sqlStore) Domains(ctx context.Context, tenantID string) ([]Domain, error) {
	ds := []Domain{}
	err := s.db.query(ctx, func(row scanner) error {
		d, err := scanDomain(row)
		ds = append(ds, d)
		return err
	}, "SELECT "+domainColumns+" FROM custom_domains WHERE tenant_id = $1 ORDER BY domain", tenantID)
	if err != nil {
		return nil, fmt.Errorf("domains of tenant %s: %w", tenantID, err)
	}
	return ds, nil
}

func (s *sqlStore) VerifyDomain(ctx context.Context, tenantID, name string, at time.Time) error {
	n, err := s.db.exec(ctx, "UPDATE custom_domains SET verified_at = $1 WHERE domain = $2 AND tenant_id = $3", at, name, tenantID)
	if err != nil {
		return fmt.Errorf("verify domain %s: %w", name, err)
	}
	if n == 0 {
		return fmt.Errorf("verify domain %s: %w", name, ErrNotFound)
	}
	return nil
}

func (s *sqlStore) DeleteDomain(ctx context.Context, tenantID, name string) error {
	n, err := s.db.exec(ctx, "DELETE FROM custom_domains WHERE domain = $1 AND tenant_id = $2", name, tenantID)
	if err != nil {
		return fmt.Errorf("delete domain %s: %w", name, err)
	}
	if n == 0 {
		return fmt.Errorf("delete domain %s: %w", name, ErrNotFound)
	}
	return nil
}
