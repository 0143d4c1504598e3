package tenancy

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// errDown is the error of a store that cannot be reached.
var errDown = errors.New("database down")

// countingStore counts lookups and can fail TouchKeys, or all lookups
// (down), or find no tenants (tenantsGone).
type countingStore struct {
	Store
	lookups     atomic.Int64
	touches     atomic.Int64
	failTouch   atomic.Bool
	down        atomic.Bool
	tenantsGone atomic.Bool
	duringTouch func() // called in each TouchKeys, if set
}

func (c *countingStore) KeyByHash(ctx context.Context, hash []byte) (APIKey, error) {
	c.lookups.Add(1)
	if c.down.Load() {
		return APIKey{}, errDown
	}
	return c.Store.KeyByHash(ctx, hash)
}

func (c *countingStore) Tenant(ctx context.Context, id string) (Tenant, error) {
	switch {
	case c.down.Load():
		return Tenant{}, errDown
	case c.tenantsGone.Load():
		return Tenant{}, ErrNotFound
	}
	return c.Store.Tenant(ctx, id)
}

func (c *countingStore) TouchKeys(ctx context.Context, lastUsed map[string]time.Time) error {
	c.touches.Add(1)
	if c.duringTouch != nil {
		c.duringTouch()
	}
	if c.failTouch.Load() {
		return errDown
	}
	return c.Store.TouchKeys(ctx, lastUsed)
}

// authFixture is a service with one signed-up tenant and an
// Authenticator on the same store.
type authFixture struct {
	svc   *Service
	store *countingStore
	clock *testClock
	auth  *Authenticator
	res   SignupResult
}

func newAuthFixture(t *testing.T, opts AuthOptions) *authFixture {
	t.Helper()
	svc, _, clock := newTestService(t)
	res, err := svc.Signup(context.Background(), "ada@example.com", "Acme")
	if err != nil {
		t.Fatal(err)
	}
	store := &countingStore{Store: svc.Store}
	opts.Now = clock.Now
	return &authFixture{svc: svc, store: store, clock: clock, res: res,
		auth: NewAuthenticator(store, svc.Hasher, opts)}
}

// check authenticates key and compares the error and the lookups so far.
func (f *authFixture) check(t *testing.T, step, key string, want error, lookups int64) {
	t.Helper()
	k, tn, err := f.auth.Authenticate(context.Background(), key)
	if !errors.Is(err, want) {
		t.Fatalf("%s: Authenticate = %v, want %v", step, err, want)
	}
	if err == nil && (k.TenantID != f.res.Tenant.ID || tn.ID != f.res.Tenant.ID) {
		t.Fatalf("%s: key of tenant %s, tenant %s; want %s", step, k.TenantID, tn.ID, f.res.Tenant.ID)
	}
	if n := f.store.lookups.Load(); n != lookups {
		t.Fatalf("%s: %d lookups, want %d", step, n, lookups)
	}
}

func TestAuthenticate(t *testing.T) {
	f := newAuthFixture(t, AuthOptions{})
	key := f.res.APIKey
	unknown, err := NewKey(true)
	if err != nil {
		t.Fatal(err)
	}
	f.check(t, "malformed", key[:47]+"!", ErrMalformedKey, 0)
	f.check(t, "first use", key, nil, 1)
	f.check(t, "cached", key, nil, 1)
	f.check(t, "unknown", unknown, ErrInvalidKey, 2)
	f.check(t, "unknown, cached", unknown, ErrInvalidKey, 2)
	f.clock.Add(10 * time.Second)
	f.check(t, "unknown after the negative TTL", unknown, ErrInvalidKey, 3)
	f.check(t, "known within the positive TTL", key, nil, 3)
	f.clock.Add(20 * time.Second)
	f.check(t, "known after the positive TTL", key, nil, 4)

	k, tn, err := f.auth.Authenticate(context.Background(), key)
	if err != nil || k.ID != f.res.Key.ID || !k.HasScope(ScopeAdmin) || tn != f.res.Tenant {
		t.Errorf("Authenticate = %+v, %+v, %v", k, tn, err)
	}
}

func TestAuthenticateOtherPepper(t *testing.T) {
	f := newAuthFixture(t, AuthOptions{})
	a := NewAuthenticator(f.store, Hasher{Pepper: []byte("other")}, AuthOptions{})
	if _, _, err := a.Authenticate(context.Background(), f.res.APIKey); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("Authenticate with another pepper = %v, want ErrInvalidKey", err)
	}
}

func TestAuthenticateRevoked(t *testing.T) {
	ctx := context.Background()
	t.Run("Forget", func(t *testing.T) {
		f := newAuthFixture(t, AuthOptions{})
		f.check(t, "before", f.res.APIKey, nil, 1)
		if err := f.svc.RevokeKey(ctx, f.res.Tenant.ID, f.res.Key.ID); err != nil {
			t.Fatal(err)
		}
		f.check(t, "revoked, still cached", f.res.APIKey, nil, 1)
		f.auth.Forget(NewTenantID())
		f.check(t, "another tenant forgotten", f.res.APIKey, nil, 1)
		f.auth.Forget(f.res.Tenant.ID)
		f.check(t, "forgotten", f.res.APIKey, ErrKeyRevoked, 2)
		f.check(t, "revoked, cached", f.res.APIKey, ErrKeyRevoked, 2)
	})
	t.Run("TTL", func(t *testing.T) {
		f := newAuthFixture(t, AuthOptions{PositiveTTL: time.Minute})
		f.check(t, "before", f.res.APIKey, nil, 1)
		if err := f.svc.RevokeKey(ctx, f.res.Tenant.ID, f.res.Key.ID); err != nil {
			t.Fatal(err)
		}
		f.clock.Add(59 * time.Second)
		f.check(t, "within the TTL", f.res.APIKey, nil, 1)
		f.clock.Add(time.Second)
		f.check(t, "after the TTL", f.res.APIKey, ErrKeyRevoked, 2)
	})
}

func TestAuthenticateExpired(t *testing.T) {
	f := newAuthFixture(t, AuthOptions{PositiveTTL: time.Hour})
	plain, _, err := f.svc.CreateKey(context.Background(), f.res.Tenant.ID, "ci", []string{"read"}, ptr(f.clock.Now().Add(time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	f.check(t, "before expiry", plain, nil, 1)
	f.clock.Add(time.Minute)
	f.check(t, "expired while cached", plain, ErrKeyExpired, 1)
}

func TestFlush(t *testing.T) {
	ctx := context.Background()
	f := newAuthFixture(t, AuthOptions{})
	if err := f.auth.Flush(ctx); err != nil || f.store.touches.Load() != 0 {
		t.Fatalf("Flush with nothing pending = %v after %d TouchKeys calls, want none", err, f.store.touches.Load())
	}
	f.check(t, "use", f.res.APIKey, nil, 1)
	used := f.clock.Now()
	f.clock.Add(time.Second)

	f.store.failTouch.Store(true)
	if err := f.auth.Flush(ctx); err == nil {
		t.Fatal("Flush hid a TouchKeys error")
	}
	f.store.failTouch.Store(false)
	if err := f.auth.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := f.store.touches.Load(); n != 2 {
		t.Errorf("%d TouchKeys calls, want 2", n)
	}
	k, err := f.svc.Store.KeyByHash(ctx, f.res.Key.Hash)
	if err != nil || k.LastUsedAt == nil || !k.LastUsedAt.Equal(used) {
		t.Errorf("last used %v (%v), want %v", k.LastUsedAt, err, used)
	}
	if err := f.auth.Flush(ctx); err != nil || f.store.touches.Load() != 2 {
		t.Errorf("a second Flush wrote again (%v)", err)
	}
}

func TestRunFlushesWhenDone(t *testing.T) {
	f := newAuthFixture(t, AuthOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		f.auth.Run(ctx)
		close(done)
	}()
	f.check(t, "use", f.res.APIKey, nil, 1)
	cancel()
	<-done
	k, err := f.svc.Store.KeyByHash(context.Background(), f.res.Key.Hash)
	if err != nil || k.LastUsedAt == nil || !k.LastUsedAt.Equal(f.clock.Now()) {
		t.Errorf("last used %v (%v), want %v", k.LastUsedAt, err, f.clock.Now())
	}
}

func TestCacheBounds(t *testing.T) {
	f := newAuthFixture(t, AuthOptions{MaxEntries: 2})
	for i := range 5 {
		k, err := NewKey(true)
		if err != nil {
			t.Fatal(err)
		}
		f.check(t, "unknown", k, ErrInvalidKey, int64(i+1))
	}
	if n := len(f.auth.entries); n != 2 {
		t.Errorf("%d cache entries, want MaxEntries 2", n)
	}
	f.clock.Add(10 * time.Second)
	f.auth.sweep(f.clock.Now())
	if n := len(f.auth.entries); n != 0 {
		t.Errorf("%d cache entries after they expired and a sweep, want 0", n)
	}
}

// TestAuthenticateConcurrent is for the race detector.
func TestAuthenticateConcurrent(t *testing.T) {
	f := newAuthFixture(t, AuthOptions{})
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				if _, _, err := f.auth.Authenticate(ctx, f.res.APIKey); err != nil {
					t.Error(err)
					return
				}
				switch {
				case i == 0 && j%10 == 0:
					if err := f.auth.Flush(ctx); err != nil {
						t.Error(err)
					}
				case i == 1 && j%10 == 0:
					f.auth.Forget(f.res.Tenant.ID)
				}
			}
		})
	}
	wg.Wait()
}

func TestAuthenticateStaleIfError(t *testing.T) {
	f := newAuthFixture(t, AuthOptions{PositiveTTL: time.Minute, MaxStale: 10 * time.Minute})
	key := f.res.APIKey
	unknown, err := NewKey(true)
	if err != nil {
		t.Fatal(err)
	}
	f.check(t, "first use", key, nil, 1)
	f.store.down.Store(true)
	f.check(t, "down, cached", key, nil, 1)
	f.clock.Add(time.Minute)
	f.auth.sweep(f.clock.Now()) // keeps what may serve stale
	f.check(t, "down, expired: stale", key, nil, 2)
	f.clock.Add(staleRetry - time.Second)
	f.check(t, "down, stale, before the retry", key, nil, 2)
	f.clock.Add(time.Second)
	f.check(t, "down, stale, retried", key, nil, 3)
	f.check(t, "down, unknown key", unknown, errDown, 4)

	f.clock.Add(10*time.Minute - staleRetry - time.Second) // a second before the stale limit
	f.check(t, "down, stale, at the limit", key, nil, 5)
	f.clock.Add(time.Second)
	f.check(t, "down, past the stale limit", key, errDown, 6)
	f.auth.sweep(f.clock.Now())
	if n := len(f.auth.entries); n != 0 {
		t.Errorf("%d cache entries after the stale limit and a sweep, want 0", n)
	}

	f.store.down.Store(false)
	f.check(t, "up again", key, nil, 7)
	// The stale limit counts from the last successful load.
	f.store.down.Store(true)
	f.clock.Add(5 * time.Minute)
	f.check(t, "down again: stale", key, nil, 8)
}

func TestAuthenticateStaleDefault(t *testing.T) {
	a := NewAuthenticator(nil, Hasher{}, AuthOptions{})
	if a.opts.MaxStale != time.Hour {
		t.Errorf("default MaxStale = %v, want 1h", a.opts.MaxStale)
	}
}

func TestAuthenticateStaleLimits(t *testing.T) {
	ctx := context.Background()
	t.Run("revoked", func(t *testing.T) {
		f := newAuthFixture(t, AuthOptions{})
		f.check(t, "before", f.res.APIKey, nil, 1)
		if err := f.svc.RevokeKey(ctx, f.res.Tenant.ID, f.res.Key.ID); err != nil {
			t.Fatal(err)
		}
		f.clock.Add(30 * time.Second)
		f.check(t, "reloaded revoked", f.res.APIKey, ErrKeyRevoked, 2)
		f.store.down.Store(true)
		f.clock.Add(30 * time.Second)
		f.check(t, "down, stale revoked", f.res.APIKey, ErrKeyRevoked, 3)
	})
	t.Run("expired key", func(t *testing.T) {
		f := newAuthFixture(t, AuthOptions{})
		plain, _, err := f.svc.CreateKey(ctx, f.res.Tenant.ID, "ci", []string{"read"}, ptr(f.clock.Now().Add(time.Minute)))
		if err != nil {
			t.Fatal(err)
		}
		f.check(t, "before expiry", plain, nil, 1)
		f.store.down.Store(true)
		f.clock.Add(40 * time.Second)
		f.check(t, "down, stale", plain, nil, 2)
		f.clock.Add(20 * time.Second)
		f.check(t, "down, stale past the key's expiry", plain, ErrKeyExpired, 3)
	})
	t.Run("forgotten", func(t *testing.T) {
		f := newAuthFixture(t, AuthOptions{})
		f.check(t, "before", f.res.APIKey, nil, 1)
		f.store.down.Store(true)
		f.auth.Forget(f.res.Tenant.ID)
		f.check(t, "down, forgotten", f.res.APIKey, errDown, 2)
	})
	t.Run("unknown", func(t *testing.T) {
		f := newAuthFixture(t, AuthOptions{})
		unknown, err := NewKey(true)
		if err != nil {
			t.Fatal(err)
		}
		f.check(t, "unknown", unknown, ErrInvalidKey, 1)
		f.store.down.Store(true)
		f.clock.Add(10 * time.Second)
		f.check(t, "down, negative entry expired", unknown, errDown, 2)
	})
	t.Run("tenant gone", func(t *testing.T) {
		f := newAuthFixture(t, AuthOptions{})
		f.check(t, "before", f.res.APIKey, nil, 1)
		f.store.tenantsGone.Store(true)
		f.clock.Add(30 * time.Second)
		f.check(t, "tenant not found", f.res.APIKey, ErrNotFound, 2)
		f.store.down.Store(true)
		f.check(t, "down after not found", f.res.APIKey, errDown, 3)
	})
}

// TestFlushKeepsNewerUse checks that times a failed flush puts back do
// not override uses made meanwhile, and that both reach the store later.
func TestFlushKeepsNewerUse(t *testing.T) {
	ctx := context.Background()
	f := newAuthFixture(t, AuthOptions{})
	second, _, err := f.svc.CreateKey(ctx, f.res.Tenant.ID, "ci", []string{"read"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.check(t, "use", f.res.APIKey, nil, 1)
	f.check(t, "use second", second, nil, 2)
	secondUsed := f.clock.Now()
	f.clock.Add(time.Second)
	var newer time.Time
	f.store.duringTouch = func() {
		f.store.duringTouch = nil
		f.clock.Add(time.Second)
		newer = f.clock.Now()
		f.check(t, "use during the flush", f.res.APIKey, nil, 2)
	}
	f.store.failTouch.Store(true)
	if err := f.auth.Flush(ctx); !errors.Is(err, errDown) {
		t.Fatalf("failed Flush = %v, want the store's error", err)
	}
	f.store.failTouch.Store(false)
	if err := f.auth.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	keys, err := f.svc.Store.Keys(ctx, f.res.Tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Time{f.res.Key.ID: newer}
	for _, k := range keys {
		if k.ID != f.res.Key.ID {
			want[k.ID] = secondUsed
		}
	}
	for _, k := range keys {
		if k.LastUsedAt == nil || !k.LastUsedAt.Equal(want[k.ID]) {
			t.Errorf("key %s last used %v, want %v", k.ID, k.LastUsedAt, want[k.ID])
		}
	}
}
