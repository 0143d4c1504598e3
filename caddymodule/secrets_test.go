package caddymodule

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/contextlite/cloud/internal/stripefake"
)

// TestSecretsStayOutOfSavedConfig loads the root Caddyfile, whose secrets
// are {env.*} placeholders, and checks that the secrets are in use but
// appear neither in the admin API's config nor in autosave.json.
func TestSecretsStayOutOfSavedConfig(t *testing.T) {
	fake := stripefake.New(t)
	secrets := map[string]string{
		"CONTEXTLITE_KEY_PEPPER":            "pepper-5e3b9d0c71",
		"CONTEXTLITE_ADMIN_TOKEN":           "admin-token-8c2f4a6e19",
		"CONTEXTLITE_STRIPE_SECRET_KEY":     "sk_test_secret_0d7a3c55",
		"CONTEXTLITE_STRIPE_WEBHOOK_SECRET": "whsec_secret_93b1e07f",
	}
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	if err := os.Remove(caddy.ConfigAutosavePath); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	dir := t.TempDir()
	stripe := "\t\tstripe {\n\t\t\tapi_url " + fake.URL + "\n\t\t}\n"
	tc := startServer(t, dir, stripe)

	// The secrets are in use: the admin token opens the operator API, the
	// Stripe key creates the customer at signup.
	acme := signup(t, tc, "SecretCo")
	if status, body := operatorCall(t, tc.Client, "GET", "/admin/v1/tenants", secrets["CONTEXTLITE_ADMIN_TOKEN"], ""); status != http.StatusOK {
		t.Fatalf("operator API with the admin token: %d %s", status, body)
	}
	if got := fake.Customers(); len(got) != 1 {
		t.Fatalf("Stripe customers after signup = %d, want 1", len(got))
	}
	call(t, tc, "GET", acme.URL+"/api/v1/documents", acme.APIKey, nil, http.StatusOK, nil)

	status, live := adminCall(t, "GET", "/config/", "", "")
	if status != http.StatusOK {
		t.Fatalf("GET /config/: %d %s", status, live)
	}
	saved, err := os.ReadFile(caddy.ConfigAutosavePath)
	if err != nil {
		t.Fatal(err)
	}
	for where, cfg := range map[string]string{"GET /config/": string(live), "autosave.json": string(saved)} {
		if !strings.Contains(cfg, "{env.CONTEXTLITE_KEY_PEPPER}") {
			t.Errorf("%s has no placeholder for the key pepper:\n%s", where, cfg)
		}
		for name, secret := range secrets {
			if strings.Contains(cfg, secret) {
				t.Errorf("%s holds the value of %s", where, name)
			}
		}
	}

	// The pepper is the environment's: another one makes the key unknown.
	// The config is the same, so it takes a restart, as in production.
	resetZones(tc)
	t.Setenv("CONTEXTLITE_KEY_PEPPER", "another-pepper")
	startServer(t, dir, stripe)
	var e errorCode
	call(t, tc, "GET", acme.URL+"/api/v1/documents", acme.APIKey, nil, http.StatusUnauthorized, &e)
}
