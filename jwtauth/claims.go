package jwtauth

import (
	"slices"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// claims checks the audience and tenant of verified claims c and returns
// the facts the service uses.
func (iss *issuer) claims(c jwt.MapClaims) (Claims, error) {
	ok, err := iss.accepts(c)
	if err != nil {
		return Claims{}, invalid("malformed aud claim")
	}
	if !ok {
		return Claims{}, invalid("audience not accepted")
	}
	tenant, _ := lookup(c, iss.cfg.TenantClaim).(string)
	if tenant == "" {
		return Claims{}, invalid("missing tenant claim " + iss.cfg.TenantClaim)
	}
	sub, err := c.GetSubject()
	if err != nil {
		return Claims{}, invalid("malformed sub claim")
	}
	exp, _ := c.GetExpirationTime() // present and valid: the parser requires it
	return Claims{Issuer: iss.cfg.Issuer, Subject: sub, Tenant: tenant, ExpiresAt: exp.Time}, nil
}

// accepts reports whether c names an accepted audience or authorized party.
func (iss *issuer) accepts(c jwt.MapClaims) (bool, error) {
	aud, err := c.GetAudience()
	if err != nil {
		return false, err
	}
	for _, a := range aud {
		if slices.Contains(iss.cfg.Audiences, a) {
			return true, nil
		}
	}
	azp, _ := c["azp"].(string)
	return azp != "" && slices.Contains(iss.cfg.AuthorizedParties, azp), nil
}

// lookup returns the claim called name, or else the value at name read as a
// dotted path through nested objects; nil if there is neither.
func lookup(c map[string]any, name string) any {
	if v, ok := c[name]; ok {
		return v
	}
	var v any = c
	for key := range strings.SplitSeq(name, ".") {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = obj[key]
	}
	return v
}
