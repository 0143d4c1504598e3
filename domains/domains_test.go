package domains

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/contextlite/cloud/tenancy"
)

// fakeDNS answers TXT lookups from a map.
type fakeDNS map[string][]string

func (f fakeDNS) LookupTXT(_ context.Context, name string) ([]string, error) {
	if r, ok := f[name]; ok {
		return r, nil
	}
	return nil, errors.New("no such host")
}

func TestClaimAndVerify(t *testing.T) {
	ctx := context.Background()
	store, err := tenancy.Open(ctx, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	pro := tenancy.Tenant{ID: "t-pro", Slug: "pro", Tier: "pro", Status: tenancy.StatusActive}
	free := tenancy.Tenant{ID: "t-free", Slug: "free", Tier: "free", Status: tenancy.StatusActive}
	for _, tn := range []tenancy.Tenant{pro, free} {
		if err := store.CreateTenant(ctx, tn); err != nil {
			t.Fatal(err)
		}
	}
	dns := fakeDNS{}
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	s := &Service{Store: store, Resolver: dns, Apex: "example.com", Now: func() time.Time { return at }}

	if _, err := s.Claim(ctx, free, "docs.free.test"); !errors.Is(err, ErrNotEligible) {
		t.Fatalf("free tier: %v", err)
	}
	for _, bad := range []string{"localhost", "acme.example.com", "example.com", "10.0.0.1", "a_b.test", "-x.test", ""} {
		if _, err := s.Claim(ctx, pro, bad); !errors.Is(err, ErrInvalidDomain) {
			t.Errorf("claim %q: %v", bad, err)
		}
	}
	c, err := s.Claim(ctx, pro, "Docs.Pro.Test.")
	if err != nil || c.Name != "docs.pro.test" || c.RecordName != "_contextlite-challenge.docs.pro.test" || c.RecordType != "TXT" || len(c.RecordValue) < 30 {
		t.Fatalf("claim = %+v, %v", c, err)
	}
	if again, err := s.Claim(ctx, pro, "docs.pro.test"); err != nil || again.RecordValue != c.RecordValue {
		t.Fatalf("second claim = %+v, %v; want the same record", again, err)
	}
	if _, err := s.Verify(ctx, pro.ID, "docs.pro.test"); !errors.Is(err, ErrNotVerified) {
		t.Fatalf("before the record exists: %v", err)
	}
	dns[c.RecordName] = []string{"v=spf1 -all", "contextlite-verify=wrong"}
	if _, err := s.Verify(ctx, pro.ID, "docs.pro.test"); !errors.Is(err, ErrNotVerified) {
		t.Fatalf("with a wrong record: %v", err)
	}
	dns[c.RecordName] = append(dns[c.RecordName], c.RecordValue)
	v, err := s.Verify(ctx, pro.ID, "docs.pro.test")
	if err != nil || !v.VerifiedAt.Equal(at) {
		t.Fatalf("verify = %+v, %v", v, err)
	}
	if _, err := s.Verify(ctx, free.ID, "docs.pro.test"); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("verify by another tenant: %v", err)
	}
	if list, err := s.List(ctx, pro.ID); err != nil || len(list) != 1 || !list[0].Verified() {
		t.Fatalf("list = %+v, %v", list, err)
	}
	if err := s.Delete(ctx, pro.ID, "docs.pro.test"); err != nil {
		t.Fatal(err)
	}
}

// An unverified claim expires after ClaimTTL: another tenant may then
// claim the domain, and it no longer counts against MaxPending.
func TestClaimExpiryAndLimit(t *testing.T) {
	ctx := context.Background()
	store, err := tenancy.Open(ctx, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	acme := tenancy.Tenant{ID: "t-acme", Slug: "acme", Tier: "pro", Status: tenancy.StatusActive}
	other := tenancy.Tenant{ID: "t-other", Slug: "other", Tier: "enterprise", Status: tenancy.StatusActive}
	for _, tn := range []tenancy.Tenant{acme, other} {
		if err := store.CreateTenant(ctx, tn); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	s := &Service{Store: store, Resolver: fakeDNS{}, Apex: "example.com", Now: func() time.Time { return at }, MaxPending: 2}

	first, err := s.Claim(ctx, acme, "a.acme.test")
	if err != nil || !first.ExpiresAt.Equal(at.Add(DefaultClaimTTL)) {
		t.Fatalf("claim = %+v, %v; want it to expire at %v", first, err, at.Add(DefaultClaimTTL))
	}
	if _, err := s.Claim(ctx, acme, "b.acme.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Claim(ctx, acme, "c.acme.test"); !errors.Is(err, ErrClaimLimit) {
		t.Fatalf("third pending claim: %v, want ErrClaimLimit", err)
	}
	if _, err := s.Claim(ctx, acme, "a.acme.test"); err != nil {
		t.Fatalf("claiming a pending domain again at the limit: %v", err)
	}
	if _, err := s.Claim(ctx, other, "a.acme.test"); !errors.Is(err, tenancy.ErrDomainTaken) {
		t.Fatalf("claim of a standing claim: %v, want ErrDomainTaken", err)
	}

	at = at.Add(DefaultClaimTTL + time.Minute)
	if _, err := s.Claim(ctx, acme, "c.acme.test"); err != nil {
		t.Fatalf("claim once the others expired: %v", err)
	}
	taken, err := s.Claim(ctx, other, "a.acme.test")
	if err != nil || taken.RecordValue == first.RecordValue {
		t.Fatalf("claim of an expired claim = %+v, %v; want a new record", taken, err)
	}
	if _, err := s.Verify(ctx, acme.ID, "a.acme.test"); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("verify of a lost claim: %v, want ErrNotFound", err)
	}
	if list, err := s.List(ctx, acme.ID); err != nil || len(list) != 2 {
		t.Fatalf("acme's claims = %+v, %v; want b and c", list, err)
	}
}
