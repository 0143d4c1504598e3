package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestHelpAndVersion builds the binary with a link-time version: its help
// names contextlite, never a caddy command line, it has no command that
// would replace it with a stock Caddy, and GET /health reports the version.
func TestHelpAndVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped in -short mode")
	}
	const version = "v1.2.3-test"
	bin := buildBinary(t, "-ldflags", "-X github.com/contextlite/cloud/health.version="+version)

	caddyCommand := regexp.MustCompile(`(?m)^.*\bcaddy .*$`)
	for _, args := range [][]string{{}, {"help"}, {"--help"}, {"help", "run"}, {"run", "--help"}, {"help", "reload"}, {"help", "tenant"}, {"backup", "--help"}} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("contextlite %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		if line := caddyCommand.Find(out); line != nil {
			t.Errorf("contextlite %s shows a caddy command line: %q", strings.Join(args, " "), line)
		}
		if !strings.Contains(string(out), "contextlite ") {
			t.Errorf("contextlite %s does not name contextlite:\n%s", strings.Join(args, " "), out)
		}
	}
	if out, err := exec.Command(bin, "help").CombinedOutput(); err != nil || regexp.MustCompile(`(?m)^\s+(upgrade|add-package|remove-package)\s`).Match(out) {
		t.Errorf("contextlite help lists a command that replaces the binary (%v):\n%s", err, out)
	}

	s := newServer(t, bin, t.TempDir(), "")
	s.start(func() error { return healthVersion(s, version) })
	s.stop()
}

// healthVersion asks the server's GET /health and wants version in it.
func healthVersion(s *server, version string) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(s.httpsPort))
	client := &http.Client{Timeout: requestTimeout, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, addr)
		},
		// The local CA's certificate is not what this test checks.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
	}}
	defer client.CloseIdleConnections()
	resp, err := client.Get(fmt.Sprintf("https://localhost:%d/health", s.httpsPort))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var report struct {
		Version string `json:"version"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&report); err != nil {
		return fmt.Errorf("GET /health: %d, %w", resp.StatusCode, err)
	}
	if report.Version != version {
		return fmt.Errorf("GET /health: version %q, want %q", report.Version, version)
	}
	return nil
}
