package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Timeouts of the server harness.
const (
	readyTimeout    = 60 * time.Second // start until the API answers
	gracefulTimeout = 30 * time.Second // SIGINT until exit, outbox shipping included
	requestTimeout  = 10 * time.Second // one API request
	logTailLines    = 60               // server log lines printed on failure
)

// buildBinary compiles this package, with extra go build flags, into a
// temporary directory and returns the binary's path.
func buildBinary(t testing.TB, flags ...string) string {
	t.Helper()
	pkgDir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "contextlite")
	cmd := exec.Command("go", append(append([]string{"build", "-o", bin}, flags...), "./")...)
	cmd.Dir = pkgDir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// caddyfilePath returns the repository's Caddyfile.
func caddyfilePath(t testing.TB) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("..", "..", "Caddyfile"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// freePorts returns n distinct free TCP ports, none of the fixed ones
// developers and other tests use.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for len(ports) < n {
		l, err := net.Listen("tcp", ":0")
		if err != nil {
			t.Fatal(err)
		}
		listeners = append(listeners, l)
		if p := l.Addr().(*net.TCPAddr).Port; !isReservedPort(p) {
			ports = append(ports, p)
		}
	}
	return ports
}

// isReservedPort reports whether p is a port the test must not take.
func isReservedPort(p int) bool {
	switch p {
	case 2019, 2999, 8080, 8443, 9080, 9443:
		return true
	}
	return false
}

// server runs the contextlite binary on one data directory and one set of
// ports, across kills and restarts.
type server struct {
	t         testing.TB
	bin       string
	caddyfile string
	env       []string
	httpsPort int
	logPath   string // stdout and stderr of every run, appended
	runs      int
	proc      *process // the current run; nil before the first
}

// process is one run of the binary.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, set before done is closed
}

// running reports whether p has not exited yet.
func (p *process) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// newServer prepares a server on dataDir with the control plane dsn (empty:
// embedded SQLite). It is killed, and its log tail printed if the test
// failed, when the test ends.
func newServer(t testing.TB, bin, dataDir, dsn string) *server {
	t.Helper()
	ports := freePorts(t, 3)
	home := t.TempDir()
	s := &server{
		t:         t,
		bin:       bin,
		caddyfile: caddyfilePath(t),
		httpsPort: ports[1],
		logPath:   filepath.Join(t.TempDir(), "server.log"),
		env: append(environWithout("CONTEXTLITE_", "HOME=", "XDG_CONFIG_HOME=", "XDG_DATA_HOME="),
			"HOME="+home,
			"XDG_CONFIG_HOME="+filepath.Join(home, "config"), // Caddy's autosave.json
			"XDG_DATA_HOME="+filepath.Join(home, "data"),
			"CONTEXTLITE_DOMAIN=localhost",
			"CONTEXTLITE_DATA="+dataDir,
			"CONTEXTLITE_DATABASE_URL="+dsn,
			"CONTEXTLITE_KEY_PEPPER=crash-test-pepper",
			"CONTEXTLITE_HTTP_PORT="+strconv.Itoa(ports[0]),
			"CONTEXTLITE_HTTPS_PORT="+strconv.Itoa(ports[1]),
			"CONTEXTLITE_ADMIN=127.0.0.1:"+strconv.Itoa(ports[2]),
			"CONTEXTLITE_IP_BURST=10000", "CONTEXTLITE_IP_WINDOW=10ms",
			"CONTEXTLITE_USAGE_SHIP_INTERVAL=200ms",
		),
	}
	t.Cleanup(func() {
		if s.proc != nil && s.proc.running() {
			s.proc.cmd.Process.Kill()
			<-s.proc.done
		}
		if t.Failed() {
			t.Logf("server log (last %d lines of %s):\n%s", logTailLines, s.logPath, tail(s.logPath, logTailLines))
		}
	})
	return s
}

// environWithout returns the environment minus the variables whose
// "NAME=value" starts with one of prefixes.
func environWithout(prefixes ...string) []string {
	var env []string
next:
	for _, kv := range os.Environ() {
		for _, p := range prefixes {
			if strings.HasPrefix(kv, p) {
				continue next
			}
		}
		env = append(env, kv)
	}
	return env
}

// tenantCredentials are what `contextlite tenant create` prints.
type tenantCredentials struct {
	APIKey string `json:"api_key"`
	Tenant struct {
		ID   string `json:"id"`
		Slug string `json:"slug"`
		Tier string `json:"tier"`
	} `json:"tenant"`
}

// createTenant creates a tenant with the binary's admin CLI, against the
// server's control plane and data directory.
func (s *server) createTenant(email, company, tier string) tenantCredentials {
	s.t.Helper()
	cmd := exec.Command(s.bin, "tenant", "create", "--email", email, "--company", company, "--tier", tier)
	cmd.Env = s.env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		s.t.Fatalf("tenant create: %v\n%s%s", err, out, stderr.Bytes())
	}
	var c tenantCredentials
	if err := json.Unmarshal(out, &c); err != nil {
		s.t.Fatalf("tenant create printed %q: %v", out, err)
	}
	if c.APIKey == "" || c.Tenant.ID == "" || c.Tenant.Slug == "" || c.Tenant.Tier != tier {
		s.t.Fatalf("tenant create printed %s", out)
	}
	return c
}

// start runs the binary and waits until ready returns nil, failing the
// test if the process exits first or readyTimeout passes.
func (s *server) start(ready func() error) {
	s.t.Helper()
	if s.proc != nil && s.proc.running() {
		s.t.Fatal("server already running")
	}
	s.runs++
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	fmt.Fprintf(logFile, "===== run %d, %s =====\n", s.runs, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(s.bin, "run", "--config", s.caddyfile, "--adapter", "caddyfile")
	cmd.Env = s.env
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	err = cmd.Start()
	logFile.Close() // the child holds its own descriptor
	if err != nil {
		s.t.Fatalf("start server: %v", err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	s.proc = p

	deadline := time.Now().Add(readyTimeout)
	for {
		err := ready()
		if err == nil {
			return
		}
		if !p.running() {
			s.t.Fatalf("server run %d exited before it was ready: %v (last probe: %v)", s.runs, p.err, err)
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("server run %d not ready after %v: %v", s.runs, readyTimeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// kill ends the server with SIGKILL: no shutdown, no final shipping.
func (s *server) kill() {
	s.t.Helper()
	if err := s.proc.cmd.Process.Kill(); err != nil {
		s.t.Fatalf("kill server: %v", err)
	}
	<-s.proc.done
}

// stop sends SIGINT and waits for a clean exit, killing the server and
// failing the test if it takes longer than gracefulTimeout.
func (s *server) stop() {
	s.t.Helper()
	if err := s.proc.cmd.Process.Signal(os.Interrupt); err != nil {
		s.t.Fatalf("interrupt server: %v", err)
	}
	select {
	case <-s.proc.done:
		if s.proc.err != nil {
			s.t.Errorf("server exited after SIGINT with %v", s.proc.err)
		}
	case <-time.After(gracefulTimeout):
		s.proc.cmd.Process.Kill()
		<-s.proc.done
		s.t.Errorf("server still running %v after SIGINT; killed", gracefulTimeout)
	}
}

// tail returns the last n lines of the file at path.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// apiClient sends authenticated requests to one tenant's API.
type apiClient struct {
	http   *http.Client
	base   string // https://<slug>.localhost:<port>
	apiKey string
}

// newAPIClient returns a client of the tenant's API on the server. It
// dials 127.0.0.1 whatever the host and sends the host as TLS server
// name; it does not verify the certificates, which come from the
// server's own local CA and are not what this test checks.
func newAPIClient(s *server, slug, apiKey string) *apiClient {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(s.httpsPort))
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	transport := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		},
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true},
		TLSHandshakeTimeout: 5 * time.Second,
		MaxIdleConnsPerHost: 16,
	}
	return &apiClient{
		http:   &http.Client{Transport: transport, Timeout: requestTimeout},
		base:   fmt.Sprintf("https://%s.localhost:%d", slug, s.httpsPort),
		apiKey: apiKey,
	}
}

// do sends one request with an optional Idempotency-Key and JSON body. A
// non-nil error is a transport failure: whether the server acted is
// unknown.
func (c *apiClient) do(method, path, idempotencyKey string, body []byte) (int, []byte, error) {
	status, _, data, err := c.send(method, path, idempotencyKey, body)
	return status, data, err
}

// send is do that returns the answer's header too.
func (c *apiClient) send(method, path, idempotencyKey string, body []byte) (int, http.Header, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("X-API-Key", c.apiKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("read %d answer: %w", resp.StatusCode, err)
	}
	return resp.StatusCode, resp.Header, data, nil
}

// getJSON sends an authenticated GET and decodes a 200 answer into out.
func (c *apiClient) getJSON(path string, out any) error {
	status, body, err := c.do(http.MethodGet, path, "", nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("GET %s = %d %s", path, status, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("GET %s: %w in %s", path, err, body)
	}
	return nil
}

// ready is a readiness probe: the tenant's API answers an authenticated
// request.
func (c *apiClient) ready() error {
	var tenant struct {
		ID string `json:"id"`
	}
	return c.getJSON("/api/v1/tenant", &tenant)
}
