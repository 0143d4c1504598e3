package sso

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/golang-jwt/jwt/v5"

	"github.com/contextlite/cloud/jwtauth"
	"github.com/contextlite/cloud/tenancy"
)

// configsMax bounds the issuers whose configurations a Verifier caches; a
// full cache starts afresh.
const configsMax = 10_000

// Verifier accepts the JWTs that tenants' configured OpenID Providers
// sign for them. It caches the configurations per issuer for a TTL
// (ForgetAll drops them) and is safe for concurrent use.
type Verifier struct {
	store     Store
	providers *Providers
	ttl       time.Duration
	now       func() time.Time

	mu      sync.Mutex
	configs map[string]cachedConfigs
	gen     uint64 // counts ForgetAll calls
}

type cachedConfigs struct {
	cs      []tenancy.SSOConfig
	expires time.Time
}

// NewVerifier returns a Verifier reading configurations from store, kept
// for ttl, and providers from ps.
func NewVerifier(store Store, ps *Providers, ttl time.Duration) *Verifier {
	return &Verifier{store: store, providers: ps, ttl: ttl, now: time.Now, configs: make(map[string]cachedConfigs)}
}

// ForgetAll drops the cached configurations, so that changes apply at
// the next request.
func (v *Verifier) ForgetAll() {
	v.mu.Lock()
	defer v.mu.Unlock()
	clear(v.configs)
	v.gen++
}

// Verify checks token against the provider of its issuer and returns the
// enabled configurations (one per tenant) whose audience it carries. A
// token whose issuer no tenant configured is an error wrapping
// jwtauth.ErrUnknownIssuer; other bad tokens wrap jwtauth.ErrInvalidToken
// with a reason safe to show a client.
func (v *Verifier) Verify(ctx context.Context, token string) ([]tenancy.SSOConfig, error) {
	unverified, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
	if err != nil {
		return nil, invalid("malformed token")
	}
	issuer, _ := unverified.Claims.GetIssuer()
	cs, err := v.configsOf(ctx, issuer)
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, fmt.Errorf("%w: %w", jwtauth.ErrInvalidToken, jwtauth.ErrUnknownIssuer)
	}
	p, err := v.providers.Get(ctx, issuer)
	if err != nil {
		return nil, invalid("the issuer's keys could not be read")
	}
	idt, err := p.Verifier(&oidc.Config{SkipClientIDCheck: true}).Verify(ctx, token)
	var expired *oidc.TokenExpiredError
	switch {
	case errors.As(err, &expired):
		return nil, invalid("token expired")
	case err != nil:
		return nil, invalid("signature or claims not valid")
	}
	out := slices.DeleteFunc(slices.Clone(cs), func(c tenancy.SSOConfig) bool {
		return !slices.Contains(idt.Audience, c.Audience)
	})
	if len(out) == 0 {
		return nil, invalid("audience not accepted")
	}
	return out, nil
}

// configsOf returns the enabled configurations naming issuer.
func (v *Verifier) configsOf(ctx context.Context, issuer string) ([]tenancy.SSOConfig, error) {
	now := v.now()
	v.mu.Lock()
	e, ok := v.configs[issuer]
	gen := v.gen
	v.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.cs, nil
	}
	cs, err := v.store.SSOByIssuer(ctx, issuer)
	if err != nil {
		return nil, fmt.Errorf("single sign-on of %s: %w", issuer, err)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.gen != gen {
		return cs, nil // changed while loading: cache nothing that may be stale
	}
	if _, ok := v.configs[issuer]; !ok && len(v.configs) >= configsMax {
		clear(v.configs)
	}
	v.configs[issuer] = cachedConfigs{cs: cs, expires: now.Add(v.ttl)}
	return cs, nil
}

// invalid returns jwtauth.ErrInvalidToken with a reason.
func invalid(reason string) error {
	return fmt.Errorf("%w: %s", jwtauth.ErrInvalidToken, reason)
}
