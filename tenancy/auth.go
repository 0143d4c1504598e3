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
	MaxStale    time.Duration    // how long past its TTL a found key serves while the store fails (default 1h)
	Now         func() time.Time // default time.Now
}

// flushInterval is how often Run writes last-used times.
const flushInterval = 10 * time.Second

// finalFlushTimeout bounds the flush Run makes when it stops.
const finalFlushTimeout = 5 * time.Second

// staleRetry is how long a stale entry is served after a failed reload
// before the store is tried again, so that requests do not all wait on a
// store that is down.
const staleRetry = 5 * time.Second

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
// A found entry past expires still serves, until staleUntil, when the
// store fails to reload it.
type authEntry struct {
	key        APIKey
	tenant     Tenant
	found      bool
	expires    time.Time
	staleUntil time.Time
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
	if opts.MaxStale <= 0 {
		opts.MaxStale = time.Hour
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
// time of use is kept in memory until Flush. While the store fails, a
// key found before keeps working for MaxStale past its cache TTL.
func (a *Authenticator) Authenticate(ctx context.Context, plaintext string) (APIKey, Tenant, error) {
	if err := CheckKey(plaintext); err != nil {
		return APIKey{}, Tenant{}, err
	}
	return a.AuthenticateHash(ctx, a.hasher.Hash(plaintext))
}

// AuthenticateHash is Authenticate for the key whose hash is hash (a
// console session keeps the hash of the key that opened it), with the
// same cache and the same rules.
func (a *Authenticator) AuthenticateHash(ctx context.Context, hash []byte) (APIKey, Tenant, error) {
	now := a.opts.Now()
	e, err := a.lookup(ctx, hash, now)
	if err != nil {
		return APIKey{}, Tenant{}, err
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

// lookup returns the entry of hash: the cached one until it expires,
// then the store's. When the store fails (other than ErrNotFound), a
// found entry serves on until its staleUntil.
func (a *Authenticator) lookup(ctx context.Context, hash []byte, now time.Time) (authEntry, error) {
	old, ok := a.cached(hash)
	if ok && now.Before(old.expires) {
		return old, nil
	}
	e, err := a.load(ctx, hash)
	switch {
	case err == nil:
		a.remember(hash, e, now)
		return e, nil
	case ok && old.found && now.Before(old.staleUntil) && !errors.Is(err, ErrNotFound):
		a.retryLater(hash, old, now)
		return old, nil
	case ok && errors.Is(err, ErrNotFound):
		a.drop(hash) // its tenant is gone: never serve it stale
	}
	return authEntry{}, err
}

// cached returns the cache entry of hash, expired or not.
func (a *Authenticator) cached(hash []byte) (authEntry, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.entries[string(hash)]
	return e, ok
}

// retryLater serves the stale entry e of hash without asking the store
// for staleRetry more (at most until its staleUntil), unless the entry
// was replaced or forgotten meanwhile.
func (a *Authenticator) retryLater(hash []byte, e authEntry, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if cur, ok := a.entries[string(hash)]; ok && cur.expires.Equal(e.expires) && cur.staleUntil.Equal(e.staleUntil) {
		cur.expires = minTime(now.Add(staleRetry), cur.staleUntil)
		a.entries[string(hash)] = cur
	}
}

// drop removes the cache entry of hash.
func (a *Authenticator) drop(hash []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.entries, string(hash))
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

// remember caches e, just loaded, under hash.
func (a *Authenticator) remember(hash []byte, e authEntry, now time.Time) {
	e.expires = now.Add(a.opts.NegativeTTL)
	e.staleUntil = e.expires
	if e.found {
		e.expires = now.Add(a.opts.PositiveTTL)
		e.staleUntil = e.expires.Add(a.opts.MaxStale)
	}
	a.put(hash, e)
}

// put caches e under hash; when the cache is full, it first drops an
// arbitrary entry.
func (a *Authenticator) put(hash []byte, e authEntry) {
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

// ForgetAll drops every cached key, so that changes made elsewhere (by
// the operator CLI) take effect at the next request.
func (a *Authenticator) ForgetAll() {
	a.mu.Lock()
	defer a.mu.Unlock()
	clear(a.entries)
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

// sweep drops the cache entries that can no longer serve at now, not
// even stale.
func (a *Authenticator) sweep(now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for h, e := range a.entries {
		if !now.Before(e.staleUntil) { // never before expires

			delete(a.entries, h)
		}
	}
}

// minTime returns the earlier of a and b.
func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
