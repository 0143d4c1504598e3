package caddymodule

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestQuickstartAsPasted signs up through the real server and follows the
// answer's quickstart as a newcomer would: its curl commands in a shell,
// then its Python snippet with python3, each trusting the CA root the
// guide names and calling https://localhost, since *.localhost names do
// not resolve outside browsers and curl.
func TestQuickstartAsPasted(t *testing.T) {
	sh := requireTool(t, "sh")
	requireTool(t, "curl")
	python := requireTool(t, "python3")
	if out, err := exec.Command(python, "-c", "import requests").CombinedOutput(); err != nil {
		skipOrFailCI(t, "python3 has no requests module (pip install requests): "+strings.TrimSpace(string(out)))
	}
	dataDir := t.TempDir()
	tc := startServer(t, dataDir, "")
	guide := signup(t, tc, "Quickstart").Quickstart

	root := filepath.Join(dataDir, "caddy", "pki", "authorities", "local", "root.crt")
	if !strings.Contains(guide, "--cacert '"+root+"'") || !strings.Contains(guide, `verify="`+root+`"`) {
		t.Fatalf("the guide does not trust the local CA root %s:\n%s", root, guide)
	}
	shellPart, pythonPart, ok := strings.Cut(guide, "# Python")
	if !ok {
		t.Fatalf("no Python snippet in the guide:\n%s", guide)
	}
	_, shellPart, ok = strings.Cut(shellPart, "# Add a document")
	if !ok {
		t.Fatalf("no curl commands in the guide:\n%s", guide)
	}
	for _, line := range strings.Split(guide, "\n") {
		if strings.Contains(line, ".localhost") && !strings.HasPrefix(line, "Your API:") && !strings.HasPrefix(line, "The key decides") {
			t.Errorf("the guide calls a *.localhost name: %q", line)
		}
	}

	if out, err := exec.Command(sh, "-e", "-c", "# Add a document"+shellPart).CombinedOutput(); err != nil {
		t.Fatalf("the guide's curl commands: %v\n%s", err, out)
	}
	// The snippet after its comment line, as pasted into python3.
	_, snippet, _ := strings.Cut(pythonPart, "\n")
	cmd := exec.Command(python, "-")
	cmd.Stdin = strings.NewReader(snippet)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the guide's Python snippet: %v\n%s\nsnippet:\n%s", err, out, snippet)
	}
	if !strings.Contains(string(out), "notes/hello.md") {
		t.Fatalf("the Python snippet printed %q, want the document the curl command added", out)
	}
}

// requireTool returns the path of the program name, skipping the test
// when it is missing (failing it under CI=true).
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		skipOrFailCI(t, name+" is not installed: "+err.Error())
	}
	return path
}

// skipOrFailCI skips the test with msg, or fails it under CI=true, where
// every tool must be there.
func skipOrFailCI(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}
