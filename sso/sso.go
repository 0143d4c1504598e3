// Package sso holds enterprise tenants' OpenID Connect single sign-on:
// checking the provider a tenant configures, accepting the JWTs that
// provider signs for the tenant, and logging the tenant's people in to
// the console through it (Login).
package sso

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/contextlite/cloud/tenancy"
)

// Tier is the tier whose tenants may use single sign-on.
const Tier = "enterprise"

// Eligible reports whether a tenant of tier may use single sign-on.
func Eligible(tier string) bool { return tier == Tier }

// Errors of Service.Set; match them with errors.Is.
var (
	ErrNotEligible    = errors.New("single sign-on needs the " + Tier + " tier")
	ErrInvalidIssuer  = errors.New("the issuer must be an https URL (plain http only on a loopback host)")
	ErrDiscovery      = errors.New("the issuer's OpenID Connect discovery document could not be read")
	ErrIssuerMismatch = errors.New("the discovery document names another issuer")
	ErrMissingClient  = errors.New("client_id and client_secret are required")
)

// Store keeps the tenants' single sign-on configurations.
type Store interface {
	SetSSO(ctx context.Context, c tenancy.SSOConfig) error
	SSO(ctx context.Context, tenantID string) (tenancy.SSOConfig, error)
	SSOByIssuer(ctx context.Context, issuer string) ([]tenancy.SSOConfig, error)
	DeleteSSO(ctx context.Context, tenantID string) error
}

// Service sets, reads and removes tenants' single sign-on.
type Service struct {
	Store     Store
	Providers *Providers
	// Changed, when set, is called after every change, so that caches
	// of the configurations (a Verifier's) drop them.
	Changed func()
	Now     func() time.Time // nil: time.Now
}

// Set checks c (its issuer's discovery document included) and stores it
// as the single sign-on of tenant t, enabled; an empty Audience becomes
// the ClientID.
func (s *Service) Set(ctx context.Context, t tenancy.Tenant, c tenancy.SSOConfig) (tenancy.SSOConfig, error) {
	if !Eligible(t.Tier) {
		return tenancy.SSOConfig{}, ErrNotEligible
	}
	c.ClientID, c.Audience = strings.TrimSpace(c.ClientID), strings.TrimSpace(c.Audience)
	if c.ClientID == "" || c.ClientSecret == "" {
		return tenancy.SSOConfig{}, ErrMissingClient
	}
	if err := CheckIssuerURL(c.Issuer); err != nil {
		return tenancy.SSOConfig{}, err
	}
	if _, err := s.Providers.Discover(ctx, c.Issuer); err != nil {
		return tenancy.SSOConfig{}, err
	}
	if c.Audience == "" {
		c.Audience = c.ClientID
	}
	c.TenantID, c.Enabled, c.UpdatedAt = t.ID, true, s.now().UTC()
	if err := s.Store.SetSSO(ctx, c); err != nil {
		return tenancy.SSOConfig{}, err
	}
	s.changed()
	return c, nil
}

// Get returns a tenant's single sign-on; tenancy.ErrNotFound if it has none.
func (s *Service) Get(ctx context.Context, tenantID string) (tenancy.SSOConfig, error) {
	return s.Store.SSO(ctx, tenantID)
}

// Delete removes a tenant's single sign-on; its tokens are refused from
// then on. tenancy.ErrNotFound if it has none.
func (s *Service) Delete(ctx context.Context, tenantID string) error {
	if err := s.Store.DeleteSSO(ctx, tenantID); err != nil {
		return err
	}
	s.changed()
	return nil
}

func (s *Service) changed() {
	if s.Changed != nil {
		s.Changed()
	}
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// CheckIssuerURL checks that issuer is an absolute https URL without
// query or fragment; plain http is allowed on loopback hosts only
// (localhost, 127.0.0.0/8, ::1), for development and tests.
func CheckIssuerURL(issuer string) error {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return ErrInvalidIssuer
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if loopback(u.Hostname()) {
			return nil
		}
	}
	return ErrInvalidIssuer
}

// loopback reports whether host is localhost or a loopback address.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
