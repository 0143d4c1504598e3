package caddymodule

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/spf13/cobra"
)

// TestCLIChangesReachRunningServer: a suspension, a tier change and a key
// revocation made with the operator CLI apply to the running server's next
// request, although the server has the key cached.
func TestCLIChangesReachRunningServer(t *testing.T) {
	dataDir := t.TempDir()
	tc := startServer(t, dataDir, "")
	acme := signup(t, tc, "Acme")
	base := acme.URL + "/api/v1"
	free := call(t, tc, "GET", base+"/documents", acme.APIKey, nil, http.StatusOK, nil).Get("X-Quota-Limit")

	operatorCLI(t, dataDir, "tenant", "suspend", acme.Slug)
	var e errorCode
	call(t, tc, "GET", base+"/documents", acme.APIKey, nil, http.StatusForbidden, &e)
	if e.Error.Code != "tenant_suspended" {
		t.Fatalf("after suspend: code %q", e.Error.Code)
	}
	operatorCLI(t, dataDir, "tenant", "activate", acme.Slug)
	call(t, tc, "GET", base+"/documents", acme.APIKey, nil, http.StatusOK, nil)

	operatorCLI(t, dataDir, "tenant", "set-tier", acme.Slug, "pro")
	if pro := call(t, tc, "GET", base+"/documents", acme.APIKey, nil, http.StatusOK, nil).Get("X-Quota-Limit"); pro == free {
		t.Fatalf("after set-tier pro: X-Quota-Limit still %q", pro)
	}

	var keys struct {
		Keys []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	call(t, tc, "GET", base+"/keys", acme.APIKey, nil, http.StatusOK, &keys)
	if len(keys.Keys) != 1 {
		t.Fatalf("keys = %+v", keys)
	}
	operatorCLI(t, dataDir, "key", "revoke", acme.Slug, keys.Keys[0].ID)
	call(t, tc, "GET", base+"/documents", acme.APIKey, nil, http.StatusUnauthorized, &e)
	if e.Error.Code != "key_revoked" {
		t.Fatalf("after revoke: code %q", e.Error.Code)
	}
}

// operatorCLI runs `contextlite <args>` in process against the test
// server's data directory and admin endpoint, and fails the test unless
// the server was told to drop its caches.
func operatorCLI(t *testing.T, dataDir string, args ...string) {
	t.Helper()
	root := &cobra.Command{Use: cliName, SilenceUsage: true}
	tenant, key := &cobra.Command{Use: "tenant"}, &cobra.Command{Use: "key"}
	tenantCommands(tenant)
	keyCommands(key)
	root.AddCommand(tenant, key)
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append(args, "--data-dir", dataDir, "--admin", testAdminAddr))
	if err := root.Execute(); err != nil {
		t.Fatalf("contextlite %v: %v\n%s", args, err, errOut.Bytes())
	}
	if errOut.Len() > 0 {
		t.Fatalf("contextlite %v: %s", args, errOut.Bytes())
	}
}
