package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/contextlite/cloud/internal/latency"
)

// Ports of the move tests' nodes (see clusterPortBase).
const (
	movePortBase      = 29000
	moveBenchPortBase = 29030
)

// moveWriters is how many clients write during a move.
const moveWriters = 8

// moveResult is the answer to a move: contextlite tenant move and the
// operator API print it.
type moveResult struct {
	TenantID string `json:"tenant_id"`
	From     string `json:"from"`
	To       string `json:"to"`
	Epoch    int64  `json:"epoch"`
	FencedMS int64  `json:"fenced_ms"`
	TotalMS  int64  `json:"total_ms"`
}

// moveLoad is clients writing documents, and reading, round-robin through
// every node of a cluster, retrying on 503 after Retry-After, with an
// Idempotency-Key so a retry never writes twice. It records every
// acknowledged write, and each request's span from its first attempt to
// its answer.
type moveLoad struct {
	nodes  []*clusterNode
	tenant clusterTenant

	unavailable atomic.Int64 // 503 answers, retried

	mu       sync.Mutex
	acked    map[string]string // document id -> content
	queries  int               // acknowledged assemblies
	spans    []span
	failures []string
}

// span is one request, from its first attempt to its answer.
type span struct{ start, end time.Time }

func newMoveLoad(nodes []*clusterNode, tenant clusterTenant) *moveLoad {
	return &moveLoad{nodes: nodes, tenant: tenant, acked: make(map[string]string)}
}

// run starts a writer for each of writers and a reader for each of
// readers, and returns the function that stops them and waits.
func (l *moveLoad) run(writers, readers int) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for n := 0; ctx.Err() == nil; n++ {
				l.write(ctx, l.nodes[(w+n)%len(l.nodes)], fmt.Sprintf("w%d/%d.md", w, n),
					fmt.Sprintf("Writer %d wrote document %d while its tenant moved between nodes.", w, n))
			}
		})
	}
	for r := range readers {
		wg.Go(func() {
			for n := 0; ctx.Err() == nil; n++ {
				l.assemble(ctx, l.nodes[(r+n)%len(l.nodes)])
			}
		})
	}
	return func() { cancel(); wg.Wait() }
}

// write adds a document through node and records it once acknowledged.
func (l *moveLoad) write(ctx context.Context, node *clusterNode, path, content string) {
	body := map[string]string{"workspace": "default", "path": path, "content": content}
	var doc struct {
		ID string `json:"id"`
	}
	if l.send(ctx, node, "POST", "/api/v1/documents", body, http.StatusCreated, &doc) {
		l.mu.Lock()
		l.acked[doc.ID] = content
		l.mu.Unlock()
	}
}

// assemble assembles a context through node and counts it once answered.
func (l *moveLoad) assemble(ctx context.Context, node *clusterNode) {
	body := map[string]any{"query": "which writer wrote a document while its tenant moved", "max_tokens": 500, "use_cache": false}
	if l.send(ctx, node, "POST", "/api/v1/context/assemble", body, http.StatusOK, nil) {
		l.mu.Lock()
		l.queries++
		l.mu.Unlock()
	}
}

// send sends a request until it is answered with want (true) or with
// another answer than a retryable one, or until ctx ends before an
// answer (false). 503s are retried after Retry-After (0.1 s without
// one), 429s (the tier's rate limit), transport errors and 409
// idempotency_key_in_use likewise.
func (l *moveLoad) send(ctx context.Context, node *clusterNode, method, path string, body any, want int, out any) bool {
	key := "move-test-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-" + strconv.FormatInt(randCounter.Add(1), 10)
	start := time.Now()
	for {
		status, data, header := node.send(method, l.tenant.Slug, path, l.tenant.APIKey, body, key)
		switch {
		case status == want:
			l.mu.Lock()
			l.spans = append(l.spans, span{start, time.Now()})
			l.mu.Unlock()
			if out != nil {
				if err := json.Unmarshal(data, out); err != nil {
					l.fail("%s %s through %s: %v in %s", method, path, node.id, err, data)
					return false
				}
			}
			return true
		case status == http.StatusServiceUnavailable:
			l.unavailable.Add(1)
		case status == 0, status == http.StatusTooManyRequests,
			status == http.StatusConflict && bytes.Contains(data, []byte("idempotency_key_in_use")):
		default:
			l.fail("%s %s through %s = %d %s", method, path, node.id, status, data)
			return false
		}
		wait := 100 * time.Millisecond
		if s, err := strconv.Atoi(header.Get("Retry-After")); err == nil {
			wait = time.Duration(s) * time.Second
		}
		if ctx.Err() != nil && status == http.StatusServiceUnavailable {
			return false // stopping: a refused request is not acknowledged
		}
		time.Sleep(wait)
	}
}

// randCounter makes idempotency keys unique within the test process.
var randCounter atomic.Int64

func (l *moveLoad) fail(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failures = append(l.failures, fmt.Sprintf(format, args...))
}

// during returns the latencies of the requests that were in flight at
// some point between from and to, with how many there were.
func (l *moveLoad) during(from, to time.Time) latency.Samples {
	l.mu.Lock()
	defer l.mu.Unlock()
	var s latency.Samples
	for _, sp := range l.spans {
		if sp.end.After(from) && sp.start.Before(to) {
			s = append(s, sp.end.Sub(sp.start))
		}
	}
	return s
}

// send is call with an Idempotency-Key.
func (n *clusterNode) send(method, slug, path, key string, body any, idempotencyKey string) (int, []byte, http.Header) {
	b, _ := json.Marshal(body) // the tests' bodies always marshal
	req, err := http.NewRequest(method, fmt.Sprintf("https://%s.localhost:%d%s", slug, n.httpsPort, path), bytes.NewReader(b))
	if err != nil {
		return 0, []byte(err.Error()), nil
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", idempotencyKey)
	resp, err := n.client.Do(req)
	if err != nil {
		return 0, []byte(err.Error()), http.Header{}
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data, resp.Header
}

// dataDir is the node's data directory.
func (n *clusterNode) dataDir() string {
	for _, kv := range n.env {
		if v, ok := strings.CutPrefix(kv, "CONTEXTLITE_DATA="); ok {
			return v
		}
	}
	return ""
}

// checkReadable fails the test unless every acknowledged document reads
// back with its content through node.
func (l *moveLoad) checkReadable(t *testing.T, node *clusterNode) {
	t.Helper()
	bad := 0
	for id, content := range l.acked {
		var doc struct {
			Content string `json:"content"`
		}
		status, data := node.get(l.tenant.Slug, "/api/v1/documents/"+id, l.tenant.APIKey)
		if status != http.StatusOK || json.Unmarshal(data, &doc) != nil || doc.Content != content {
			if bad++; bad <= 5 {
				t.Errorf("%s: document %s = %d %.200s, want its content %q", node.id, id, status, data, content)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d acknowledged documents not readable", node.id, bad, len(l.acked))
	}
}

// get sends a GET, retried after Retry-After while the tier's rate limit
// refuses it (reading every document back through three nodes outruns it).
func (n *clusterNode) get(slug, path, key string) (int, []byte) {
	for range 10 {
		status, data, header := n.call("GET", slug, path, key, nil)
		if status != http.StatusTooManyRequests {
			return status, data
		}
		secs, _ := strconv.Atoi(header.Get("Retry-After"))
		time.Sleep(time.Duration(max(secs, 1)) * time.Second)
	}
	return http.StatusTooManyRequests, []byte("rate limited ten times in a row")
}

// TestMoveTenantUnderLoad moves a tenant between nodes while eight
// clients write through all three: every acknowledged write is readable
// afterwards through every node, the control plane has the new home at
// the next epoch, the old node has no copy left, and the usage billed
// equals what the clients saw acknowledged. Then the new home is drained
// and the tenant moves on.
func TestMoveTenantUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("the move test builds and runs the binary three times; skipped in -short mode")
	}
	nodes, dsn := startCluster(t, 3, movePortBase)
	a, b, c := nodes[0], nodes[1], nodes[2]
	tenant := signupAt(t, a, "Movers", "enterprise")
	load := newMoveLoad(nodes, tenant)
	for i := range 20 {
		load.write(context.Background(), a, fmt.Sprintf("seed/%d.md", i), fmt.Sprintf("Seed document %d, written before the move.", i))
	}

	// The endpoints nodes call on each other refuse clients.
	for _, path := range []string{"/cluster/v1/tenants/" + tenant.TenantID + "/snapshot", "/cluster/v1/tenants/" + tenant.TenantID} {
		for _, method := range []string{"GET", "DELETE"} {
			if status, body, _ := c.call(method, "", path, "", nil); status != http.StatusUnauthorized {
				t.Errorf("%s %s without the cluster's signature = %d %s, want 401", method, path, status, body)
			}
		}
	}

	stop := load.run(moveWriters, 0)
	time.Sleep(time.Second)
	// The CLI on node C asks its node, which passes the move to the home, A.
	out, err := c.runCLI("tenant", "move", tenant.Slug, b.id)
	if err != nil {
		stop()
		t.Fatalf("contextlite tenant move: %v\n%s", err, out)
	}
	time.Sleep(time.Second)
	stop()
	var moved moveResult
	if err := json.Unmarshal([]byte(out), &moved); err != nil {
		t.Fatalf("contextlite tenant move printed %q: %v", out, err)
	}
	if moved.TenantID != tenant.TenantID || moved.From != a.id || moved.To != b.id || moved.Epoch != 2 {
		t.Errorf("move = %+v, want %s from %s to %s at epoch 2", moved, tenant.TenantID, a.id, b.id)
	}
	for _, f := range load.failures {
		t.Error(f)
	}
	t.Logf("%d documents acknowledged, %d answers 503 retried; the tenant was fenced %d ms of a %d ms move",
		len(load.acked), load.unavailable.Load(), moved.FencedMS, moved.TotalMS)

	if home, epoch := homeRow(t, dsn, tenant.TenantID); home != b.id || epoch != 2 {
		t.Errorf("home = %s at epoch %d, want %s at epoch 2", home, epoch, b.id)
	}
	if _, err := os.Stat(filepath.Join(a.dataDir(), "tenants", tenant.TenantID)); !os.IsNotExist(err) {
		t.Errorf("the old home still has the tenant's directory (%v)", err)
	}
	for _, n := range nodes {
		load.checkReadable(t, n)
		load.assemble(context.Background(), n)
		load.assemble(context.Background(), n)
	}

	// Draining B moves the tenant to the least loaded other node.
	var report struct {
		Node   string       `json:"node"`
		Moves  []moveResult `json:"moves"`
		Failed []any        `json:"failed"`
	}
	a.must(t, http.StatusOK, "POST", "", "/admin/v1/nodes/"+b.id+"/drain", operatorToken, nil, &report)
	if len(report.Moves) != 1 || len(report.Failed) != 0 || report.Moves[0].From != b.id || report.Moves[0].Epoch != 3 {
		t.Errorf("drain of %s = %+v, want the tenant moved from it at epoch 3", b.id, report)
	}
	if home, epoch := homeRow(t, dsn, tenant.TenantID); home == b.id || epoch != 3 {
		t.Errorf("after the drain, home = %s at epoch %d, want another node at epoch 3", home, epoch)
	}
	if on := tenantsOn(t, dsn, b.id); len(on) != 0 {
		t.Errorf("the drained node still homes %v", on)
	}
	load.checkReadable(t, c)
	for _, n := range nodes {
		load.assemble(context.Background(), n)
	}

	// Billing: the nodes ship what they hold as they stop.
	for _, n := range nodes {
		n.stop()
	}
	usage := usageTotals(t, "", dsn, tenant.TenantID)
	t.Logf("usage_events: %v; acknowledged: %d documents, %d queries", usage, len(load.acked), load.queries)
	if usage["documents_added"] != int64(len(load.acked)) || usage["queries"] != int64(load.queries) {
		t.Errorf("billed %d documents and %d queries, acknowledged %d and %d",
			usage["documents_added"], usage["queries"], len(load.acked), load.queries)
	}
}

// tenantsOn reads the tenants homed on node in the control plane.
func tenantsOn(t testing.TB, dsn, node string) []string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT tenant_id FROM tenant_homes WHERE node_id = $1", node)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return ids
}
