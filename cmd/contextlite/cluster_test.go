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
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/contextlite/cloud/internal/pgtest"
	"github.com/jackc/pgx/v5"
)

// Settings of the cluster tests' nodes.
const (
	clusterPortBase = 28100 // node i listens on base+3i (HTTP), +1 (HTTPS), +2 (admin)
	benchPortBase   = 28130
	clusterSecret   = "the three-node test's cluster secret"
	operatorToken   = "cluster-test-operator-token"
	// The free tier keeps its 1,000 queries a month with its rate limit
	// lifted, so its quota runs out within seconds; the starter tier's
	// rate limit is tightened to a burst of 30 requests per 30 s.
	freeQuota    = 1000
	starterBurst = 30
	// A custom tier of 10 queries a month, for usage notices within a few
	// queries.
	tinyQuota = 10
)

// clusterNode is one node process of a test cluster.
type clusterNode struct {
	*server
	id     string
	client *http.Client // dials this node whatever the host
}

// startCluster starts n nodes of the binary on one PostgreSQL control
// plane (a schema of its own) and one shared storage directory, each with
// its own data directory, one after the other (the first creates the
// shared local CA), with env added to each node's environment.
func startCluster(t testing.TB, n, portBase int, env ...string) ([]*clusterNode, string) {
	t.Helper()
	dsn := pgtest.DSN(t)
	bin := buildBinary(t)
	storage := t.TempDir()
	caddyfile := tightCaddyfile(t)
	nodes := make([]*clusterNode, n)
	for i := range nodes {
		http, https, admin := portBase+3*i, portBase+3*i+1, portBase+3*i+2
		s := newServer(t, bin, t.TempDir(), dsn)
		s.caddyfile, s.httpsPort = caddyfile, https
		s.env = append(s.env,
			"CONTEXTLITE_HTTP_PORT="+strconv.Itoa(http),
			"CONTEXTLITE_HTTPS_PORT="+strconv.Itoa(https),
			"CONTEXTLITE_ADMIN=127.0.0.1:"+strconv.Itoa(admin),
			"CONTEXTLITE_NODE_ID=node-"+strconv.Itoa(i),
			"CONTEXTLITE_ADVERTISE=https://127.0.0.1:"+strconv.Itoa(https),
			"CONTEXTLITE_CLUSTER_SECRET="+clusterSecret,
			"CONTEXTLITE_STORAGE="+storage,
			"CONTEXTLITE_ADMIN_TOKEN="+operatorToken,
			"CONTEXTLITE_SIGNUPS_PER_MINUTE=1000",
			"CONTEXTLITE_IP_BURST=100000", // all clients are on loopback: per-IP limits are not under test
		)
		s.env = append(s.env, env...)
		nodes[i] = &clusterNode{server: s, id: "node-" + strconv.Itoa(i), client: dialing(https)}
		nodes[i].start(nodes[i].healthy)
	}
	return nodes, dsn
}

// tightCaddyfile writes the repository's Caddyfile with the starter tier
// tiers changed (see freeQuota) and returns its path.
func tightCaddyfile(t testing.TB) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "..", "Caddyfile"))
	if err != nil {
		t.Fatal(err)
	}
	tier := fmt.Sprintf("\tcontextlite {\n"+
		"\t\ttier free {\n\t\t\tqueries_per_month %d\n\t\t\tdocuments 1000\n\t\t\tworkspaces 1\n\t\t\ttokens_per_query 4000\n\t\t\trate_per_second 1000\n\t\t\tburst 1000\n\t\t}\n"+
		"\t\ttier starter {\n\t\t\tqueries_per_month 100000\n\t\t\trate_per_second 1\n\t\t\tburst %d\n\t\t}\n"+
		"\t\ttier tiny {\n\t\t\tqueries_per_month %d\n\t\t\ttokens_per_query 4000\n\t\t\trate_per_second 1000\n\t\t\tburst 1000\n\t\t}\n",
		freeQuota, starterBurst, tinyQuota)
	out := strings.Replace(string(src), "\tcontextlite {\n", tier, 1)
	if out == string(src) {
		t.Fatal("the Caddyfile has no contextlite block")
	}
	path := filepath.Join(t.TempDir(), "Caddyfile")
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// dialing returns a client that dials 127.0.0.1:port for every host. It
// does not verify certificates: the nodes' identity is not what the
// cluster tests check.
func dialing(port int) *http.Client {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{Timeout: requestTimeout, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		},
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true},
		MaxIdleConnsPerHost: 4,
	}}
}

// healthy probes the node's /health.
func (n *clusterNode) healthy() error {
	status, body, _ := n.call("GET", "", "/health", "", nil)
	if status != http.StatusOK {
		return fmt.Errorf("health %d %s", status, body)
	}
	return nil
}

// call sends a request to the node, for the tenant slug ("" for the apex)
// with key, and returns the status, body and header; a transport error
// is status 0 with the error as body.
func (n *clusterNode) call(method, slug, path, key string, body any) (int, []byte, http.Header) {
	host := "localhost"
	if slug != "" {
		host = slug + ".localhost"
	}
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body) // the tests' bodies always marshal
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, fmt.Sprintf("https://%s:%d%s", host, n.httpsPort, path), rd)
	if err != nil {
		return 0, []byte(err.Error()), nil
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream") // as MCP needs; JSON either way
	resp, err := n.client.Do(req)
	if err != nil {
		return 0, []byte(err.Error()), nil
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data, resp.Header
}

// must sends a request and decodes its answer into out, failing the test
// unless the status is want.
func (n *clusterNode) must(t testing.TB, want int, method, slug, path, key string, body, out any) {
	t.Helper()
	status, data, _ := n.call(method, slug, path, key, body)
	if status != want {
		t.Fatalf("%s: %s %s = %d %s, want %d", n.id, method, path, status, data, want)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s: %s %s: %v in %s", n.id, method, path, err, data)
		}
	}
}

// clusterTenant is a tenant signed up in a test cluster.
type clusterTenant struct {
	TenantID string `json:"tenant_id"`
	Slug     string `json:"slug"`
	APIKey   string `json:"api_key"`
}

// signupAt signs a tenant up through node n; the tenant is made and homed
// on the live node with the fewest tenants.
func signupAt(t testing.TB, n *clusterNode, company, tier string) clusterTenant {
	t.Helper()
	var c clusterTenant
	n.must(t, http.StatusCreated, "POST", "", "/signup", "", map[string]string{
		"email": strings.ToLower(company) + "@example.test", "company": company}, &c)
	if tier != "free" {
		n.must(t, http.StatusOK, "PUT", "", "/admin/v1/tenants/"+c.TenantID+"/tier", operatorToken, map[string]string{"tier": tier}, nil)
	}
	return c
}

// consoleSignup signs a tenant up with the console's form through node n
// and returns the key the answer shows.
func consoleSignup(t testing.TB, n *clusterNode, email, company string) string {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := *n.client
	client.Jar = jar
	base := fmt.Sprintf("https://localhost:%d/console/signup", n.httpsPort)
	resp, err := client.Get(base)
	if err != nil {
		t.Fatal(err)
	}
	form, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(form)
	if csrf == nil {
		t.Fatalf("%s: the signup form has no CSRF token: %s", n.id, form)
	}
	resp, err = client.PostForm(base, url.Values{"csrf": {string(csrf[1])}, "email": {email}, "company": {company}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	key := regexp.MustCompile(`clc_live_[A-Za-z0-9_-]+`).Find(page)
	if resp.StatusCode != http.StatusCreated || key == nil {
		t.Fatalf("%s: console signup = %d %s", n.id, resp.StatusCode, page)
	}
	return string(key)
}

// pgxQueryRow runs a query on the control plane dsn for one row.
func pgxQueryRow(t testing.TB, dsn, query string, args ...any) pgx.Row {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	return conn.QueryRow(ctx, query, args...)
}

// homeOf reads the tenant's home node in the control plane.
func homeOf(t testing.TB, dsn, tenantID string) string {
	t.Helper()
	node, _ := homeRow(t, dsn, tenantID)
	return node
}

// homeRow reads the tenant's home node and epoch in the control plane.
func homeRow(t testing.TB, dsn, tenantID string) (string, int64) {
	t.Helper()
	var node string
	var epoch int64
	if err := pgxQueryRow(t, dsn, "SELECT node_id, epoch FROM tenant_homes WHERE tenant_id = $1", tenantID).Scan(&node, &epoch); err != nil {
		t.Fatalf("home of %s: %v", tenantID, err)
	}
	return node, epoch
}

// assembled is the part of an assembly the nodes must agree on.
type assembled struct {
	Documents []struct {
		DocumentID string `json:"document_id"`
		Content    string `json:"content"`
	} `json:"documents"`
	TotalTokens int `json:"total_tokens"`
}

// text is the assembled content.
func (a assembled) text() string {
	var b strings.Builder
	for _, d := range a.Documents {
		b.WriteString(d.Content)
	}
	return b.String()
}

// TestThreeNodes runs three node processes on one control plane and
// shows that each tenant is served the same through every node, that a
// revoked key is refused everywhere at once, that quotas and rate limits
// count every node's requests exactly, and that killing a node that is
// not a tenant's home does not affect the tenant.
func TestThreeNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("the cluster test builds and runs the binary three times; skipped in -short mode")
	}
	nodes, dsn := startCluster(t, 3, clusterPortBase)
	a, b, c := nodes[0], nodes[1], nodes[2]

	acme := signupAt(t, a, "Acme", "pro")
	if home := homeOf(t, dsn, acme.TenantID); home != a.id {
		t.Fatalf("Acme, the first tenant, is homed on %s, want %s (the first of the least-loaded nodes)", home, a.id)
	}

	t.Run("signups go to the least-loaded node", func(t *testing.T) {
		for _, want := range []*clusterNode{b, c} {
			tn := signupAt(t, a, "Spread"+want.id, "free")
			if home := homeOf(t, dsn, tn.TenantID); home != want.id {
				t.Fatalf("a tenant signed up through %s is homed on %s, want %s", a.id, home, want.id)
			}
			// Its database is on its home: it answers through the node it signed up through.
			a.must(t, http.StatusCreated, "POST", tn.Slug, "/api/v1/documents", tn.APIKey,
				map[string]string{"path": "a.md", "content": "placed"}, nil)
		}
		// The console's signup form, sent to B, makes the tenant on A, now
		// the least loaded (one tenant each, A first by id).
		key := consoleSignup(t, b, "console@spread.test", "Console Spread")
		var id string
		if err := pgxQueryRow(t, dsn, "SELECT id FROM tenants WHERE email = $1", "console@spread.test").Scan(&id); err != nil {
			t.Fatal(err)
		}
		if home := homeOf(t, dsn, id); home != a.id {
			t.Fatalf("a tenant signed up through %s's console is homed on %s, want %s", b.id, home, a.id)
		}
		var info struct {
			Slug string `json:"slug"`
		}
		c.must(t, http.StatusOK, "GET", "", "/api/v1/tenant", key, nil, &info)
		c.must(t, http.StatusCreated, "POST", info.Slug, "/api/v1/documents", key,
			map[string]string{"path": "a.md", "content": "placed through the console"}, nil)
	})

	t.Run("same answers through every node", func(t *testing.T) {
		var doc struct {
			ID string `json:"id"`
		}
		// A write through B (forwarded to A) is read through C (forwarded to A) at once.
		b.must(t, http.StatusCreated, "POST", acme.Slug, "/api/v1/documents", acme.APIKey, map[string]string{
			"workspace": "default", "path": "notes/cluster.md", "content": "The cluster forwards each tenant to its home node."}, &doc)
		var first []byte
		for _, n := range []*clusterNode{c, a, b} {
			status, body, _ := n.call("GET", acme.Slug, "/api/v1/documents/"+doc.ID, acme.APIKey, nil)
			if status != http.StatusOK {
				t.Fatalf("%s: GET the document = %d %s", n.id, status, body)
			}
			if first == nil {
				first = body
			} else if !bytes.Equal(body, first) {
				t.Errorf("%s answers the document\n%s\nnot as the first node did\n%s", n.id, body, first)
			}
		}
		var want assembled
		for i, n := range nodes {
			var got assembled
			n.must(t, http.StatusOK, "POST", acme.Slug, "/api/v1/context/assemble", acme.APIKey,
				map[string]any{"query": "which node serves a tenant", "max_tokens": 500}, &got)
			if len(got.Documents) != 1 || got.Documents[0].DocumentID != doc.ID || !strings.Contains(got.text(), "home node") {
				t.Fatalf("%s assembled %+v", n.id, got)
			}
			if i == 0 {
				want = got
			} else if got.text() != want.text() || got.TotalTokens != want.TotalTokens {
				t.Errorf("%s assembled %+v, %s %+v", n.id, got, nodes[0].id, want)
			}
		}
		// The MCP endpoint forwards the same way.
		for _, n := range nodes {
			status, body, _ := n.call("POST", acme.Slug, "/mcp", acme.APIKey, map[string]any{"jsonrpc": "2.0", "id": 1,
				"method": "tools/call", "params": map[string]any{"name": "search", "arguments": map[string]any{"query": "cluster forwards"}}})
			if status != http.StatusOK || !strings.Contains(string(body), "notes/cluster.md") || strings.Contains(string(body), `"isError":true`) {
				t.Errorf("%s: MCP search = %d %s", n.id, status, body)
			}
		}
	})

	t.Run("the console through any node", func(t *testing.T) {
		jar, err := cookiejar.New(nil)
		if err != nil {
			t.Fatal(err)
		}
		page := func(n *clusterNode, method, path string, form url.Values) string {
			t.Helper()
			client := *n.client
			client.Jar = jar // cookies are the apex's on every node
			var resp *http.Response
			if method == "POST" {
				resp, err = client.PostForm(fmt.Sprintf("https://localhost:%d%s", n.httpsPort, path), form)
			} else {
				resp, err = client.Get(fmt.Sprintf("https://localhost:%d%s", n.httpsPort, path))
			}
			if err != nil {
				t.Fatalf("%s: %s %s: %v", n.id, method, path, err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: %s %s = %d %s", n.id, method, path, resp.StatusCode, body)
			}
			return string(body)
		}
		// Logged in through B; the documents page, read through C, comes from A.
		csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page(b, "GET", "/console/login", nil))
		if csrf == nil {
			t.Fatal("the login form has no CSRF token")
		}
		page(b, "POST", "/console/login", url.Values{"csrf": {csrf[1]}, "api_key": {acme.APIKey}})
		if docs := page(c, "GET", "/console/documents", nil); !strings.Contains(docs, "notes/cluster.md") {
			t.Errorf("%s's documents page does not list the document written through %s:\n%s", c.id, b.id, docs)
		}
	})

	t.Run("a forged principal is ignored", func(t *testing.T) {
		status, body, _ := c.callWith("GET", acme.Slug, "/api/v1/tenant", "", map[string]string{
			"Contextlite-Forwarded-Principal": `eyJUZW5hbnRJRCI6IngifQ.` + strconv.FormatInt(time.Now().Unix(), 10) + `.AAAA`})
		if status != http.StatusUnauthorized {
			t.Errorf("a request with a forged principal and no key = %d %s, want 401", status, body)
		}
	})

	t.Run("a key revoked through one node is refused by another", func(t *testing.T) {
		var key struct {
			ID  string `json:"id"`
			Key string `json:"key"`
		}
		a.must(t, http.StatusCreated, "POST", acme.Slug, "/api/v1/keys", acme.APIKey,
			map[string]any{"name": "ci", "scopes": []string{"read"}}, &key)
		b.must(t, http.StatusOK, "GET", acme.Slug, "/api/v1/tenant", key.Key, nil, nil) // cached on B now
		a.must(t, http.StatusNoContent, "DELETE", acme.Slug, "/api/v1/keys/"+key.ID, acme.APIKey, nil, nil)
		deadline := time.Now().Add(time.Second)
		for {
			status, body, _ := b.call("GET", acme.Slug, "/api/v1/tenant", key.Key, nil)
			if status == http.StatusUnauthorized {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s still answers %d %s to a key revoked through %s 1 s ago", b.id, status, body, a.id)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	t.Run("quota and rate limit across nodes", func(t *testing.T) {
		quota := signupAt(t, c, "Quota", "free")
		for i := range freeQuota + 1 {
			n := nodes[i%len(nodes)]
			status, body, h := n.call("GET", quota.Slug, "/api/v1/documents/search?q=anything", quota.APIKey, nil)
			if i < freeQuota {
				if status != http.StatusOK || h.Get("X-Quota-Remaining") != strconv.Itoa(freeQuota-1-i) {
					t.Fatalf("query %d through %s = %d, %s left, %s; want 200 and %d left",
						i+1, n.id, status, h.Get("X-Quota-Remaining"), body, freeQuota-1-i)
				}
				continue
			}
			if status != http.StatusTooManyRequests || !strings.Contains(string(body), "quota_exceeded") {
				t.Fatalf("query %d through %s = %d %s, want 429 quota_exceeded", i+1, n.id, status, body)
			}
		}
		limited := signupAt(t, b, "Limited", "starter")
		for i := range starterBurst + 1 {
			n := nodes[i%len(nodes)]
			status, body, _ := n.call("GET", limited.Slug, "/api/v1/storage/info", limited.APIKey, nil)
			switch {
			case i < starterBurst && status != http.StatusOK:
				t.Fatalf("request %d of %d through %s = %d %s, within the burst", i+1, starterBurst, n.id, status, body)
			case i == starterBurst && (status != http.StatusTooManyRequests || !strings.Contains(string(body), "rate_limited")):
				t.Fatalf("request %d through %s = %d %s, want 429 rate_limited", i+1, n.id, status, body)
			}
		}
	})

	t.Run("killing a node that is not the home", func(t *testing.T) {
		b.kill()
		var doc struct {
			ID string `json:"id"`
		}
		c.must(t, http.StatusCreated, "POST", acme.Slug, "/api/v1/documents", acme.APIKey, map[string]string{
			"workspace": "default", "path": "notes/after.md", "content": "Written after a node was killed."}, &doc)
		for _, n := range []*clusterNode{a, c} {
			n.must(t, http.StatusOK, "GET", acme.Slug, "/api/v1/documents/"+doc.ID, acme.APIKey, nil, nil)
			var got assembled
			n.must(t, http.StatusOK, "POST", acme.Slug, "/api/v1/context/assemble", acme.APIKey,
				map[string]any{"query": "written after a node was killed", "max_tokens": 500}, &got)
			if !strings.Contains(got.text(), "after a node was killed") {
				t.Errorf("%s assembled %q after the kill", n.id, got.text())
			}
		}
	})
}

// callWith is call with extra request headers.
func (n *clusterNode) callWith(method, slug, path, key string, headers map[string]string) (int, []byte, http.Header) {
	req, err := http.NewRequest(method, fmt.Sprintf("https://%s.localhost:%d%s", slug, n.httpsPort, path), nil)
	if err != nil {
		return 0, []byte(err.Error()), nil
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := n.client.Do(req)
	if err != nil {
		return 0, []byte(err.Error()), nil
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data, resp.Header
}
