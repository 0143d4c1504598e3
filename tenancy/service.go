package tenancy

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// StorageCreator makes a tenant's document storage (contextengine.Manager satisfies it).
type StorageCreator interface {
	Create(ctx context.Context, id string) error
}

// storageDeleter is storage that can also remove a tenant's storage
// (contextengine.Manager can); Signup uses it to undo.
type storageDeleter interface {
	Delete(ctx context.Context, id string) error
}

// tenantDeleter is a Store that can remove a tenant outright (those of
// Open can); Signup uses it to undo, else it marks the tenant deleted.
type tenantDeleter interface {
	DeleteTenant(ctx context.Context, id string) error
}

// Service signs tenants up and manages their API keys.
type Service struct {
	Store   Store            // the control plane's records
	Storage StorageCreator   // where Signup makes a tenant's document storage
	Hasher  Hasher           // how keys are hashed; the Authenticator's must match
	Tiers   Tiers            // the plans on offer
	Now     func() time.Time // nil: time.Now
}

// SignupResult is a new tenant and its first key, shown only this once.
type SignupResult struct {
	Tenant Tenant
	APIKey string // the plaintext key
	Key    APIKey
}

const (
	signupTier     = "free"
	firstKeyName   = "default"
	maxSlugTries   = 20  // slug, slug-2 ... slug-20
	maxCompanyName = 200 // characters
	maxEmailLen    = 254 // bytes, as RFC 5321 allows
	maxKeyNameLen  = 100 // characters
	undoTimeout    = 10 * time.Second
)

// now returns the current time in UTC to the microsecond, the precision
// PostgreSQL keeps, so what Service returns equals what it stored.
func (s *Service) now() time.Time {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	return now().UTC().Truncate(time.Microsecond)
}

// Signup creates a tenant on the free tier for company, its storage and
// its first key (all scopes, named "default"). The slug comes from
// Slugify(company); when it is taken, -2, -3 ... up to -20 are tried.
// It fails with ErrInvalidEmail, ErrInvalidCompany, ErrInvalidSlug,
// ErrReservedSlug or ErrSlugTaken. If a later step fails, the earlier ones are undone.
func (s *Service) Signup(ctx context.Context, email, company string) (SignupResult, error) {
	email, err := checkEmail(email)
	if err != nil {
		return SignupResult{}, err
	}
	company, err = checkCompany(company)
	if err != nil {
		return SignupResult{}, err
	}
	base := Slugify(company)
	if err := ValidateSlug(base); err != nil {
		return SignupResult{}, fmt.Errorf("company %q: %w", company, err)
	}
	t, err := s.createTenant(ctx, base, company, email)
	if err != nil {
		return SignupResult{}, err
	}
	if err := s.Storage.Create(ctx, t.ID); err != nil {
		return SignupResult{}, fmt.Errorf("signup: storage of tenant %s: %w", t.ID, errors.Join(err, s.undoTenant(ctx, t.ID, false)))
	}
	scopes := []string{ScopeRead, ScopeWrite, ScopeAdmin}
	plain, k, err := s.CreateKey(ctx, t.ID, firstKeyName, scopes, nil)
	if err != nil {
		return SignupResult{}, fmt.Errorf("signup: %w", errors.Join(err, s.undoTenant(ctx, t.ID, true)))
	}
	return SignupResult{Tenant: t, APIKey: plain, Key: k}, nil
}

// checkCompany returns company trimmed if it is valid UTF-8 of at most
// 200 characters with no control characters, else ErrInvalidCompany.
func checkCompany(company string) (string, error) {
	company = strings.TrimSpace(company)
	switch {
	case !utf8.ValidString(company) || strings.ContainsFunc(company, unicode.IsControl):
		return "", fmt.Errorf("%w: it holds control characters or invalid UTF-8", ErrInvalidCompany)
	case utf8.RuneCountInString(company) > maxCompanyName:
		return "", fmt.Errorf("%w: it is longer than %d characters", ErrInvalidCompany, maxCompanyName)
	}
	return company, nil
}

// checkEmail returns email trimmed if it is a bare address (no display
// name, no angle brackets, no comment), else ErrInvalidEmail.
func checkEmail(email string) (string, error) {
	email = strings.TrimSpace(email)
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || len(email) > maxEmailLen {
		return "", ErrInvalidEmail
	}
	return email, nil
}

// createTenant stores a new tenant under the first free slug of base.
func (s *Service) createTenant(ctx context.Context, base, name, email string) (Tenant, error) {
	now := s.now()
	t := Tenant{ID: NewTenantID(), Name: name, Email: email, Tier: signupTier,
		Status: StatusActive, CreatedAt: now, UpdatedAt: now}
	for n := 1; n <= maxSlugTries; n++ {
		t.Slug = slugVariant(base, n)
		err := s.Store.CreateTenant(ctx, t)
		if !errors.Is(err, ErrSlugTaken) {
			return t, err
		}
	}
	return Tenant{}, fmt.Errorf("signup: %w: %q and %d variants", ErrSlugTaken, base, maxSlugTries-1)
}

// slugVariant returns base for n = 1, else base shortened as needed and
// suffixed "-n".
func slugVariant(base string, n int) string {
	if n == 1 {
		return base
	}
	suffix := "-" + strconv.Itoa(n)
	return strings.TrimRight(base[:min(len(base), maxSlugLen-len(suffix))], "-") + suffix
}

// undoTenant removes what Signup made of tenant id, with a context that
// outlives ctx's cancellation, and returns what could not be undone.
func (s *Service) undoTenant(ctx context.Context, id string, storage bool) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTimeout)
	defer cancel()
	var errs []error
	if d, ok := s.Storage.(storageDeleter); ok && storage {
		errs = append(errs, d.Delete(ctx, id))
	}
	if d, ok := s.Store.(tenantDeleter); ok {
		errs = append(errs, d.DeleteTenant(ctx, id))
	} else {
		errs = append(errs, s.Store.SetStatus(ctx, id, StatusDeleted))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("undo: %w", err)
	}
	return nil
}

// Tenant returns the tenant with id; ErrNotFound if there is none.
func (s *Service) Tenant(ctx context.Context, id string) (Tenant, error) {
	return s.Store.Tenant(ctx, id)
}

// Keys returns a tenant's keys, revoked and expired ones included.
func (s *Service) Keys(ctx context.Context, tenantID string) ([]APIKey, error) {
	return s.Store.Keys(ctx, tenantID)
}

// Bounds of API key times.
const (
	// MaxKeyLifetimeYears bounds how far away a key's expiry may be.
	MaxKeyLifetimeYears = 10
	// MaxRotationGrace bounds how long a rotated key keeps working.
	MaxRotationGrace = 30 * 24 * time.Hour
)

// CreateKey makes a live key for a tenant. Scopes must be read, write or
// admin (ErrInvalidScope); the name at most 100 printable characters
// (ErrInvalidKeyName); expiresAt, if set, in the future and at most
// MaxKeyLifetimeYears away (ErrInvalidExpiry).
// ErrNotFound if there is no such tenant.
func (s *Service) CreateKey(ctx context.Context, tenantID, name string, scopes []string, expiresAt *time.Time) (plaintext string, k APIKey, err error) {
	now := s.now()
	k = APIKey{ID: newID(), TenantID: tenantID, CreatedAt: now}
	if k.Scopes, err = checkScopes(scopes); err != nil {
		return "", APIKey{}, err
	}
	if k.Name, err = checkKeyName(name); err != nil {
		return "", APIKey{}, err
	}
	if expiresAt != nil {
		if !expiresAt.After(now) {
			return "", APIKey{}, fmt.Errorf("%w: %s is not in the future", ErrInvalidExpiry, expiresAt.Format(time.RFC3339))
		}
		if expiresAt.After(now.AddDate(MaxKeyLifetimeYears, 0, 0)) {
			return "", APIKey{}, fmt.Errorf("%w: %s is more than %d years away", ErrInvalidExpiry, expiresAt.Format(time.RFC3339), MaxKeyLifetimeYears)
		}
		at := expiresAt.UTC().Truncate(time.Microsecond)
		k.ExpiresAt = &at
	}
	if _, err := s.Store.Tenant(ctx, tenantID); err != nil {
		return "", APIKey{}, err
	}
	if plaintext, err = NewKey(true); err != nil {
		return "", APIKey{}, err
	}
	k.Prefix, k.Hash = KeyPrefix(plaintext), s.Hasher.Hash(plaintext)
	if err := s.Store.CreateKey(ctx, k); err != nil {
		return "", APIKey{}, err
	}
	return plaintext, k, nil
}

// checkScopes returns scopes without duplicates, in the order read,
// write, admin; ErrInvalidScope if one is unknown or there is none.
func checkScopes(scopes []string) ([]string, error) {
	if len(scopes) == 0 {
		return nil, fmt.Errorf("%w: a key needs at least one scope", ErrInvalidScope)
	}
	var have [4]bool // by scopeRank
	for _, sc := range scopes {
		r := scopeRank(sc)
		if r == 0 {
			return nil, fmt.Errorf("%w: %q is not read, write or admin", ErrInvalidScope, sc)
		}
		have[r] = true
	}
	var out []string
	for _, sc := range []string{ScopeRead, ScopeWrite, ScopeAdmin} {
		if have[scopeRank(sc)] {
			out = append(out, sc)
		}
	}
	return out, nil
}

// checkKeyName returns name trimmed if it has at most 100 characters and
// none of them is a control character, else ErrInvalidKeyName.
func checkKeyName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > maxKeyNameLen || strings.ContainsFunc(name, unicode.IsControl) {
		return "", fmt.Errorf("%w: use at most %d printable characters", ErrInvalidKeyName, maxKeyNameLen)
	}
	return name, nil
}

// RotateKey replaces a tenant's key with a new one of the same name,
// scopes and expiry. The old key keeps working for grace (a negative grace
// counts as 0; more than MaxRotationGrace is ErrInvalidGrace), or until it
// expires if that is sooner. ErrNotFound if the
// tenant has no such key; ErrKeyRevoked or ErrKeyExpired if it is no
// longer active.
func (s *Service) RotateKey(ctx context.Context, tenantID, keyID string, grace time.Duration) (plaintext string, k APIKey, err error) {
	if grace > MaxRotationGrace {
		return "", APIKey{}, fmt.Errorf("%w: %s is longer than %s", ErrInvalidGrace, grace, MaxRotationGrace)
	}
	old, err := s.key(ctx, tenantID, keyID)
	if err != nil {
		return "", APIKey{}, err
	}
	now := s.now()
	switch {
	case old.RevokedAt != nil:
		return "", APIKey{}, fmt.Errorf("rotate key %s: %w", keyID, ErrKeyRevoked)
	case !old.Active(now):
		return "", APIKey{}, fmt.Errorf("rotate key %s: %w", keyID, ErrKeyExpired)
	}
	plaintext, k, err = s.CreateKey(ctx, tenantID, old.Name, old.Scopes, old.ExpiresAt)
	if err != nil {
		return "", APIKey{}, fmt.Errorf("rotate key %s: %w", keyID, err)
	}
	if err := s.Store.ExpireKey(ctx, tenantID, keyID, now.Add(max(grace, 0))); err != nil {
		undo, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTimeout)
		defer cancel()
		return "", APIKey{}, fmt.Errorf("rotate key %s: %w", keyID, errors.Join(err, s.Store.RevokeKey(undo, tenantID, k.ID, now)))
	}
	return plaintext, k, nil
}

// key returns the key keyID of a tenant; ErrNotFound if it has none.
func (s *Service) key(ctx context.Context, tenantID, keyID string) (APIKey, error) {
	keys, err := s.Store.Keys(ctx, tenantID)
	if err != nil {
		return APIKey{}, err
	}
	for _, k := range keys {
		if k.ID == keyID {
			return k, nil
		}
	}
	return APIKey{}, fmt.Errorf("key %s of tenant %s: %w", keyID, tenantID, ErrNotFound)
}

// RevokeKey revokes a tenant's key now; revoking it again changes nothing.
// ErrNotFound if the tenant has no such key. An Authenticator may accept
// the key until its cache entry expires or is forgotten.
func (s *Service) RevokeKey(ctx context.Context, tenantID, keyID string) error {
	return s.Store.RevokeKey(ctx, tenantID, keyID, s.now())
}

// DeletionGrace is how long a deleted tenant's data is kept before it is
// purged.
const DeletionGrace = 30 * 24 * time.Hour

// DeleteTenant revokes all of a tenant's keys and marks it deleted; its
// data is purged after DeletionGrace. It returns when that will be.
// ErrNotFound if there is no such tenant.
func (s *Service) DeleteTenant(ctx context.Context, id string) (time.Time, error) {
	keys, err := s.Store.Keys(ctx, id)
	if err != nil {
		return time.Time{}, err
	}
	now := s.now()
	for _, k := range keys {
		if k.RevokedAt == nil {
			if err := s.Store.RevokeKey(ctx, id, k.ID, now); err != nil {
				return time.Time{}, fmt.Errorf("revoke key %s: %w", k.ID, err)
			}
		}
	}
	if err := s.Store.SetStatus(ctx, id, StatusDeleted); err != nil {
		return time.Time{}, err
	}
	return now.Add(DeletionGrace), nil
}
