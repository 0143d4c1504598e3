package caddymodule

import (
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/contextlite/cloud/jwtauth"
	"github.com/contextlite/cloud/tenancy"
)

// TierConfig is a pricing tier in the JSON config. A tier given in JSON
// replaces the default tier of its name; the Caddyfile's tier block starts
// from the default and changes the settings it names.
type TierConfig struct {
	// QueriesPerMonth is the monthly query quota; 0: unlimited.
	QueriesPerMonth int64 `json:"queries_per_month,omitempty"`
	// Documents is the most documents a tenant may store; 0: unlimited.
	Documents int64 `json:"documents,omitempty"`
	// Workspaces is the most workspaces a tenant may have; 0: unlimited.
	Workspaces int64 `json:"workspaces,omitempty"`
	// TokensPerQuery is the largest context one query may assemble.
	TokensPerQuery int `json:"tokens_per_query,omitempty"`
	// RatePerSecond is each tenant's sustained request rate.
	RatePerSecond int `json:"rate_per_second,omitempty"`
	// Burst is how many requests a tenant may send at once, spread over
	// Burst/RatePerSecond seconds (default RatePerSecond).
	Burst int `json:"burst,omitempty"`
	// Retention is how long documents are kept after their last change;
	// 0: forever.
	Retention caddy.Duration `json:"retention,omitempty"`
}

// tierConfig returns t as configured.
func tierConfig(t tenancy.Tier) TierConfig {
	return TierConfig{QueriesPerMonth: t.QueriesPerMonth, Documents: t.Documents, Workspaces: t.Workspaces,
		TokensPerQuery: t.TokensPerQuery, RatePerSecond: t.RatePerSecond, Burst: t.Burst, Retention: caddy.Duration(t.Retention)}
}

// tier returns the tier called name that c configures.
func (c TierConfig) tier(name string) tenancy.Tier {
	return tenancy.Tier{Name: name, QueriesPerMonth: c.QueriesPerMonth, Documents: c.Documents, Workspaces: c.Workspaces,
		TokensPerQuery: c.TokensPerQuery, RatePerSecond: c.RatePerSecond, Burst: c.Burst, Retention: time.Duration(c.Retention)}
}

// mergeTiers returns the default tiers with the configured ones applied.
func mergeTiers(configured map[string]TierConfig) tenancy.Tiers {
	tiers := tenancy.DefaultTiers()
	for name, c := range configured {
		tiers[name] = c.tier(name)
	}
	return tiers
}

// JWTIssuer is a trusted issuer of bearer tokens in the JSON config: the
// fields of jwtauth.Issuer, with Leeway a Caddy duration.
type JWTIssuer struct {
	jwtauth.Issuer
	// Leeway is the clock skew allowed on exp, nbf and iat (default 30s).
	Leeway caddy.Duration `json:"leeway,omitempty"`
}

// issuers returns the configured issuers for jwtauth.
func issuers(configured []JWTIssuer) []jwtauth.Issuer {
	out := make([]jwtauth.Issuer, len(configured))
	for i, c := range configured {
		out[i] = c.Issuer
		out[i].Leeway = time.Duration(c.Leeway)
	}
	return out
}
