package tenancy

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"sync"
	"time"
)

// AuthOptions configure an Authenticator; zero values take the defaults.
type AuthOptions struct {
	PositiveTTL time.Duration    // how long a found key is cached (default 30s)
	NegativeTTL time.Duration    // how long an unknown key is cached (default 10s)
	MaxEntries  int              // cached keys at most (default 100000)
	Now         func() time.Time // default time.Now
}

// flushInterval is how often Run writes last-used times.
const flushInterval = 10 * time.Second

// finalFlushTimeout bounds the flush Run makes when it stops.
const finalFlushTimeout = 5 * time.Second

// Authenticator checks API keys against a Store, caching what it finds
// (and what it does not) for a while. It is safe for concurrent use.
type Authenticator struct {
	store  Store
	hasher Hasher
	opts   AuthOptions

	mu      sync.Mutex
	entries map[string]authEntry // by key hash
	used    map[string]time.Time // key id to last use, not yet written
}

// authEntry is a cached lookup: the key and its tenant, or found false.
type authEntry struct {
	key     APIKey
	tenant  Tenant
	found   bool
	expires time.Time
}

// NewAuthenticator returns an Authenticator of the keys in store, hashed by h.
func NewAuthenticator(store Store, h Hasher, opts AuthOptions) *Authenticator {
	if opts.PositiveTTL <= 0 {
		opts.PositiveTTL = 30 * time.Second
	}
	if opts.NegativeTTL <= 0 {
		opts.NegativeTTL = 10 * time.Second
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = 100000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Authenticator{store: store, hasher: h, opts: opts,
		entries: make(map[string]authEntry), used: make(map[string]time.Time)}
}

// Authenticate returns the key plaintext and its tenant. It checks the
// key's format first (ErrMalformedKey, without a lookup), then the cache,
// then the store. It fails with ErrInvalidKey for an unknown key,
// ErrKeyRevoked or ErrKeyExpired. The tenant may be of any status. The
// time of use is kept in memory until Flush.
func (a *Authenticator) Authenticate(ctx context.Context, plaintext string) (APIKey, Tenant, error) {
	if err := CheckKey(plaintext); err != nil {
		return APIKey{}, Tenant{}, err
	}
	hash := a.hasher.Hash(plaintext)
	now := a.opts.Now()
	e, ok := a.cached(hash, now)
	if !ok {
		var err error
		if e, err = a.load(ctx, hash); err != nil {
			return APIKey{}, Tenant{}, err
		}
		a.remember(hash, e, now)
	}
	switch {
	case !e.found:
		return APIKey{}, Tenant{}, ErrInvalidKey
	case e.key.RevokedAt != nil:
		return APIKey{}, Tenant{}, ErrKeyRevoked
	case !e.key.Active(now):
		return APIKey{}, Tenant{}, ErrKeyExpired
	}
	a.mu.Lock()
	a.used[e.key.ID] = now
	a.mu.Unlock()
	return e.key, e.tenant, nil
}

// cached returns the unexpired cache entry of hash.
func (a *Authenticator) cached(hash []byte, now time.Time) (authEntry, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.entries[string(hash)]
	return e, ok && now.Before(e.expires)
}

// load looks hash up in the store; an unknown key is found false.
func (a *Authenticator) load(ctx context.Context, hash []byte) (authEntry, error) {
	k, err := a.store.KeyByHash(ctx, hash)
	if errors.Is(err, ErrNotFound) {
		return authEntry{}, nil
	}
	if err != nil {
		return authEntry{}, fmt.Errorf("authenticate: %w", err)
	}
	if subtle.ConstantTimeCompare(k.Hash, hash) != 1 {
		return authEntry{}, nil
	}
	t, err := a.store.Tenant(ctx, k.TenantID)
	if err != nil {
		return authEntry{}, fmt.Errorf("authenticate: key %s: %w", k.ID, err)
	}
	return authEntry{key: k, tenant: t, found: true}, nil
}

// remember caches e under hash; when the cache is full, it first drops
// an arbitrary entry.
func (a *Authenticator) remember(hash []byte, e authEntry, now time.Time) {
	ttl := a.opts.NegativeTTL
	if e.found {
		ttl = a.opts.PositiveTTL
	}
	e.expires = now.Add(ttl)
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.entries[string(hash)]; !ok && len(a.entries) >= a.opts.MaxEntries {
		for h := range a.entries {
			delete(a.entries, h)
			break
		}
	}
	a.entries[string(hash)] = e
}

// Forget drops the cached keys of a tenant, so that a revocation or a
// change of tier takes effect at the next request.
func (a *Authenticator) Forget(tenantID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for h, e := range a.entries {
		if e.found && e.key.TenantID == tenantID {
			delete(a.entries, h)
		}
	}
}

// Flush writes the pending last-used times in one TouchKeys call. On
// failure they stay pending for the next Flush.
func (a *Authenticator) Flush(ctx context.Context) error {
	a.mu.Lock()
	used := a.used
	a.used = make(map[string]time.Time)
	a.mu.Unlock()
	if len(used) == 0 {
		return nil
	}
	err := a.store.TouchKeys(ctx, used)
	if err == nil {
		return nil
	}
	a.mu.Lock()
	for id, t := range used {
		if cur, ok := a.used[id]; !ok || t.After(cur) {
			a.used[id] = t
		}
	}
	a.mu.Unlock()
	return fmt.Errorf("flush key use: %w", err)
}

// Run flushes every 10 s, and drops expired cache entries, until ctx is
// done; then it flushes a last time. A failed flush is retried at the next.
func (a *Authenticator) Run(ctx context.Context) {
	tick := time.NewTicker(flushInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalFlushTimeout)
			defer cancel()
			a.Flush(ctx)
			return
		case <-tick.C:
			a.sweep(a.opts.Now())
			a.Flush(ctx)
		}
	}
}

// sweep drops the cache entries expired at now.
func (a *Authenticator) sweep(now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for h, e := range a.entries {
		if !now.Before(e.expires) {
			delete(a.entries, h)
		}
	}
}
