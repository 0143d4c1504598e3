package jwtauth

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"
)

// Issuer configures one trusted token issuer.
type Issuer struct {
	// Issuer is the exact "iss" value (Auth0 issuers end with a slash).
	Issuer string `json:"issuer"`
	// JWKSURL is a remote JWKS, refreshed in the background.
	JWKSURL string `json:"jwks_url,omitempty"`
	// JWKSFile is a local JWKS file, the alternative to JWKSURL.
	JWKSFile string `json:"jwks_file,omitempty"`
	// Audiences are the accepted "aud" values.
	Audiences []string `json:"audiences,omitempty"`
	// AuthorizedParties are the accepted "azp" values (Clerk tokens have no aud).
	AuthorizedParties []string `json:"authorized_parties,omitempty"`
	// TenantClaim names the claim holding the tenant (default "tenant_id"): a
	// top-level key such as "https://example.com/tenant", else a dotted path
	// into nested objects such as "org.slug".
	TenantClaim string `json:"tenant_claim,omitempty"`
	// Algorithms are the accepted "alg" values (default RS256 and ES256).
	Algorithms []string `json:"algorithms,omitempty"`
	// Leeway is the clock skew allowed on exp, nbf and iat (default 30s).
	Leeway time.Duration `json:"leeway,omitempty"`
}

const (
	defaultTenantClaim = "tenant_id"
	defaultLeeway      = 30 * time.Second
)

// withDefaults returns iss with its unset fields defaulted.
func (iss Issuer) withDefaults() Issuer {
	if iss.TenantClaim == "" {
		iss.TenantClaim = defaultTenantClaim
	}
	if len(iss.Algorithms) == 0 {
		iss.Algorithms = []string{"RS256", "ES256"}
	}
	if iss.Leeway == 0 {
		iss.Leeway = defaultLeeway
	}
	return iss
}

// validate checks a defaulted Issuer.
func (iss Issuer) validate() error {
	if iss.Issuer == "" {
		return errors.New("issuer is required")
	}
	if (iss.JWKSURL == "") == (iss.JWKSFile == "") {
		return errors.New("exactly one of jwks_url and jwks_file is required")
	}
	if iss.JWKSURL != "" {
		if err := checkJWKSURL(iss.JWKSURL); err != nil {
			return err
		}
	}
	if len(iss.Audiences) == 0 && len(iss.AuthorizedParties) == 0 {
		return errors.New("at least one of audiences and authorized_parties is required")
	}
	for _, a := range iss.Audiences {
		if a == "" {
			return errors.New("empty audience")
		}
	}
	for _, p := range iss.AuthorizedParties {
		if p == "" {
			return errors.New("empty authorized party")
		}
	}
	for _, alg := range iss.Algorithms {
		if !supportedAlgorithm(alg) {
			return fmt.Errorf("algorithm %q is not supported (use RS*, PS*, ES* or EdDSA)", alg)
		}
	}
	if iss.Leeway < 0 {
		return errors.New("leeway must not be negative")
	}
	return nil
}

// supportedAlgorithm reports whether alg is an asymmetric JWS algorithm.
// HMAC and "none" are never supported: an issuer's keys are public.
func supportedAlgorithm(alg string) bool {
	switch alg {
	case "RS256", "RS384", "RS512",
		"PS256", "PS384", "PS512",
		"ES256", "ES384", "ES512",
		"EdDSA":
		return true
	}
	return false
}

// checkJWKSURL requires https, allowing plain http only to a loopback host.
func checkJWKSURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("jwks_url: %w", err)
	}
	if u.Host == "" {
		return fmt.Errorf("jwks_url %q: missing host", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
	}
	return fmt.Errorf("jwks_url %q: must be https (plain http only to a loopback host)", raw)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
