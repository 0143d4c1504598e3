package api

import (
	"context"
	"time"
)

// Scopes an API key or token can grant; each implies those before it.
const (
	scopeRead  = "read"
	scopeWrite = "write"
	scopeAdmin = "admin"
)

// Principal is the authenticated caller of a request.
type Principal struct {
	TenantID       string
	KeyID          string    // empty for JWT callers
	Scopes         []string  // "read", "write", "admin"; admin implies write implies read
	Tier           string    // the tenant's tier, as its limits apply
	PeriodAnchor   time.Time // start of the billing periods; zero: calendar months
	TokensPerQuery int       // tier's max tokens per query; 0: no limit
}

// principalKey is the context key of the request's Principal.
type principalKey struct{}

// WithPrincipal returns a copy of ctx that carries p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the Principal that ctx carries, if any.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Can reports whether p holds scope or a scope that implies it.
func (p Principal) Can(scope string) bool {
	want := scopeRank(scope)
	if want == 0 {
		return false
	}
	for _, s := range p.Scopes {
		if scopeRank(s) >= want {
			return true
		}
	}
	return false
}

// scopeRank orders scopes by what they imply; 0 for unknown scopes.
func scopeRank(scope string) int {
	switch scope {
	case scopeRead:
		return 1
	case scopeWrite:
		return 2
	case scopeAdmin:
		return 3
	}
	return 0
}
