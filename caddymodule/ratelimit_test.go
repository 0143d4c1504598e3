package caddymodule

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// TestTierLimitsComeFromTierConfig checks that the tier rate limits are the
// configured tiers': a custom tier's tenant is limited at its burst, and a
// standard tier's override replaces its default.
func TestTierLimitsComeFromTierConfig(t *testing.T) {
	t.Setenv("CONTEXTLITE_ADMIN_TOKEN", "op-secret-token")
	// Bursts over long windows (burst/rate seconds), so a slow run cannot
	// refill them.
	tiers := "\t\ttier gold {\n\t\t\ttokens_per_query 1000\n\t\t\trate_per_second 1\n\t\t\tburst 40\n\t\t}\n" +
		"\t\ttier free {\n\t\t\trate_per_second 1\n\t\t\tburst 30\n\t\t}\n"
	tc := startServer(t, t.TempDir(), tiers)
	gold, free := signup(t, tc, "GoldCo"), signup(t, tc, "FreeCo")
	if status, body := operatorCall(t, tc.Client, "PUT", "/admin/v1/tenants/"+gold.TenantID+"/tier", "op-secret-token", `{"tier": "gold"}`); status != http.StatusOK {
		t.Fatalf("set tier gold: %d %s", status, body)
	}
	for _, c := range []struct {
		tenant signedUp
		burst  int
	}{{gold, 40}, {free, 30}} {
		for i := range c.burst {
			resp, data := rawCall(t, tc, "GET", c.tenant.URL+"/api/v1/documents", c.tenant.APIKey, "")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s request %d of a burst of %d: %d %s", c.tenant.Slug, i+1, c.burst, resp.StatusCode, data)
			}
		}
		resp, data := rawCall(t, tc, "GET", c.tenant.URL+"/api/v1/documents", c.tenant.APIKey, "")
		if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(data), `"rate_limited"`) || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("%s request %d of a burst of %d: %d %s, Retry-After %q", c.tenant.Slug, c.burst+1, c.burst, resp.StatusCode, data, resp.Header.Get("Retry-After"))
		}
	}
}

// TestTierBurstValidated refuses a burst whose rings would be huge.
func TestTierBurstValidated(t *testing.T) {
	for _, tier := range []string{"burst -1", "burst 1000000", "rate_per_second 200000"} {
		a := &App{}
		raw := "contextlite {\n\ttier custom {\n\t\ttokens_per_query 100\n\t\trate_per_second 10\n\t\t" + tier + "\n\t}\n}\n"
		if err := a.UnmarshalCaddyfile(caddyfile.NewTestDispenser(raw)); err != nil {
			t.Fatal(err)
		}
		a.tiers = mergeTiers(a.Tiers)
		if err := a.Validate(); err == nil || !strings.Contains(err.Error(), "burst") {
			t.Errorf("%s: Validate = %v, want a burst error", tier, err)
		}
	}
}

// TestPerIPLimitUsesClientIP checks that behind a trusted proxy each client
// address has its own bucket and a client cannot pick its address.
func TestPerIPLimitUsesClientIP(t *testing.T) {
	ipBurst, ipWindow = "3", "1m"
	t.Cleanup(func() { ipBurst, ipWindow = "1000", "1s" })
	t.Setenv("CONTEXTLITE_TRUSTED_PROXIES", "private_ranges") // the tests' loopback client is the proxy
	tc := startServer(t, t.TempDir(), "")
	guess := func(forwardedFor string) int {
		resp, _ := requestWith(t, tc, "GET", testBase+"/api/v1/documents", "",
			map[string]string{"X-API-Key": "clc_live_notarealkeynotarealkeynotarealkey", "X-Forwarded-For": forwardedFor})
		return resp.StatusCode
	}
	for i := range 3 {
		if got := guess("203.0.113.7"); got != http.StatusUnauthorized {
			t.Fatalf("guess %d from 203.0.113.7: %d, want 401", i+1, got)
		}
	}
	if got := guess("203.0.113.7"); got != http.StatusTooManyRequests {
		t.Fatalf("fourth guess from 203.0.113.7: %d, want 429", got)
	}
	// The proxy appends the real address; an address the client put first is not used.
	if got := guess("198.51.100.99, 203.0.113.7"); got != http.StatusTooManyRequests {
		t.Fatalf("guess from 203.0.113.7 claiming 198.51.100.99: %d, want 429", got)
	}
	if got := guess("203.0.113.8"); got != http.StatusUnauthorized {
		t.Fatalf("first guess from another client behind the proxy: %d, want 401", got)
	}
}

// TestPerIPZonesStaySmall bounds the memory a flood of distinct client
// addresses can make the per-IP zones of the root Caddyfile hold:
// caddy-ratelimit keeps max_events timestamps (24 bytes) per key until the
// window has passed and a sweep runs.
func TestPerIPZonesStaySmall(t *testing.T) {
	raw, err := os.ReadFile("../Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	adapted, _, err := caddyconfig.GetAdapter("caddyfile").Adapt(raw, map[string]any{"filename": "Caddyfile"})
	if err != nil {
		t.Fatal(err)
	}
	const (
		floodPerSecond = 16000 // new addresses per second, about the server's top request rate
		perKey         = 200   // bytes of a key, its map entry and limiter besides the ring
		budget         = 512 << 20
	)
	zones := map[string]bool{} // handlers share a zone's state by its name
	for _, h := range rateLimitHandlers(adapted) {
		sweep := time.Minute // caddy-ratelimit's default
		if h.SweepInterval > 0 {
			sweep = time.Duration(h.SweepInterval)
		}
		for name, z := range h.RateLimits {
			if z.Key != "{http.vars.client_ip}" {
				continue
			}
			zones[name] = true
			keys := floodPerSecond * (time.Duration(z.Window) + sweep).Seconds()
			if bytes := keys * float64(z.MaxEvents*24+perKey); bytes > budget {
				t.Errorf("zone %s: a flood of distinct addresses holds %.0f MB (%d events over %v, swept every %v)",
					name, bytes/(1<<20), z.MaxEvents, time.Duration(z.Window), sweep)
			}
		}
	}
	if len(zones) != 5 {
		t.Fatalf("%d per-IP zones keyed on {client_ip}, want 5 (signup, console, console login, operator, API)", len(zones))
	}
}

// rateLimitHandler is the part of a rate_limit handler's JSON the tests read.
type rateLimitHandler struct {
	Handler       string `json:"handler"`
	SweepInterval int64  `json:"sweep_interval"`
	RateLimits    map[string]struct {
		Key       string `json:"key"`
		MaxEvents int    `json:"max_events"`
		Window    int64  `json:"window"`
	} `json:"rate_limits"`
}

// rateLimitHandlers finds every rate_limit handler in a JSON config.
func rateLimitHandlers(config []byte) []rateLimitHandler {
	var out []rateLimitHandler
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if v["handler"] == "rate_limit" {
				b, _ := json.Marshal(v)
				var h rateLimitHandler
				if json.Unmarshal(b, &h) == nil {
					out = append(out, h)
				}
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	var root any
	if json.NewDecoder(bytes.NewReader(config)).Decode(&root) == nil {
		walk(root)
	}
	return out
}
