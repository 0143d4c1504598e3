// Package domains lets pro and enterprise tenants serve their API on
// their own domain: a claim hands out a DNS TXT record, a verification
// looks it up, and verified domains of eligible tenants get certificates.
package domains

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/contextlite/cloud/tenancy"
)

// Errors of domain calls; match them with errors.Is.
var (
	ErrInvalidDomain = errors.New("invalid domain")
	ErrNotEligible   = errors.New("custom domains need the pro or enterprise tier")
	ErrNotVerified   = errors.New("the TXT record was not found")
	ErrClaimLimit    = errors.New("too many unverified domain claims")
)

// Defaults of Service's ClaimTTL and MaxPending.
const (
	DefaultClaimTTL   = 7 * 24 * time.Hour
	DefaultMaxPending = 10
)

// eligibleTiers may use custom domains.
var eligibleTiers = []string{"pro", "enterprise"}

// Eligible reports whether a tenant of tier may use custom domains.
func Eligible(tier string) bool { return slices.Contains(eligibleTiers, tier) }

// challengeLabel prefixes the TXT record that proves control of a domain.
const challengeLabel = "_contextlite-challenge."

// TXTResolver looks up TXT records; *net.Resolver is one.
type TXTResolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// Store keeps the claims.
type Store interface {
	AddDomain(ctx context.Context, d tenancy.Domain, staleBefore time.Time) error
	Domain(ctx context.Context, name string) (tenancy.Domain, error)
	Domains(ctx context.Context, tenantID string) ([]tenancy.Domain, error)
	VerifyDomain(ctx context.Context, tenantID, name string, at time.Time) error
	DeleteDomain(ctx context.Context, tenantID, name string) error
}

// Service claims and verifies tenants' domains.
type Service struct {
	Store    Store
	Resolver TXTResolver      // default net.DefaultResolver
	Apex     string           // the service's own domain, which no tenant may claim
	Now      func() time.Time // default time.Now
	// ClaimTTL is how long an unverified claim holds its domain; after
	// it, another tenant may claim the domain (default 7 days).
	ClaimTTL time.Duration
	// MaxPending bounds a tenant's unverified claims that have not
	// expired (default 10).
	MaxPending int
}

// Claim is a domain claim and the TXT record that verifies it.
type Claim struct {
	tenancy.Domain
	RecordName  string `json:"record_name"`
	RecordType  string `json:"record_type"`
	RecordValue string `json:"record_value"`
	// ExpiresAt is when an unverified claim expires: after it, another
	// tenant may claim the domain.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// claimOf returns d with its verification record.
func (s *Service) claimOf(d tenancy.Domain) Claim {
	c := Claim{Domain: d, RecordName: challengeLabel + d.Name, RecordType: "TXT", RecordValue: "contextlite-verify=" + d.Token}
	if !d.Verified() {
		c.ExpiresAt = d.CreatedAt.Add(s.claimTTL())
	}
	return c
}

// Claim claims name for tenant t and returns the TXT record to create. A
// second claim by the same tenant returns the same record, and renews
// the claim once it has expired. A domain another tenant claimed can be
// claimed once that claim has expired unverified. ErrClaimLimit when t
// has MaxPending unverified claims that have not expired.
func (s *Service) Claim(ctx context.Context, t tenancy.Tenant, name string) (Claim, error) {
	if !Eligible(t.Tier) {
		return Claim{}, ErrNotEligible
	}
	name, err := s.normalize(name)
	if err != nil {
		return Claim{}, err
	}
	now := s.now()
	staleBefore := now.Add(-s.claimTTL())
	if err := s.checkPending(ctx, t.ID, name, staleBefore); err != nil {
		return Claim{}, err
	}
	var token [16]byte
	rand.Read(token[:])
	if err := s.Store.AddDomain(ctx, tenancy.Domain{Name: name, TenantID: t.ID, Token: hex.EncodeToString(token[:]), CreatedAt: now}, staleBefore); err != nil {
		return Claim{}, err
	}
	d, err := s.Store.Domain(ctx, name)
	if err != nil {
		return Claim{}, err
	}
	return s.claimOf(d), nil
}

// checkPending returns ErrClaimLimit when tenantID holds MaxPending
// unverified claims made at or after staleBefore, other than on name.
func (s *Service) checkPending(ctx context.Context, tenantID, name string, staleBefore time.Time) error {
	ds, err := s.Store.Domains(ctx, tenantID)
	if err != nil {
		return err
	}
	pending := 0
	for _, d := range ds {
		if d.Name == name && (d.Verified() || !d.CreatedAt.Before(staleBefore)) {
			return nil // a standing claim of its own: claiming again changes nothing
		}
		if !d.Verified() && !d.CreatedAt.Before(staleBefore) {
			pending++
		}
	}
	if limit := cmp.Or(s.MaxPending, DefaultMaxPending); pending >= limit {
		return fmt.Errorf("%w: verify or delete one of the %d pending claims first (unverified claims expire after %s)", ErrClaimLimit, pending, s.claimTTL())
	}
	return nil
}

// claimTTL returns ClaimTTL or its default.
func (s *Service) claimTTL() time.Duration {
	return cmp.Or(s.ClaimTTL, DefaultClaimTTL)
}

// List returns a tenant's claims.
func (s *Service) List(ctx context.Context, tenantID string) ([]Claim, error) {
	ds, err := s.Store.Domains(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	claims := make([]Claim, len(ds))
	for i, d := range ds {
		claims[i] = s.claimOf(d)
	}
	return claims, nil
}

// Verify looks the tenant's TXT record up and marks the domain verified
// when it holds the claim's value; ErrNotVerified when it does not.
func (s *Service) Verify(ctx context.Context, tenantID, name string) (Claim, error) {
	name, err := s.normalize(name)
	if err != nil {
		return Claim{}, err
	}
	d, err := s.Store.Domain(ctx, name)
	if err != nil || d.TenantID != tenantID {
		return Claim{}, fmt.Errorf("domain %s: %w", name, tenancy.ErrNotFound)
	}
	c := s.claimOf(d)
	resolver := s.Resolver
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	records, err := resolver.LookupTXT(ctx, c.RecordName)
	if err != nil || !slices.Contains(records, c.RecordValue) {
		return c, fmt.Errorf("%w: %s %s should hold %q", ErrNotVerified, c.RecordType, c.RecordName, c.RecordValue)
	}
	at := s.now()
	if err := s.Store.VerifyDomain(ctx, tenantID, name, at); err != nil {
		return c, err
	}
	c.VerifiedAt, c.ExpiresAt = at, time.Time{}
	return c, nil
}

// Delete drops a tenant's claim.
func (s *Service) Delete(ctx context.Context, tenantID, name string) error {
	name, err := s.normalize(name)
	if err != nil {
		return err
	}
	return s.Store.DeleteDomain(ctx, tenantID, name)
}

// normalize lowercases name and checks it is a DNS name of at least two
// labels outside the service's own domain.
func (s *Service) normalize(name string) (string, error) {
	name = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(name)), ".")
	apex := strings.ToLower(s.Apex)
	switch {
	case len(name) > 253 || !strings.Contains(name, ".") || net.ParseIP(name) != nil:
		return "", fmt.Errorf("%w: %q", ErrInvalidDomain, name)
	case apex != "" && (name == apex || strings.HasSuffix(name, "."+apex)):
		return "", fmt.Errorf("%w: %q is the service's own domain", ErrInvalidDomain, name)
	}
	for _, label := range strings.Split(name, ".") {
		if !validLabel(label) {
			return "", fmt.Errorf("%w: %q", ErrInvalidDomain, name)
		}
	}
	return name, nil
}

// validLabel reports whether l is a DNS label: 1-63 letters, digits and
// inner hyphens.
func validLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for _, c := range l {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}
