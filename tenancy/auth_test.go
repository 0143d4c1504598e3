package tenancy

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingStore counts lookups and can fail TouchKeys.
type countingStore struct {
	Store
	lookups   atomic.Int64
	touches   atomic.Int64
	failTouch atomic.Bool
}

func (c *countingStore) KeyByHash(ctx context.Context, hash []byte) (APIKey, error) {
	c.lookups.Add(1)
	return c.Store.KeyByHash(ctx, hash)
}

func (c *countingStore) TouchKeys(ctx context.Context, lastUsed map[string]time.Time) error {
	c.touches.Add(1)
	if c.failTouch.Load() {
		return errors.New("database down")
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
