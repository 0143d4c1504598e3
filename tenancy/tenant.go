package tenancy

import (
	"crypto/rand"
	"fmt"
	"strings"
	"time"
)

// Status is the state of a tenant's account.
type Status string

// The states of a tenant; only an active tenant is served.
const (
	StatusActive    Status = "active"
	StatusSuspended Status = "suspended"
	StatusDeleted   Status = "deleted"
)

// valid reports whether s is one of the known states.
func (s Status) valid() bool {
	return s == StatusActive || s == StatusSuspended || s == StatusDeleted
}

// Tenant is one customer account.
type Tenant struct {
	ID                   string    `json:"id"`
	Slug                 string    `json:"slug"` // the tenant's subdomain
	Name                 string    `json:"name"`
	Email                string    `json:"email"`
	Tier                 string    `json:"tier"`
	Status               Status    `json:"status"`
	StripeCustomerID     string    `json:"stripe_customer_id,omitempty"`
	StripeSubscriptionID string    `json:"stripe_subscription_id,omitempty"`
	BillingAnchor        time.Time `json:"billing_anchor,omitzero"`    // billing periods start from it; zero: calendar months
	PaymentFailedAt      time.Time `json:"payment_failed_at,omitzero"` // when payments started failing; zero when paid up
	CreatedAt            time.Time `json:"created_at"`
	UpdatedAt            time.Time `json:"updated_at"`
}

// NewTenantID returns a random UUID v4 string (crypto/rand).
func NewTenantID() string {
	return newID()
}

// newID returns a random UUID v4 in its canonical lowercase form.
func newID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails; it crashes the program instead
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Slug lengths: a slug is a DNS label, kept short.
const (
	minSlugLen = 3
	maxSlugLen = 40
)

// reservedSlugs are subdomains the service keeps for itself or that would
// mislead users.
var reservedSlugs = map[string]bool{
	"www": true, "api": true, "admin": true, "app": true, "mail": true,
	"status": true, "docs": true, "billing": true, "dashboard": true,
	"signup": true, "login": true, "logout": true, "auth": true,
	"oauth": true, "sso": true, "static": true, "assets": true, "cdn": true,
	"help": true, "support": true, "health": true, "metrics": true,
	"webhooks": true, "console": true, "account": true, "accounts": true,
	"settings": true, "blog": true, "pricing": true, "legal": true,
	"security": true, "abuse": true, "postmaster": true, "root": true,
	"system": true, "internal": true, "staging": true, "dev": true,
	"test": true, "demo": true, "smtp": true, "imap": true, "ftp": true,
	"contextlite": true,
}

// Slugify turns a company name into a slug: lowercase a-z0-9 and '-', at
// most 40 characters, no leading, trailing or doubled '-'. Apostrophes are
// dropped ("Joe's" gives "joes"); every other run of characters outside
// a-z and 0-9, non-ASCII letters included, becomes one '-'. The result
// can still fail ValidateSlug: it may be too short or reserved.
func Slugify(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		case r == '\'', r == '’':
		default:
			dash = true
		}
		if b.Len() >= maxSlugLen {
			break
		}
	}
	s := b.String()
	return strings.TrimRight(s[:min(len(s), maxSlugLen)], "-")
}

// ValidateSlug reports whether s may name a tenant: 3 to 40 lowercase
// letters, digits and '-', not starting or ending with '-', without "--"
// (so never an IDN "xn--" label), not shaped like a UUID (which would
// read as a tenant id where ids and slugs are both accepted), and not
// reserved. It returns ErrReservedSlug or ErrInvalidSlug.
func ValidateSlug(s string) error {
	if !isSlug(s) {
		return fmt.Errorf("%w: %q: use %d-%d lowercase letters, digits or single '-' inside", ErrInvalidSlug, s, minSlugLen, maxSlugLen)
	}
	if LooksLikeID(s) {
		return fmt.Errorf("%w: %q is shaped like a tenant id", ErrInvalidSlug, s)
	}
	if reservedSlugs[s] {
		return fmt.Errorf("%w: %q", ErrReservedSlug, s)
	}
	return nil
}

// LooksLikeID reports whether s is shaped like a tenant id: a UUID of 32
// hex digits, with or without the hyphens of its 8-4-4-4-12 form.
func LooksLikeID(s string) bool {
	if len(s) == 36 {
		for _, i := range []int{8, 13, 18, 23} {
			if s[i] != '-' {
				return false
			}
		}
		s = strings.ReplaceAll(s, "-", "")
	}
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func isSlug(s string) bool {
	if len(s) < minSlugLen || len(s) > maxSlugLen ||
		s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
