package caddymodule

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddytest"
)

// The in-process Caddy of the tests listens on these ports. They default to
// caddytest's admin port 2999 and 9080/9443; CONTEXTLITE_TEST_PORT_BASE=N
// moves them to N, N+1 and N+2 so two checkouts can test at once.
var (
	testAdminAddr = "localhost:2999"
	testHTTPPort  = "9080"
	testHTTPSPort = "9443"
	testBase      = "https://localhost:9443"
)

// TestMain picks the test ports and keeps Caddy's config and data
// directories (autosave.json, the local CA) inside a temporary directory.
func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	if err := setTestPorts(os.Getenv("CONTEXTLITE_TEST_PORT_BASE")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	home, err := os.MkdirTemp("", "caddymodule-home-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer os.RemoveAll(home)
	for _, k := range []string{"HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME"} {
		os.Setenv(k, home)
	}
	// Caddy computes the autosave path when its package is initialised.
	caddy.ConfigAutosavePath = filepath.Join(home, "autosave.json")
	return m.Run()
}

// setTestPorts applies CONTEXTLITE_TEST_PORT_BASE when it is set.
func setTestPorts(base string) error {
	if base == "" {
		return nil
	}
	n, err := strconv.Atoi(base)
	if err != nil || n < 1024 || n > 65000 {
		return fmt.Errorf("CONTEXTLITE_TEST_PORT_BASE=%q: want a port between 1024 and 65000", base)
	}
	caddytest.Default.AdminPort = n
	testAdminAddr = "localhost:" + strconv.Itoa(n)
	testHTTPPort = strconv.Itoa(n + 1)
	testHTTPSPort = strconv.Itoa(n + 2)
	testBase = "https://localhost:" + testHTTPSPort
	return nil
}
