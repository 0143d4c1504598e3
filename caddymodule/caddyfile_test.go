package caddymodule

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
)

var update = flag.Bool("update", false, "rewrite testdata/Caddyfile.golden.json")

// TestCaddyfileGolden adapts the root Caddyfile with its defaults and
// compares the JSON, so a misspelled subdirective that a module silently
// ignores (caddy-ratelimit does) shows up as a diff.
func TestCaddyfileGolden(t *testing.T) {
	adapted := adaptRootCaddyfile(t, nil)
	var out bytes.Buffer
	if err := json.Indent(&out, adapted, "", "\t"); err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/Caddyfile.golden.json"
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Fatalf("adapted Caddyfile differs from %s (run go test -run CaddyfileGolden ./caddymodule/ -args -update and review the diff):\n%s", golden, out.Bytes())
	}
}

// TestCaddyfileACME: with CONTEXTLITE_TLS set to an email address the root
// Caddyfile gets publicly trusted certificates over ACME, on demand, instead
// of the local CA's.
func TestCaddyfileACME(t *testing.T) {
	adapted := adaptRootCaddyfile(t, map[string]string{"CONTEXTLITE_DOMAIN": "example.com", "CONTEXTLITE_TLS": "ops@example.com"})
	var cfg struct {
		Apps struct {
			TLS struct {
				Automation struct {
					Policies []struct {
						Issuers  []map[string]any `json:"issuers"`
						OnDemand bool             `json:"on_demand"`
					} `json:"policies"`
				} `json:"automation"`
			} `json:"tls"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(adapted, &cfg); err != nil {
		t.Fatal(err)
	}
	policies := cfg.Apps.TLS.Automation.Policies
	if len(policies) != 1 || !policies[0].OnDemand || len(policies[0].Issuers) == 0 {
		t.Fatalf("want one on-demand policy with issuers, got %s", adapted)
	}
	for _, iss := range policies[0].Issuers {
		if iss["module"] != "acme" && iss["module"] != "zerossl" || iss["email"] != "ops@example.com" {
			t.Errorf("issuer %v: want ACME with the operator's email", iss)
		}
	}
}

// adaptRootCaddyfile adapts the repository's Caddyfile with every
// CONTEXTLITE_ variable it reads unset except those in env.
func adaptRootCaddyfile(t *testing.T, env map[string]string) []byte {
	t.Helper()
	for _, name := range []string{"CONTEXTLITE_ADMIN", "CONTEXTLITE_DATA", "CONTEXTLITE_DOMAIN", "CONTEXTLITE_DATABASE_URL",
		"CONTEXTLITE_KEY_PEPPER", "CONTEXTLITE_HTTP_PORT", "CONTEXTLITE_HTTPS_PORT", "CONTEXTLITE_SIGNUPS_PER_MINUTE",
		"CONTEXTLITE_IP_BURST", "CONTEXTLITE_IP_WINDOW", "CONTEXTLITE_TRUSTED_PROXIES", "CONTEXTLITE_STORAGE_LIMIT", "CONTEXTLITE_OVERAGE_PERCENT", "CONTEXTLITE_USAGE_SHIP_INTERVAL",
		"CONTEXTLITE_WEBHOOKS_ALLOW_PRIVATE", "CONTEXTLITE_ADMIN_TOKEN", "CONTEXTLITE_BACKUP_DIR", "CONTEXTLITE_STRIPE_SECRET_KEY",
		"CONTEXTLITE_STRIPE_WEBHOOK_SECRET", "CONTEXTLITE_STRIPE_API_URL", "CONTEXTLITE_STRIPE_PRICE_STARTER",
		"CONTEXTLITE_STRIPE_PRICE_PRO", "CONTEXTLITE_STRIPE_PRICE_ENTERPRISE", "CONTEXTLITE_TLS", "CONTEXTLITE_ACCESS_LOG"} {
		t.Setenv(name, "")
		os.Unsetenv(name)
	}
	for name, v := range env {
		t.Setenv(name, v)
	}
	raw, err := os.ReadFile("../Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	adapted, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt(raw, map[string]any{"filename": "Caddyfile"})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range warnings {
		t.Errorf("adapter warning: %s", w)
	}
	return adapted
}

// TestBackupsOption adapts the backups block with a directory set.
func TestBackupsOption(t *testing.T) {
	app, adapted := adaptApp(t, "{\n\tcontextlite {\n\t\tbackups {\n\t\t\tdir /var/backups/contextlite\n\t\t\tevery 6h\n\t\t\tkeep 3\n\t\t}\n\t}\n}\n")
	b := app.Backups
	if b == nil || b.Dir != "/var/backups/contextlite" || b.Every != caddy.Duration(6*time.Hour) || b.Keep != 3 {
		t.Fatalf("backups = %+v in %s", b, adapted)
	}
}

// adaptApp adapts a Caddyfile and returns its contextlite app and the JSON.
func adaptApp(t *testing.T, caddyfile string) (App, []byte) {
	t.Helper()
	adapted, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), map[string]any{"filename": "Caddyfile"})
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Apps struct {
			Contextlite App `json:"contextlite"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(adapted, &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg.Apps.Contextlite, adapted
}
