//go:build unix

package caddymodule

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/contextlite/cloud/contextengine"
	"github.com/contextlite/cloud/internal/latency"
	"github.com/contextlite/cloud/tenancy"
)

// Loads of BenchmarkAssembleHTTP: the number of clients and how long each
// phase sends requests.
const (
	assembleWarmup    = 20
	assembleSoloTime  = 5 * time.Second
	assembleClients   = 8
	assembleCrowdTime = 5 * time.Second
	assembleMaxTokens = 4000
)

// BenchmarkAssembleHTTP sends POST /api/v1/context/assemble through the
// root Caddyfile, served in-process over HTTPS (per-IP limit, key auth,
// meter, tier rate limit, API), to an enterprise tenant, whose tier has no
// monthly query quota and a rate limit of 2000 requests per 2 s, holding
// ~2 KB pieces of GOROOT's Go sources: 10,000 documents, or 100,000 with
// CONTEXTLITE_BENCH_LARGE=1. The tenant is built through the engine
// in-process. Queries are the judged godoc queries in turn, with the
// result cache off and a 4000-token budget. One client sends requests one
// after another on a keep-alive connection, then 8 clients, each on its
// own connection, send them at once; it reports the latencies of both and
// the rate of the 8, the engine's own time (the response's
// timings.total_us), and the process's CPU time per assemble and its share
// of the machine's CPUs, which tells when other processes took part of
// them. Run it with -benchtime 1x.
func BenchmarkAssembleHTTP(b *testing.B) {
	docs := 10_000
	if os.Getenv("CONTEXTLITE_BENCH_LARGE") == "1" {
		docs = 100_000
	}
	b.Run(fmt.Sprintf("docs=%dk", docs/1000), func(b *testing.B) {
		queries := assembleQueries(b)
		pieces := benchPieces(b)
		dir := b.TempDir()
		tc := startBenchServer(b, dir)
		// resetZones, without saving the config in the user's config directory.
		b.Cleanup(func() { tc.InitServer("{\n\tadmin "+testAdminAddr+"\n\tpersist_config off\n}\n", "caddyfile") })
		tenantID, key := enterpriseTenant(b)

		start := time.Now()
		fillTenant(b, tenantID, pieces, docs)
		elapsed := time.Since(start)
		b.Logf("built the tenant: %d docs (%d distinct pieces) in %v, %.0f docs/s",
			docs, len(pieces), elapsed.Round(time.Millisecond), float64(docs)/elapsed.Seconds())

		bodies := make([][]byte, len(queries))
		for i, q := range queries {
			bodies[i], _ = json.Marshal(map[string]any{"query": q, "max_tokens": assembleMaxTokens, "use_cache": false})
		}
		url := "https://bench.localhost:" + testHTTPSPort + "/api/v1/context/assemble"
		l := &assembleLoad{url: url, key: key, bodies: bodies}

		// Handshakes, the certificate and the caches, on every connection.
		l.run(b, assembleClients, assembleWarmup/assembleClients+1, 0)
		for b.Loop() {
			solo := l.run(b, 1, 0, assembleSoloTime)
			crowd := l.run(b, assembleClients, 0, assembleCrowdTime)
			solo.latency.Report(b, "1client-", "ms")
			solo.engine.Report(b, "1client-engine-", "ms")
			b.ReportMetric(solo.cpuPerOp(), "1client-cpu-ms/op")
			b.ReportMetric(crowd.rate(), "8client-assembles/s")
			b.ReportMetric(crowd.cpuPerOp(), "8client-cpu-ms/op")
			b.ReportMetric(crowd.cpuShare(), "8client-cpu-%")
			crowd.latency.Report(b, "8client-", "ms")
			crowd.engine.Report(b, "8client-engine-", "ms")
			b.Logf("1 client: %d assembles in %v; 8 clients: %d in %v; %.1f documents and %.0f tokens per answer",
				len(solo.latency), solo.wall.Round(time.Millisecond), len(crowd.latency), crowd.wall.Round(time.Millisecond),
				float64(solo.spans+crowd.spans)/float64(len(solo.latency)+len(crowd.latency)),
				float64(solo.tokens+crowd.tokens)/float64(len(solo.latency)+len(crowd.latency)))
		}
	})
}

// startBenchServer loads the root Caddyfile, with its production defaults
// but the test ports and dataDir, into the in-process Caddy.
func startBenchServer(b *testing.B, dataDir string) *caddytest.Tester {
	b.Helper()
	raw, err := os.ReadFile("../Caddyfile")
	if err != nil {
		b.Fatal(err)
	}
	for k, v := range map[string]string{
		"CONTEXTLITE_ADMIN": testAdminAddr, "CONTEXTLITE_DATA": dataDir, "CONTEXTLITE_DOMAIN": "localhost",
		"CONTEXTLITE_HTTP_PORT": testHTTPPort, "CONTEXTLITE_HTTPS_PORT": testHTTPSPort,
	} {
		b.Setenv(k, v)
	}
	// Keep the loaded config out of the user's config directory.
	config := strings.Replace(string(raw), "\n{\n", "\n{\n\tpersist_config off\n", 1)
	if config == string(raw) {
		b.Fatal("no global options block in ../Caddyfile")
	}
	tc := caddytest.NewTester(b)
	tc.InitServer(config, "caddyfile")
	if b.Failed() {
		b.FailNow()
	}
	return tc
}

// enterpriseTenant signs up the tenant "bench" in the running app's
// control plane, moves it to the enterprise tier (no monthly query quota,
// 2000 requests per 2 s) and returns its id and API key.
func enterpriseTenant(b *testing.B) (id, key string) {
	b.Helper()
	states := sharedStates()
	if len(states) != 1 {
		b.Fatalf("%d shared states, want 1", len(states))
	}
	s := states[0]
	ctx := context.Background()
	svc := &tenancy.Service{Store: s.store, Storage: s.engine, Tiers: tenancy.DefaultTiers(), Now: time.Now}
	res, err := svc.Signup(ctx, "ops@bench.test", "Bench")
	if err != nil {
		b.Fatal(err)
	}
	if err := s.store.SetTier(ctx, res.Tenant.ID, "enterprise"); err != nil {
		b.Fatal(err)
	}
	return res.Tenant.ID, res.APIKey
}

// fillTenant adds docs pieces to the tenant through the running app's
// engine, in batches of 500.
func fillTenant(b *testing.B, tenantID string, pieces []benchPiece, docs int) {
	b.Helper()
	ctx := context.Background()
	tn, err := sharedStates()[0].engine.Open(ctx, tenantID)
	if err != nil {
		b.Fatal(err)
	}
	defer tn.Close()
	const batch = 500
	for from := 0; from < docs; from += batch {
		n := min(batch, docs-from)
		in := make([]contextengine.NewDocument, n)
		for i := range in {
			in[i] = pieceDoc(pieces, from+i)
		}
		res, err := tn.AddBatch(ctx, in)
		if err != nil {
			b.Fatal(err)
		}
		for i, r := range res {
			if r.Err != nil {
				b.Fatalf("document %s: %v", in[i].Path, r.Err)
			}
		}
	}
}

// assembleLoad sends assemble requests, taking the bodies in turn, from
// clients that keep their connections from one run to the next.
type assembleLoad struct {
	url, key string
	bodies   [][]byte
	next     atomic.Int64
	clients  []*http.Client
}

// assembleRun is the outcome of one run of assembleLoad. cpu is the CPU
// time of the whole process, server and clients.
type assembleRun struct {
	latency, engine latency.Samples
	wall, cpu       time.Duration
	spans, tokens   int
}

func (r assembleRun) rate() float64 { return float64(len(r.latency)) / r.wall.Seconds() }

// cpuPerOp is the process's CPU time per assemble in ms.
func (r assembleRun) cpuPerOp() float64 {
	return float64(r.cpu) / float64(time.Millisecond) / float64(len(r.latency))
}

// cpuShare is the process's CPU time in percent of all the machine's:
// well under 100 with 8 clients means other processes had part of it.
func (r assembleRun) cpuShare() float64 {
	return float64(r.cpu) / float64(r.wall) / float64(runtime.NumCPU()) * 100
}

// processCPU returns the user and system CPU time of the process so far.
func processCPU() time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// run sends requests from clients clients, each with its own keep-alive
// connection, until each has sent count (when count > 0) or for d. It
// fails b on any error, non-200 answer or answer without documents.
func (l *assembleLoad) run(b *testing.B, clients, count int, d time.Duration) assembleRun {
	b.Helper()
	var (
		mu     sync.Mutex
		out    assembleRun
		failed error
		wg     sync.WaitGroup
	)
	for len(l.clients) < clients {
		c := benchClient()
		b.Cleanup(c.CloseIdleConnections)
		l.clients = append(l.clients, c)
	}
	start, cpu := time.Now(), processCPU()
	deadline := start.Add(d)
	for _, client := range l.clients[:clients] {
		wg.Go(func() {
			var mine assembleRun
			for i := 0; count > 0 && i < count || count == 0 && time.Now().Before(deadline); i++ {
				body := l.bodies[int(l.next.Add(1)-1)%len(l.bodies)]
				t0 := time.Now()
				ans, err := l.assemble(client, body)
				if err != nil {
					mu.Lock()
					failed = err
					mu.Unlock()
					return
				}
				mine.latency = append(mine.latency, time.Since(t0))
				mine.engine = append(mine.engine, time.Duration(ans.Timings.TotalSeconds*float64(time.Second)))
				mine.spans += len(ans.Documents)
				mine.tokens += ans.TotalTokens
			}
			mu.Lock()
			out.latency = append(out.latency, mine.latency...)
			out.engine = append(out.engine, mine.engine...)
			out.spans += mine.spans
			out.tokens += mine.tokens
			mu.Unlock()
		})
	}
	wg.Wait()
	out.wall, out.cpu = time.Since(start), processCPU()-cpu
	if failed != nil {
		b.Fatal(failed)
	}
	return out
}

// assembleAnswer is the part of an assemble response the benchmark checks.
type assembleAnswer struct {
	Documents []struct {
		Path    string `json:"path"`
		Content string `json:"content"`
	} `json:"documents"`
	TotalTokens int  `json:"total_tokens"`
	CacheHit    bool `json:"cache_hit"`
	Timings     struct {
		TotalSeconds float64 `json:"total_seconds"`
	} `json:"timings"`
}

func (l *assembleLoad) assemble(client *http.Client, body []byte) (*assembleAnswer, error) {
	req, err := http.NewRequest("POST", l.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", l.key)
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var ans assembleAnswer
	dec := json.NewDecoder(resp.Body)
	if resp.StatusCode != http.StatusOK {
		var raw json.RawMessage
		dec.Decode(&raw)
		return nil, fmt.Errorf("assemble %s: %d %s", body, resp.StatusCode, raw)
	}
	if err := dec.Decode(&ans); err != nil {
		return nil, fmt.Errorf("assemble %s: %w", body, err)
	}
	switch {
	case len(ans.Documents) == 0 || ans.Documents[0].Content == "":
		return nil, fmt.Errorf("assemble %s: no documents", body)
	case ans.CacheHit:
		return nil, fmt.Errorf("assemble %s: answered from the cache", body)
	}
	return &ans, nil
}

// benchClient returns a client with one HTTP/1.1 keep-alive connection
// that dials 127.0.0.1 for every host and trusts any certificate.
func benchClient() *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			return dialer.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
		},
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true},
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{}, // HTTP/1.1
		MaxIdleConnsPerHost: 1,
		MaxConnsPerHost:     1,
	}}
}

// The corpus of the engine's benchmarks (contextengine/corpus_test.go):
// every .go file under GOROOT/src cut at line boundaries into pieces of
// about 2 KB, leaving out blank pieces and those over 64 KB (single lines
// of embedded data); past the last piece they repeat under copyN/ paths.
const (
	benchPieceBytes = 2048
	benchPieceMax   = 64 << 10
)

type benchPiece struct{ path, content string }

func benchPieces(b *testing.B) []benchPiece {
	b.Helper()
	goroot := runtime.GOROOT()
	if out, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
		goroot = strings.TrimSpace(string(out))
	}
	root := filepath.Join(goroot, "src")
	var pieces []benchPiece
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		var cur strings.Builder
		first, line := 1, 1
		flush := func() {
			if cur.Len() <= benchPieceMax && strings.TrimSpace(cur.String()) != "" {
				pieces = append(pieces, benchPiece{fmt.Sprintf("%s:%d", rel, first), cur.String()})
			}
			cur.Reset()
			first = line
		}
		for l := range strings.SplitAfterSeq(string(data), "\n") {
			if cur.Len() > 0 && cur.Len()+len(l) > benchPieceBytes {
				flush()
			}
			cur.WriteString(l)
			line++
		}
		flush()
		return err
	})
	if err != nil || len(pieces) == 0 {
		b.Skipf("no GOROOT sources under %s to build a corpus from: %v", root, err)
	}
	return pieces
}

// pieceDoc returns document i of the endless corpus.
func pieceDoc(pieces []benchPiece, i int) contextengine.NewDocument {
	p := pieces[i%len(pieces)]
	path := p.path
	if round := i / len(pieces); round > 0 {
		path = fmt.Sprintf("copy%d/%s", round, path)
	}
	return contextengine.NewDocument{Path: path, Language: "go", Content: p.content}
}

// assembleQueries returns the distinct texts of the judged godoc queries,
// found from the directory holding go.mod.
func assembleQueries(b *testing.B) []string {
	b.Helper()
	dir, err := os.Getwd()
	if err != nil {
		b.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			b.Fatal("no go.mod in any parent directory")
		}
		dir = parent
	}
	f, err := os.Open(filepath.Join(dir, "testdata/bench/godoc/queries.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var qs []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var q struct{ Text string }
		if err := json.Unmarshal(sc.Bytes(), &q); err != nil {
			b.Fatal(err)
		}
		if q.Text != "" && !slices.Contains(qs, q.Text) {
			qs = append(qs, q.Text)
		}
	}
	if err := sc.Err(); err != nil || len(qs) == 0 {
		b.Fatalf("%d queries: %v", len(qs), err)
	}
	return qs
}
