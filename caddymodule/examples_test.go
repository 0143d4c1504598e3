package caddymodule

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPythonQuickstartExample runs examples/quickstart.py with python3
// against the server: it signs up, uploads a folder's text files in bulk
// and prints the context assembled for a query.
func TestPythonQuickstartExample(t *testing.T) {
	python := requireTool(t, "python3")
	dataDir := t.TempDir()
	startServer(t, dataDir, "")
	root := filepath.Join(dataDir, "caddy", "pki", "authorities", "local", "root.crt")

	folder := t.TempDir()
	files := map[string]string{
		"src/billing/invoice.go": "package billing\n\n// SendInvoice mails the invoice to the customer.\nfunc SendInvoice(id string) error { return nil }\n",
		"README.md":              "# Shop\n\nA small shop.\n",
		"logo.png":               "\x89PNG\r\n\x1a\n\x00\x00binary",
		".git/config":            "[core]\n",
	}
	for name, content := range files {
		path := filepath.Join(folder, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	cmd := exec.Command(python, "../examples/quickstart.py", testBase, root, folder, "send invoice to customer")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("quickstart.py: %v\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
	}
	out := stdout.String()
	if !strings.Contains(out, "--- src/billing/invoice.go") || !strings.Contains(out, "func SendInvoice(id string) error") {
		t.Fatalf("the assembled context lacks the uploaded invoice.go:\n%s\nstderr:\n%s", out, &stderr)
	}
	if !strings.Contains(stderr.String(), "uploaded 2 files (0 refused)") || !strings.Contains(stderr.String(), "clc_live_") {
		t.Fatalf("stderr does not report the key and the 2 text files uploaded (the binary and .git skipped):\n%s", &stderr)
	}
}
