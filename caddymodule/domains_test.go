package caddymodule

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/contextlite/cloud/access"
	"github.com/contextlite/cloud/tenancy"
)

func TestCustomDomains(t *testing.T) {
	tc := startServer(t, t.TempDir(), "")
	acme := signup(t, tc, "DomainCo")
	other := signup(t, tc, "OtherCo")
	base := acme.URL + "/api/v1"
	var e errorCode
	call(t, tc, "POST", base+"/domains", acme.APIKey, map[string]string{"domain": "docs.domainco.test"}, http.StatusForbidden, &e)
	if e.Error.Code != "upgrade_required" {
		t.Fatalf("free tier claim: %+v", e)
	}

	states := sharedStates()
	store := states[0].store
	ctx := context.Background()
	if err := store.SetTier(ctx, acme.TenantID, "pro"); err != nil {
		t.Fatal(err)
	}
	var claim struct {
		Domain      string `json:"domain"`
		RecordName  string `json:"record_name"`
		RecordValue string `json:"record_value"`
	}
	call(t, tc, "POST", base+"/domains", acme.APIKey, map[string]string{"domain": "docs.domainco.test"}, http.StatusCreated, &claim)
	if claim.RecordName != "_contextlite-challenge.docs.domainco.test" || claim.RecordValue == "" {
		t.Fatalf("claim = %+v", claim)
	}
	call(t, tc, "POST", other.URL+"/api/v1/domains", other.APIKey, map[string]string{"domain": "docs.domainco.test"}, http.StatusForbidden, nil)
	// No TXT record in DNS for this name: verification fails.
	call(t, tc, "POST", base+"/domains/docs.domainco.test/verify", acme.APIKey, nil, http.StatusUnprocessableEntity, &e)
	if e.Error.Code != "verification_failed" {
		t.Fatalf("verify without a record: %+v", e)
	}

	// The certificate permission (the resolver's HostAllowed) refuses the
	// unverified domain, then allows it once verified (as the verify call
	// does after finding the record).
	res := &access.Resolver{Domain: "localhost", Tenants: store, Domains: store, Tiers: tenancy.DefaultTiers()}
	if err := res.HostAllowed(ctx, "docs.domainco.test"); !errors.Is(err, access.ErrUnknownHost) {
		t.Fatalf("unverified domain allowed: %v", err)
	}
	if err := store.VerifyDomain(ctx, acme.TenantID, "docs.domainco.test", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := res.HostAllowed(ctx, "docs.domainco.test"); err != nil {
		t.Fatalf("verified domain of a pro tenant refused: %v", err)
	}
	if err := res.HostAllowed(ctx, "evil.test"); !errors.Is(err, access.ErrUnknownHost) {
		t.Fatalf("unknown domain allowed: %v", err)
	}

	// Requests on the domain get a certificate on demand (the real
	// permission module allows it) and reach the tenant; another tenant's
	// key is refused there.
	custom := "https://docs.domainco.test:" + testHTTPSPort + "/api/v1"
	call(t, tc, "GET", custom+"/documents", acme.APIKey, nil, http.StatusOK, nil)
	call(t, tc, "GET", custom+"/documents", other.APIKey, nil, http.StatusForbidden, &e)
	if e.Error.Code != "tenant_mismatch" {
		t.Fatalf("other tenant's key on the domain: %+v", e)
	}

	// A downgrade takes the domain's certificate permission away.
	if err := store.SetTier(ctx, acme.TenantID, "starter"); err != nil {
		t.Fatal(err)
	}
	if err := res.HostAllowed(ctx, "docs.domainco.test"); !errors.Is(err, access.ErrUnknownHost) {
		t.Fatalf("domain of a starter tenant allowed: %v", err)
	}
}

// An unverified claim expires: through the server, another tenant then
// claims the domain; unverified claims are capped per tenant.
func TestCustomDomainClaimExpiryAndLimit(t *testing.T) {
	tc := startServer(t, t.TempDir(), "")
	acme := signup(t, tc, "ClaimCo")
	other := signup(t, tc, "RivalCo")
	store := sharedStates()[0].store
	ctx := context.Background()
	for _, id := range []string{acme.TenantID, other.TenantID} {
		if err := store.SetTier(ctx, id, "pro"); err != nil {
			t.Fatal(err)
		}
	}
	// acme claimed the domain 8 days ago and never verified it.
	old := time.Now().Add(-8 * 24 * time.Hour)
	if err := store.AddDomain(ctx, tenancy.Domain{Name: "docs.claimco.test", TenantID: acme.TenantID, Token: "stale", CreatedAt: old}, old); err != nil {
		t.Fatal(err)
	}
	var claim struct {
		Domain      string    `json:"domain"`
		RecordValue string    `json:"record_value"`
		ExpiresAt   time.Time `json:"expires_at"`
	}
	call(t, tc, "POST", other.URL+"/api/v1/domains", other.APIKey, map[string]string{"domain": "docs.claimco.test"}, http.StatusCreated, &claim)
	if claim.RecordValue == "contextlite-verify=stale" || !claim.ExpiresAt.After(time.Now().Add(6*24*time.Hour)) {
		t.Fatalf("claim of an expired claim = %+v; want a new record expiring in 7 days", claim)
	}
	var e errorCode
	call(t, tc, "POST", acme.URL+"/api/v1/domains", acme.APIKey, map[string]string{"domain": "docs.claimco.test"}, http.StatusConflict, &e)
	if e.Error.Code != "conflict" {
		t.Fatalf("claim back of a standing claim: %+v", e)
	}

	for i := range 10 {
		call(t, tc, "POST", acme.URL+"/api/v1/domains", acme.APIKey, map[string]string{"domain": fmt.Sprintf("d%d.claimco.test", i)}, http.StatusCreated, nil)
	}
	call(t, tc, "POST", acme.URL+"/api/v1/domains", acme.APIKey, map[string]string{"domain": "d10.claimco.test"}, http.StatusConflict, &e)
	if e.Error.Code != "domain_claim_limit" {
		t.Fatalf("eleventh pending claim: %+v", e)
	}
	call(t, tc, "DELETE", acme.URL+"/api/v1/domains/d0.claimco.test", acme.APIKey, nil, http.StatusNoContent, nil)
	call(t, tc, "POST", acme.URL+"/api/v1/domains", acme.APIKey, map[string]string{"domain": "d10.claimco.test"}, http.StatusCreated, nil)
}
