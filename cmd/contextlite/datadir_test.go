package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// commandTimeout bounds a CLI run that must end on its own.
const commandTimeout = 2 * time.Minute

// runCLI runs the binary with the server's environment and returns its
// combined output and error.
func (s *server) runCLI(args ...string) (string, error) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.bin, args...)
	cmd.Env = s.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestDataDirHasOneProcess runs a server, then a second one on the same
// data directory and ports, which must refuse to start and name the
// first; restore must refuse too until the first has stopped.
func TestDataDirHasOneProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped in -short mode")
	}
	bin := buildBinary(t)
	srv := newServer(t, bin, t.TempDir(), "")
	creds := srv.createTenant("lock@example.test", "Lock", "free")
	api := newAPIClient(srv, creds.Tenant.Slug, creds.APIKey)
	srv.start(api.ready)
	holder := "in use by process " + strconv.Itoa(srv.proc.cmd.Process.Pid)

	out, err := srv.runCLI("run", "--config", srv.caddyfile, "--adapter", "caddyfile")
	if err == nil || !strings.Contains(out, holder) {
		t.Fatalf("second server on the data dir: %v; want an error naming %q, output:\n%s", err, holder, out)
	}
	if err := api.ready(); err != nil {
		t.Fatalf("first server after the second was refused: %v", err)
	}

	// backup runs beside the server (into missing parents); restore does not.
	b := filepath.Join(t.TempDir(), "nightly", "2026", "b1")
	if out, err := srv.runCLI("backup", "--to", b); err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	out, err = srv.runCLI("restore", "--from", b)
	if err == nil || !strings.Contains(out, holder) {
		t.Fatalf("restore beside the server: %v; want an error naming %q, output:\n%s", err, holder, out)
	}

	srv.stop()
	if out, err := srv.runCLI("restore", "--from", b); err != nil {
		t.Fatalf("restore with the server stopped: %v\n%s", err, out)
	}
	if _, err := os.Stat(b); err != nil {
		t.Fatal(err)
	}
}
