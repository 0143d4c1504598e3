package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/contextlite/cloud/admin"
	"github.com/contextlite/cloud/tenancy"
)

func openConsole(t *testing.T) (*admin.Console, *bytes.Buffer) {
	t.Helper()
	var out bytes.Buffer
	c, err := admin.Open(context.Background(), admin.Config{DataDir: t.TempDir(), KeyPepper: "pepper"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c, &out
}

type created struct {
	Tenant tenancy.Tenant `json:"tenant"`
	APIKey string         `json:"api_key"`
}

// createTenant runs CreateTenant and decodes what it printed.
func createTenant(t *testing.T, c *admin.Console, out *bytes.Buffer, email, company, tier string) created {
	t.Helper()
	out.Reset()
	if err := c.CreateTenant(context.Background(), email, company, tier, false); err != nil {
		t.Fatalf("CreateTenant(%q, %q, %q): %v", email, company, tier, err)
	}
	var got created
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("CreateTenant output %q: %v", out, err)
	}
	out.Reset()
	return got
}

// showTenant runs ShowTenant and decodes what it printed.
func showTenant(t *testing.T, c *admin.Console, out *bytes.Buffer, ref string) tenancy.Tenant {
	t.Helper()
	out.Reset()
	if err := c.ShowTenant(context.Background(), ref); err != nil {
		t.Fatalf("ShowTenant(%q): %v", ref, err)
	}
	var got tenancy.Tenant
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("ShowTenant output %q: %v", out, err)
	}
	out.Reset()
	return got
}

func TestCreateTenant(t *testing.T) {
	c, out := openConsole(t)
	ctx := context.Background()
	got := createTenant(t, c, out, "ops@acme.test", "Acme", "pro")
	if got.Tenant.Slug != "acme" || got.Tenant.Tier != "pro" || got.Tenant.Status != tenancy.StatusActive || got.Tenant.ID == "" {
		t.Errorf("tenant = %+v, want slug acme, tier pro, active", got.Tenant)
	}
	if err := tenancy.CheckKey(got.APIKey); err != nil {
		t.Errorf("api_key %q: %v", got.APIKey, err)
	}
	stored, err := c.Service.Store.Tenant(ctx, got.Tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Tier != "pro" {
		t.Errorf("stored tier = %q, want pro", stored.Tier)
	}
	// The printed key authenticates as the new tenant.
	auth := tenancy.NewAuthenticator(c.Service.Store, c.Service.Hasher, tenancy.AuthOptions{})
	if _, tn, err := auth.Authenticate(ctx, got.APIKey); err != nil || tn.ID != got.Tenant.ID {
		t.Errorf("Authenticate(printed key) = %v, %v; want tenant %s", tn.ID, err, got.Tenant.ID)
	}

	free := createTenant(t, c, out, "ops@globex.test", "Globex", "free")
	if free.Tenant.Tier != "free" {
		t.Errorf("tier = %q, want free", free.Tenant.Tier)
	}
}

func TestCreateTenantErrors(t *testing.T) {
	c, out := openConsole(t)
	ctx := context.Background()
	if err := c.CreateTenant(ctx, "ops@acme.test", "Acme", "platinum", false); err == nil || !strings.Contains(err.Error(), "unknown tier") {
		t.Errorf("CreateTenant with an unknown tier = %v, want an unknown tier error", err)
	}
	if err := c.CreateTenant(ctx, "not an email", "Acme", "free", false); err == nil {
		t.Error("CreateTenant with a bad email succeeded")
	}
	ts, err := c.Service.Store.Tenants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 0 {
		t.Errorf("failed CreateTenant calls left %d tenants", len(ts))
	}
	if out.Len() != 0 {
		t.Errorf("failed CreateTenant calls printed %q", out)
	}
}

// A second tenant with the same email (in any case) is refused unless
// forced; a deleted tenant's email is free.
func TestCreateTenantDuplicateEmail(t *testing.T) {
	c, out := openConsole(t)
	ctx := context.Background()
	first := createTenant(t, c, out, "ops@acme.test", "Acme", "free")
	if err := c.CreateTenant(ctx, " OPS@Acme.test ", "Acme Two", "free", false); !errors.Is(err, admin.ErrEmailTaken) || !strings.Contains(err.Error(), first.Tenant.Slug) {
		t.Fatalf("second tenant with the email = %v, want ErrEmailTaken naming %s", err, first.Tenant.Slug)
	}
	if out.Len() != 0 {
		t.Errorf("refused CreateTenant printed %q", out)
	}
	out.Reset()
	if err := c.CreateTenant(ctx, "ops@acme.test", "Acme Two", "free", true); err != nil {
		t.Fatalf("forced: %v", err)
	}
	ts, err := c.Service.Store.Tenants(ctx)
	if err != nil || len(ts) != 2 {
		t.Fatalf("%d tenants, %v; want 2", len(ts), err)
	}
	for _, tn := range ts {
		if err := c.SetStatus(ctx, tn.Slug, tenancy.StatusDeleted); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.CreateTenant(ctx, "ops@acme.test", "Acme Three", "free", false); err != nil {
		t.Fatalf("email of deleted tenants only: %v", err)
	}
}

func TestListTenants(t *testing.T) {
	c, out := openConsole(t)
	acme := createTenant(t, c, out, "ops@acme.test", "Acme", "starter")
	globex := createTenant(t, c, out, "ops@globex.test", "Globex Corp", "free")
	if err := c.ListTenants(context.Background()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") {
		t.Fatalf("ListTenants printed %q, want a header and two lines", out)
	}
	body := strings.Join(lines[1:], "\n")
	for _, want := range []string{acme.Tenant.ID, "acme", "starter", "ops@acme.test", globex.Tenant.ID, "globex-corp", "active"} {
		if !strings.Contains(body, want) {
			t.Errorf("ListTenants output lacks %q:\n%s", want, out)
		}
	}
}

func TestShowTenant(t *testing.T) {
	c, out := openConsole(t)
	acme := createTenant(t, c, out, "ops@acme.test", "Acme", "free")
	for _, ref := range []string{acme.Tenant.ID, acme.Tenant.Slug} {
		got := showTenant(t, c, out, ref)
		if got.ID != acme.Tenant.ID || got.Slug != "acme" || got.Email != "ops@acme.test" {
			t.Errorf("ShowTenant(%q) = %+v, want tenant %s", ref, got, acme.Tenant.ID)
		}
	}
}

func TestSetTier(t *testing.T) {
	c, out := openConsole(t)
	ctx := context.Background()
	acme := createTenant(t, c, out, "ops@acme.test", "Acme", "free")
	if err := c.SetTier(ctx, "acme", "enterprise"); err != nil {
		t.Fatal(err)
	}
	var printed tenancy.Tenant
	if err := json.Unmarshal(out.Bytes(), &printed); err != nil {
		t.Fatalf("SetTier output %q: %v", out, err)
	}
	if printed.Tier != "enterprise" {
		t.Errorf("SetTier printed tier %q, want enterprise", printed.Tier)
	}
	if got := showTenant(t, c, out, acme.Tenant.ID); got.Tier != "enterprise" {
		t.Errorf("tier after SetTier = %q, want enterprise", got.Tier)
	}
	if err := c.SetTier(ctx, "acme", "gold"); err == nil || !strings.Contains(err.Error(), "unknown tier") {
		t.Errorf("SetTier to an unknown tier = %v, want an unknown tier error", err)
	}
	if got := showTenant(t, c, out, "acme"); got.Tier != "enterprise" {
		t.Errorf("tier after a refused SetTier = %q, want enterprise", got.Tier)
	}
}

func TestSetStatus(t *testing.T) {
	c, out := openConsole(t)
	ctx := context.Background()
	acme := createTenant(t, c, out, "ops@acme.test", "Acme", "free")
	globex := createTenant(t, c, out, "ops@globex.test", "Globex", "free")
	if err := c.CreateKey(ctx, "acme", "ci", []string{"read"}); err != nil {
		t.Fatal(err)
	}
	out.Reset()

	if err := c.SetStatus(ctx, "acme", tenancy.StatusSuspended); err != nil {
		t.Fatal(err)
	}
	if got := showTenant(t, c, out, "acme"); got.Status != tenancy.StatusSuspended {
		t.Errorf("status = %q, want suspended", got.Status)
	}
	keys, err := c.Service.Store.Keys(ctx, acme.Tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.RevokedAt != nil {
			t.Errorf("suspending revoked key %s", k.ID)
		}
	}

	if err := c.SetStatus(ctx, acme.Tenant.ID, tenancy.StatusDeleted); err != nil {
		t.Fatal(err)
	}
	if got := showTenant(t, c, out, "acme"); got.Status != tenancy.StatusDeleted {
		t.Errorf("status = %q, want deleted", got.Status)
	}
	keys, err = c.Service.Store.Keys(ctx, acme.Tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 {
		t.Fatalf("acme has %d keys, want 2", len(keys))
	}
	for _, k := range keys {
		if k.RevokedAt == nil {
			t.Errorf("key %s (%s) of a deleted tenant is not revoked", k.ID, k.Name)
		}
	}
	// Another tenant's keys are untouched.
	other, err := c.Service.Store.Keys(ctx, globex.Tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range other {
		if k.RevokedAt != nil {
			t.Errorf("key %s of globex was revoked", k.ID)
		}
	}

	if err := c.SetStatus(ctx, "acme", tenancy.Status("frozen")); err == nil {
		t.Error("SetStatus to an unknown status succeeded")
	}
}

func TestKeys(t *testing.T) {
	c, out := openConsole(t)
	ctx := context.Background()
	acme := createTenant(t, c, out, "ops@acme.test", "Acme", "free")

	if err := c.CreateKey(ctx, "acme", "ci", []string{"write", "read"}); err != nil {
		t.Fatal(err)
	}
	var made struct {
		Key    tenancy.APIKey `json:"key"`
		APIKey string         `json:"api_key"`
	}
	if err := json.Unmarshal(out.Bytes(), &made); err != nil {
		t.Fatalf("CreateKey output %q: %v", out, err)
	}
	if made.Key.ID == "" || made.Key.Name != "ci" || made.Key.TenantID != acme.Tenant.ID {
		t.Errorf("key = %+v, want ci of %s", made.Key, acme.Tenant.ID)
	}
	if strings.Join(made.Key.Scopes, ",") != "read,write" {
		t.Errorf("scopes = %v, want read,write", made.Key.Scopes)
	}
	if err := tenancy.CheckKey(made.APIKey); err != nil {
		t.Errorf("api_key %q: %v", made.APIKey, err)
	}
	if err := c.CreateKey(ctx, "acme", "bad", []string{"root"}); err == nil {
		t.Error("CreateKey with an unknown scope succeeded")
	}

	out.Reset()
	if err := c.ListKeys(ctx, acme.Tenant.ID); err != nil {
		t.Fatal(err)
	}
	list := out.String()
	lines := strings.Split(strings.TrimSpace(list), "\n")
	if len(lines) != 3 {
		t.Fatalf("ListKeys printed %q, want a header and two keys", list)
	}
	for _, want := range []string{made.Key.ID, made.Key.Prefix, "ci", "read,write", "default", "read,write,admin"} {
		if !strings.Contains(list, want) {
			t.Errorf("ListKeys output lacks %q:\n%s", want, list)
		}
	}
	if strings.Contains(list, made.APIKey) {
		t.Error("ListKeys printed a key's secret")
	}
	for _, l := range lines[1:] {
		if !strings.HasSuffix(strings.TrimSpace(l), "-") {
			t.Errorf("unrevoked key line %q does not end in -", l)
		}
	}

	out.Reset()
	if err := c.RevokeKey(ctx, "acme", made.Key.ID); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), made.Key.ID) || !strings.Contains(out.String(), "acme") {
		t.Errorf("RevokeKey printed %q", out)
	}
	keys, err := c.Service.Store.Keys(ctx, acme.Tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if revoked := k.RevokedAt != nil; revoked != (k.ID == made.Key.ID) {
			t.Errorf("key %s (%s) revoked = %v", k.ID, k.Name, revoked)
		}
	}

	out.Reset()
	if err := c.ListKeys(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n")[1:] {
		revokedShown := !strings.HasSuffix(strings.TrimSpace(l), "-")
		if revokedShown != strings.Contains(l, made.Key.ID) {
			t.Errorf("ListKeys line %q: revoked shown = %v", l, revokedShown)
		}
	}

	if err := c.RevokeKey(ctx, "acme", "no-such-key"); err == nil {
		t.Error("RevokeKey of an unknown key succeeded")
	}
}

func TestUnknownTenant(t *testing.T) {
	c, out := openConsole(t)
	ctx := context.Background()
	acme := createTenant(t, c, out, "ops@acme.test", "Acme", "free")
	keys, err := c.Service.Store.Keys(ctx, acme.Tenant.ID)
	if err != nil || len(keys) != 1 {
		t.Fatalf("Keys = %v, %v; want the first key", keys, err)
	}
	calls := map[string]func(ref string) error{
		"ShowTenant": func(ref string) error { return c.ShowTenant(ctx, ref) },
		"SetTier":    func(ref string) error { return c.SetTier(ctx, ref, "pro") },
		"SetStatus":  func(ref string) error { return c.SetStatus(ctx, ref, tenancy.StatusSuspended) },
		"CreateKey":  func(ref string) error { return c.CreateKey(ctx, ref, "k", []string{"read"}) },
		"ListKeys":   func(ref string) error { return c.ListKeys(ctx, ref) },
		"RevokeKey":  func(ref string) error { return c.RevokeKey(ctx, ref, keys[0].ID) },
	}
	for name, call := range calls {
		for _, ref := range []string{"initech", "", "ACME"} {
			out.Reset()
			err := call(ref)
			if err == nil || !strings.Contains(err.Error(), "no tenant") {
				t.Errorf("%s(%q) = %v, want a no tenant error", name, ref, err)
			}
			if out.Len() != 0 {
				t.Errorf("%s(%q) printed %q", name, ref, out)
			}
		}
	}
	if got := showTenant(t, c, out, "acme"); got.Tier != "free" || got.Status != tenancy.StatusActive {
		t.Errorf("acme changed by calls on unknown tenants: %+v", got)
	}
	if keys, err = c.Service.Store.Keys(ctx, acme.Tenant.ID); err != nil || len(keys) != 1 || keys[0].RevokedAt != nil {
		t.Errorf("acme keys changed by calls on unknown tenants: %+v, %v", keys, err)
	}
}
