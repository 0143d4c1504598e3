package tenancy

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeStorage records the storage it is asked to make and remove.
type fakeStorage struct {
	mu      sync.Mutex
	created map[string]bool
	fail    error // returned by Create when set
}

func (f *fakeStorage) Create(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	f.created[id] = true
	return nil
}

func (f *fakeStorage) Delete(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.created, id)
	return nil
}

func (f *fakeStorage) has(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.created[id]
}

// failingKeys is a Store whose CreateKey fails; it hides DeleteTenant.
type failingKeys struct{ Store }

func (failingKeys) CreateKey(context.Context, APIKey) error { return errors.New("disk full") }

func newTestService(t *testing.T) (*Service, *fakeStorage, *testClock) {
	t.Helper()
	clock := newTestClock()
	storage := &fakeStorage{created: make(map[string]bool)}
	s := &Service{Store: openTestStore(t, "", t.TempDir()), Storage: storage,
		Hasher: Hasher{Pepper: []byte("pepper")}, Tiers: DefaultTiers(), Now: clock.Now}
	return s, storage, clock
}

func TestSignup(t *testing.T) {
	s, storage, clock := newTestService(t)
	ctx := context.Background()
	res, err := s.Signup(ctx, " ada@example.com ", "  Acme Corp ")
	if err != nil {
		t.Fatal(err)
	}
	tn := res.Tenant
	if tn.Slug != "acme-corp" || tn.Name != "Acme Corp" || tn.Email != "ada@example.com" || tn.Tier != "free" ||
		tn.Status != StatusActive || !tn.CreatedAt.Equal(clock.Now()) {
		t.Errorf("tenant %+v", tn)
	}
	if stored, err := s.Store.Tenant(ctx, tn.ID); err != nil || stored != tn {
		t.Errorf("stored tenant %+v, %v; want %+v", stored, err, tn)
	}
	if !storage.has(tn.ID) {
		t.Error("no storage was created")
	}
	k := res.Key
	if err := CheckKey(res.APIKey); err != nil || !strings.HasPrefix(res.APIKey, "clc_live_") {
		t.Errorf("key %q: %v", KeyPrefix(res.APIKey), err)
	}
	if k.TenantID != tn.ID || k.Name != "default" || !slices.Equal(k.Scopes, []string{"read", "write", "admin"}) ||
		k.Prefix != KeyPrefix(res.APIKey) || k.ExpiresAt != nil {
		t.Errorf("key record %+v", k)
	}
	stored, err := s.Store.KeyByHash(ctx, s.Hasher.Hash(res.APIKey))
	if err != nil || stored.ID != k.ID {
		t.Errorf("the key is not stored under its peppered hash: %+v, %v", stored, err)
	}
}

func TestSignupSlugCollisions(t *testing.T) {
	s, _, _ := newTestService(t)
	ctx := context.Background()
	for i, want := range []string{"acme", "acme-2", "acme-3"} {
		res, err := s.Signup(ctx, "a"+strconv.Itoa(i)+"@example.com", "ACME")
		if err != nil || res.Tenant.Slug != want {
			t.Fatalf("signup %d: slug %q, %v; want %q", i+1, res.Tenant.Slug, err, want)
		}
	}
	for n := 4; n <= maxSlugTries; n++ {
		mustTenant(t, s.Store, "acme-"+strconv.Itoa(n), t0)
	}
	if _, err := s.Signup(ctx, "late@example.com", "Acme"); !errors.Is(err, ErrSlugTaken) {
		t.Errorf("signup with every variant taken = %v, want ErrSlugTaken", err)
	}
}

func TestSlugVariant(t *testing.T) {
	long := strings.Repeat("a", 38) + "-b"
	tests := []struct {
		base string
		n    int
		want string
	}{
		{"acme", 1, "acme"},
		{"acme", 2, "acme-2"},
		{"acme", 20, "acme-20"},
		{long, 1, long},
		{long, 2, strings.Repeat("a", 38) + "-2"},
		{long, 10, strings.Repeat("a", 37) + "-10"},
	}
	for _, tt := range tests {
		got := slugVariant(tt.base, tt.n)
		if got != tt.want || ValidateSlug(got) != nil {
			t.Errorf("slugVariant(%q, %d) = %q (%v), want %q", tt.base, tt.n, got, ValidateSlug(got), tt.want)
		}
	}
}

func TestSignupRefuses(t *testing.T) {
	s, storage, _ := newTestService(t)
	tests := []struct {
		email, company string
		want           error
	}{
		{"ada@example.com", "Admin", ErrReservedSlug},
		{"ada@example.com", "WWW", ErrReservedSlug},
		{"ada@example.com", "Status!", ErrReservedSlug},
		{"ada@example.com", "X", ErrInvalidSlug},
		{"ada@example.com", "!!!", ErrInvalidSlug},
		{"ada@example.com", "", ErrInvalidSlug},
		{"ada@example.com", strings.Repeat("a", 201), ErrInvalidCompany},
		{"ada@example.com", "Acme\nInc", ErrInvalidCompany},
		{"ada@example.com", "Acme\x00", ErrInvalidCompany},
		{"ada@example.com", "Acme\u0085Inc", ErrInvalidCompany},
		{"ada@example.com", "Acme\xffInc", ErrInvalidCompany},
		{"ada@example.com", "3F2504E0-4F89-41D3-9A0C-0305E82C3301", ErrInvalidSlug},
		{"", "Acme", ErrInvalidEmail},
		{"not-an-email", "Acme", ErrInvalidEmail},
		{"ada@", "Acme", ErrInvalidEmail},
		{"Ada <ada@example.com>", "Acme", ErrInvalidEmail},
		{"<ada@example.com>", "Acme", ErrInvalidEmail},
		{"ada@example.com, bob@example.com", "Acme", ErrInvalidEmail},
		{strings.Repeat("a", 250) + "@example.com", "Acme", ErrInvalidEmail},
	}
	for _, tt := range tests {
		if _, err := s.Signup(context.Background(), tt.email, tt.company); !errors.Is(err, tt.want) {
			t.Errorf("Signup(%q, %q) = %v, want %v", tt.email, tt.company, err, tt.want)
		}
	}
	if ts, _ := s.Store.Tenants(context.Background()); len(ts) != 0 || len(storage.created) != 0 {
		t.Errorf("refused signups left %d tenants, %d storages", len(ts), len(storage.created))
	}
}

func TestSignupUndo(t *testing.T) {
	ctx := context.Background()
	t.Run("storage fails", func(t *testing.T) {
		s, storage, _ := newTestService(t)
		storage.fail = errors.New("disk full")
		if _, err := s.Signup(ctx, "ada@example.com", "Acme"); err == nil {
			t.Fatal("Signup succeeded without storage")
		}
		if ts, err := s.Store.Tenants(ctx); err != nil || len(ts) != 0 {
			t.Fatalf("tenants left behind: %+v, %v", ts, err)
		}
		storage.fail = nil
		res, err := s.Signup(ctx, "ada@example.com", "Acme")
		if err != nil || res.Tenant.Slug != "acme" {
			t.Errorf("retry: slug %q, %v; want acme", res.Tenant.Slug, err)
		}
	})
	t.Run("key fails", func(t *testing.T) {
		s, storage, _ := newTestService(t)
		store := s.Store
		s.Store = failingKeys{store}
		if _, err := s.Signup(ctx, "ada@example.com", "Acme"); err == nil {
			t.Fatal("Signup succeeded without a key")
		}
		tn, err := store.TenantBySlug(ctx, "acme")
		if err != nil || tn.Status != StatusDeleted {
			t.Errorf("tenant after a failed signup: %+v, %v; want it marked deleted", tn, err)
		}
		if len(storage.created) != 0 {
			t.Errorf("storage left behind: %v", storage.created)
		}
	})
}

func TestCreateKey(t *testing.T) {
	s, _, clock := newTestService(t)
	ctx := context.Background()
	res, err := s.Signup(ctx, "ada@example.com", "Acme")
	if err != nil {
		t.Fatal(err)
	}
	id := res.Tenant.ID
	later := clock.Now().Add(time.Hour)
	tests := []struct {
		name       string
		tenant     string
		keyName    string
		scopes     []string
		expires    *time.Time
		wantScopes []string
		wantErr    error
	}{
		{"read", id, "ci", []string{"read"}, nil, []string{"read"}, nil},
		{"sorted, deduplicated", id, " ci ", []string{"admin", "read", "admin"}, &later, []string{"read", "admin"}, nil},
		{"no scopes", id, "ci", nil, nil, nil, ErrInvalidScope},
		{"unknown scope", id, "ci", []string{"read", "root"}, nil, nil, ErrInvalidScope},
		{"scope case", id, "ci", []string{"Read"}, nil, nil, ErrInvalidScope},
		{"long name", id, strings.Repeat("é", 101), []string{"read"}, nil, nil, ErrInvalidKeyName},
		{"control character", id, "ci\nprod", []string{"read"}, nil, nil, ErrInvalidKeyName},
		{"invalid UTF-8", id, "ci\xff", []string{"read"}, nil, nil, ErrInvalidKeyName},
		{"expired", id, "ci", []string{"read"}, ptr(clock.Now()), nil, ErrInvalidExpiry},
		{"ten years", id, "ci", []string{"read"}, ptr(clock.Now().AddDate(MaxKeyLifetimeYears, 0, 0)), []string{"read"}, nil},
		{"past ten years", id, "ci", []string{"read"}, ptr(clock.Now().AddDate(MaxKeyLifetimeYears, 0, 0).Add(time.Second)), nil, ErrInvalidExpiry},
		{"year 3000", id, "ci", []string{"read"}, ptr(time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)), nil, ErrInvalidExpiry},
		{"unknown tenant", NewTenantID(), "ci", []string{"read"}, nil, nil, ErrNotFound},
	}
	for _, tt := range tests {
		plain, k, err := s.CreateKey(ctx, tt.tenant, tt.keyName, tt.scopes, tt.expires)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if !slices.Equal(k.Scopes, tt.wantScopes) || k.Name != strings.TrimSpace(tt.keyName) ||
			!equalTimes(k.ExpiresAt, tt.expires) || CheckKey(plain) != nil {
			t.Errorf("%s: key %+v", tt.name, k)
		}
		if stored, err := s.Store.KeyByHash(ctx, s.Hasher.Hash(plain)); err != nil || !equalKeys(stored, k) {
			t.Errorf("%s: stored %+v, %v; want %+v", tt.name, stored, err, k)
		}
	}
}

func TestRotateKey(t *testing.T) {
	s, _, clock := newTestService(t)
	ctx := context.Background()
	res, err := s.Signup(ctx, "ada@example.com", "Acme")
	if err != nil {
		t.Fatal(err)
	}
	id := res.Tenant.ID
	now := clock.Now()
	soon, far := now.Add(10*time.Minute), now.Add(30*24*time.Hour)
	tests := []struct {
		name       string
		expires    *time.Time
		grace      time.Duration
		wantOldExp time.Time
		wantActive bool // the old key, right after rotation
	}{
		{"grace", nil, time.Hour, now.Add(time.Hour), true},
		{"expiry sooner than grace", &soon, time.Hour, soon, true},
		{"expiry later than grace", &far, time.Hour, now.Add(time.Hour), true},
		{"no grace", nil, 0, now, false},
		{"negative grace", nil, -time.Hour, now, false},
	}
	for _, tt := range tests {
		_, old, err := s.CreateKey(ctx, id, "deploy", []string{"write"}, tt.expires)
		if err != nil {
			t.Fatal(err)
		}
		plain, k, err := s.RotateKey(ctx, id, old.ID, tt.grace)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if k.ID == old.ID || string(k.Hash) == string(old.Hash) || k.Name != "deploy" ||
			!slices.Equal(k.Scopes, old.Scopes) || !equalTimes(k.ExpiresAt, tt.expires) || CheckKey(plain) != nil {
			t.Errorf("%s: new key %+v, old %+v", tt.name, k, old)
		}
		got, err := s.Store.KeyByHash(ctx, old.Hash)
		if err != nil || got.ExpiresAt == nil || !got.ExpiresAt.Equal(tt.wantOldExp) || got.Active(now) != tt.wantActive {
			t.Errorf("%s: old key after rotation %+v, %v; want expiry %v", tt.name, got, err, tt.wantOldExp)
		}
	}

	_, long, err := s.CreateKey(ctx, id, "long", []string{"read"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.RotateKey(ctx, id, long.ID, MaxRotationGrace+time.Second); !errors.Is(err, ErrInvalidGrace) {
		t.Errorf("RotateKey with a grace past %s = %v, want ErrInvalidGrace", MaxRotationGrace, err)
	}
	if got, err := s.Store.KeyByHash(ctx, long.Hash); err != nil || !got.Active(now.AddDate(1, 0, 0)) {
		t.Errorf("refused rotation changed the key: %+v, %v", got, err)
	}

	_, revoked, err := s.CreateKey(ctx, id, "old", []string{"read"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeKey(ctx, id, revoked.ID); err != nil {
		t.Fatal(err)
	}
	other, err := s.Signup(ctx, "bob@example.com", "Other")
	if err != nil {
		t.Fatal(err)
	}
	refused := []struct {
		name          string
		tenant, keyID string
		want          error
	}{
		{"revoked", id, revoked.ID, ErrKeyRevoked},
		{"unknown", id, NewTenantID(), ErrNotFound},
		{"another tenant's", other.Tenant.ID, res.Key.ID, ErrNotFound},
	}
	for _, tt := range refused {
		if _, _, err := s.RotateKey(ctx, tt.tenant, tt.keyID, time.Hour); !errors.Is(err, tt.want) {
			t.Errorf("rotate %s key = %v, want %v", tt.name, err, tt.want)
		}
	}
	_, graced, err := s.CreateKey(ctx, id, "graced", []string{"read"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.RotateKey(ctx, id, graced.ID, time.Hour); err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Hour)
	if _, _, err := s.RotateKey(ctx, id, graced.ID, time.Hour); !errors.Is(err, ErrKeyExpired) {
		t.Errorf("rotate an expired key = %v, want ErrKeyExpired", err)
	}
}

func TestRevokeKey(t *testing.T) {
	s, _, clock := newTestService(t)
	ctx := context.Background()
	a, err := s.Signup(ctx, "ada@example.com", "Acme")
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Signup(ctx, "bob@example.com", "Other")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeKey(ctx, b.Tenant.ID, a.Key.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoke another tenant's key = %v, want ErrNotFound", err)
	}
	if err := s.RevokeKey(ctx, a.Tenant.ID, a.Key.ID); err != nil {
		t.Fatal(err)
	}
	keys, err := s.Keys(ctx, a.Tenant.ID)
	if err != nil || len(keys) != 1 || keys[0].RevokedAt == nil || !keys[0].RevokedAt.Equal(clock.Now()) {
		t.Errorf("keys after revoking: %+v, %v", keys, err)
	}
	if tn, err := s.Tenant(ctx, b.Tenant.ID); err != nil || tn != b.Tenant {
		t.Errorf("Tenant = %+v, %v", tn, err)
	}
}

func TestDeleteTenant(t *testing.T) {
	s, _, clock := newTestService(t)
	ctx := context.Background()
	a, err := s.Signup(ctx, "ada@example.com", "Acme")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateKey(ctx, a.Tenant.ID, "ci", []string{"read"}, nil); err != nil {
		t.Fatal(err)
	}
	purge, err := s.DeleteTenant(ctx, a.Tenant.ID)
	if err != nil || !purge.Equal(clock.Now().Add(DeletionGrace)) {
		t.Fatalf("DeleteTenant = %v, %v", purge, err)
	}
	keys, _ := s.Keys(ctx, a.Tenant.ID)
	for _, k := range keys {
		if k.RevokedAt == nil {
			t.Errorf("key %s still active", k.ID)
		}
	}
	if tn, _ := s.Tenant(ctx, a.Tenant.ID); tn.Status != StatusDeleted || len(keys) != 2 {
		t.Errorf("tenant %+v with %d keys", tn, len(keys))
	}
	if _, err := s.DeleteTenant(ctx, "no-such-tenant"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown tenant: %v", err)
	}
}

func equalTimes(a, b *time.Time) bool {
	return a == nil && b == nil || a != nil && b != nil && a.Equal(*b)
}

func equalKeys(a, b APIKey) bool {
	return a.ID == b.ID && a.TenantID == b.TenantID && a.Prefix == b.Prefix && a.Name == b.Name &&
		slices.Equal(a.Scopes, b.Scopes) && string(a.Hash) == string(b.Hash) && a.CreatedAt.Equal(b.CreatedAt) &&
		equalTimes(a.ExpiresAt, b.ExpiresAt) && equalTimes(a.RevokedAt, b.RevokedAt) && equalTimes(a.LastUsedAt, b.LastUsedAt)
}
