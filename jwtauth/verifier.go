// Package jwtauth verifies JWT bearer tokens against the JWKS of configured
// issuers and extracts the tenant they name.
package jwtauth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

// ErrInvalidToken is wrapped by every error Verify returns for a bad token.
var ErrInvalidToken = errors.New("invalid token")

// ErrUnknownIssuer is wrapped, with ErrInvalidToken, by the error Verify
// returns for a token of an issuer it does not trust.
var ErrUnknownIssuer = errors.New("unknown issuer")

// Claims are the verified facts the service uses.
type Claims struct {
	Issuer    string
	Subject   string
	Tenant    string
	ExpiresAt time.Time
}

// Verifier verifies bearer tokens of the configured issuers; it is safe for concurrent use.
type Verifier struct {
	issuers map[string]*issuer
}

// issuer is a configured Issuer with its keys and parser.
type issuer struct {
	cfg    Issuer
	keys   keyfunc.Keyfunc
	parser *jwt.Parser
}

// New builds a Verifier; remote JWKS are fetched and refreshed in the background until ctx is done.
func New(ctx context.Context, issuers []Issuer) (*Verifier, error) {
	return newVerifier(ctx, issuers, refresh{interval: refreshInterval, unknownKID: refreshUnknownKID})
}

// newVerifier is New with refresh policy r.
func newVerifier(ctx context.Context, issuers []Issuer, r refresh) (*Verifier, error) {
	if len(issuers) == 0 {
		return nil, errors.New("no issuers configured")
	}
	configs := make([]Issuer, len(issuers))
	seen := make(map[string]bool, len(issuers))
	for i, iss := range issuers {
		iss = iss.withDefaults()
		if err := iss.validate(); err != nil {
			return nil, fmt.Errorf("issuers[%d]: %w", i, err)
		}
		if seen[iss.Issuer] {
			return nil, fmt.Errorf("issuers[%d]: duplicate issuer %q", i, iss.Issuer)
		}
		seen[iss.Issuer] = true
		configs[i] = iss
	}
	v := &Verifier{issuers: make(map[string]*issuer, len(configs))}
	for i, iss := range configs {
		keys, err := loadKeys(ctx, iss, r)
		if err != nil {
			return nil, fmt.Errorf("issuers[%d]: %w", i, err)
		}
		v.issuers[iss.Issuer] = &issuer{cfg: iss, keys: keys, parser: newParser(iss)}
	}
	return v, nil
}

// newParser returns the parser enforcing iss's algorithms, issuer and times.
func newParser(iss Issuer) *jwt.Parser {
	return jwt.NewParser(
		jwt.WithValidMethods(iss.Algorithms),
		jwt.WithIssuer(iss.Issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(iss.Leeway),
	)
}

// Verify checks token and returns its claims; errors for a bad token wrap ErrInvalidToken with a reason safe to show a client.
func (v *Verifier) Verify(ctx context.Context, token string) (Claims, error) {
	unverified, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
	if errors.Is(err, jwt.ErrTokenUnverifiable) {
		return Claims{}, invalid("algorithm not allowed")
	}
	if err != nil {
		return Claims{}, invalid("malformed token")
	}
	name, err := unverified.Claims.GetIssuer()
	if err != nil {
		return Claims{}, invalid("malformed iss claim")
	}
	iss, ok := v.issuers[name]
	if !ok {
		return Claims{}, fmt.Errorf("%w: %w", ErrInvalidToken, ErrUnknownIssuer)
	}
	if !slices.Contains(iss.cfg.Algorithms, unverified.Method.Alg()) {
		return Claims{}, invalid("algorithm not allowed")
	}
	claims := jwt.MapClaims{}
	if _, err := iss.parser.ParseWithClaims(token, claims, iss.keys.KeyfuncCtx(ctx)); err != nil {
		return Claims{}, invalid(reason(err))
	}
	return iss.claims(claims)
}

// invalid returns ErrInvalidToken with a reason.
func invalid(reason string) error {
	return fmt.Errorf("%w: %s", ErrInvalidToken, reason)
}

// reason describes a jwt parse error without repeating token contents.
func reason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed token"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "unknown signing key"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "invalid signature"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "token expired"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "missing exp claim"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "token not valid yet"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "token issued in the future"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "issuer mismatch"
	}
	return "invalid claims"
}
