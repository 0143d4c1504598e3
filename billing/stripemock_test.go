package billing

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/contextlite/cloud/tenancy"
)

// stripeMockURL starts Stripe's own mock server, stripe-mock, bound to
// 127.0.0.1 only, and returns its HTTP URL. It skips without the binary
// (from the repository root: GOBIN=$PWD/.bin go install
// github.com/stripe/stripe-mock@v0.203.0), except under CI.
func stripeMockURL(t *testing.T) string {
	t.Helper()
	bin := findStripeMock()
	if bin == "" {
		const install = "GOBIN=$PWD/.bin go install github.com/stripe/stripe-mock@v0.203.0 in the repository root"
		if os.Getenv("CI") == "true" {
			t.Fatal("stripe-mock is not installed; CI installs it with " + install)
		}
		t.Skip("stripe-mock not installed (" + install + ")")
	}
	httpAddr, httpsAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(bin, "-http-addr", httpAddr, "-https-addr", httpsAddr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	url := "http://" + httpAddr
	for range 100 {
		if resp, err := http.Get(url + "/v1/customers"); err == nil {
			resp.Body.Close()
			return url
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("stripe-mock did not start")
	return ""
}

// findStripeMock returns the stripe-mock binary on PATH, in the
// repository's .bin or in the Go bin directory, or "".
func findStripeMock() string {
	if bin, err := exec.LookPath("stripe-mock"); err == nil {
		return bin
	}
	for _, dir := range []string{filepath.Join("..", ".bin"), goBin()} {
		bin := filepath.Join(dir, "stripe-mock")
		if _, err := os.Stat(bin); err == nil {
			abs, _ := filepath.Abs(bin)
			return abs
		}
	}
	return ""
}

func goBin() string {
	if p := os.Getenv("GOBIN"); p != "" {
		return p
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		return ""
	}
	return filepath.Join(string(out[:len(out)-1]), "bin")
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// TestStripeMockContract checks that the calls billing makes are ones
// Stripe's API accepts: creating a customer and a subscription, and
// sending a meter event.
func TestStripeMockContract(t *testing.T) {
	url := stripeMockURL(t)
	ctx := context.Background()
	store, err := tenancy.Open(ctx, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	tn := tenancy.Tenant{ID: "7c9e6679-7425-40de-944b-e07fc1f90ae7", Slug: "mock", Email: "ops@mock.test", Name: "Mock",
		Tier: "free", Status: tenancy.StatusActive}
	if err := store.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	b, err := New(Config{SecretKey: "sk_test_123", APIURL: url, Prices: map[string]string{"starter": "price_1"},
		MeterEvents: map[string]string{"queries": "contextlite_queries"}}, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	customer, err := b.EnsureCustomer(ctx, tn)
	if err != nil || customer == "" {
		t.Fatalf("customer: %q, %v", customer, err)
	}
	tn.StripeCustomerID = customer
	sub, err := b.ChangeTier(ctx, tn, "starter", "contract-test")
	if err != nil || sub.ID == "" {
		t.Fatalf("subscription: %+v, %v", sub, err)
	}
	report := tenancy.UsageReport{Identifier: tn.ID + ":queries:1795900000", TenantID: tn.ID, Meter: "queries",
		HourStart: time.Now().Add(-2 * time.Hour).Truncate(time.Hour), Value: 42}
	if err := b.sendReport(ctx, report, customer); err != nil {
		t.Fatalf("meter event: %v", err)
	}
	b.checkHealth(ctx)
	if err := b.Health(); err != nil {
		t.Fatalf("health against stripe-mock: %v", err)
	}
}
