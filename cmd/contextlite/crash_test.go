package main

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"
)

// Shape of the load and of the crash scenario.
const (
	documentWorkers = 4
	queryWorkers    = 4
	loadRate        = 300 // requests per second, all workers together; far below the enterprise limit
	failurePause    = 100 * time.Millisecond
	loadBeforeCrash = 4 * time.Second // before the outage (PostgreSQL) or the kill
	loadAfterOutage = 2 * time.Second // PostgreSQL back up until the kill
	loadAfterCrash  = 4 * time.Second
	dbOutage        = 30 * time.Second
	retryAttempts   = 20
	retryPause      = 250 * time.Millisecond
	retryWorkers    = 8
	replaysPerKind  = 50 // acknowledged requests sent again after the restart
)

// TestCrash runs the real binary under load, SIGKILLs and restarts it
// (and, with PostgreSQL, stops the control plane for a while), retries
// every request whose outcome is unknown, then checks that the usage
// shipped to the control plane bills each request exactly once.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("the crash test builds and runs the binary for about a minute; skipped in -short mode")
	}
	bin := buildBinary(t)
	t.Run("sqlite", func(t *testing.T) {
		crashScenario(t, bin, nil)
	})
	t.Run("postgres", func(t *testing.T) {
		crashScenario(t, bin, startPostgres(t))
	})
}

// crashScenario runs the load, the crash and the checks against the
// embedded SQLite control plane (pg nil) or pg.
func crashScenario(t *testing.T, bin string, pg *pgServer) {
	dsn := ""
	if pg != nil {
		dsn = pg.DSN()
	}
	dataDir := t.TempDir()
	srv := newServer(t, bin, dataDir, dsn)
	creds := srv.createTenant("crash@example.test", "Crash", "enterprise")
	api := newAPIClient(srv, creds.Tenant.Slug, creds.APIKey)
	srv.start(api.ready)

	l := newLedger("before-crash")
	stopLoad := runLoad(api, l)
	t.Cleanup(stopLoad) // when the test fails before the load ends
	time.Sleep(loadBeforeCrash)
	if pg != nil {
		l.setPhase("db-down")
		pg.stop()
		time.Sleep(dbOutage)
		pg.start()
		l.setPhase("db-back")
		time.Sleep(loadAfterOutage)
	}
	l.setPhase("server-killed")
	srv.kill()
	srv.start(api.ready)
	api.http.CloseIdleConnections()
	l.setPhase("after-restart")
	time.Sleep(loadAfterCrash)
	stopLoad()

	l.setPhase("retry")
	retried := l.retryPending(api)
	replayed := l.replay(t, api, "before-crash", replaysPerKind)
	st := l.stats()
	t.Logf("requests: %d documents (%d succeeded), %d queries (%d succeeded); kills 1, server runs %d; %d requests retried in %d attempts, %d succeeded after a failure; %d acknowledged before the kill sent again",
		st.documents, st.documentsOK, st.queries, st.queriesOK, srv.runs, retried.requests, retried.attempts, st.recovered, replayed)
	for _, line := range l.phaseReport() {
		t.Logf("phase %s", line)
	}
	for _, msg := range l.problems() {
		t.Error(msg)
	}

	docs := checkDocuments(t, api, l)
	srv.stop()

	usage := usageTotals(t, dataDir, dsn, creds.Tenant.ID)
	t.Logf("usage_events: %v; expected queries=%d documents_added=%d storage_bytes=%d documents_deleted=0 tokens>0",
		usage, st.queriesOK, docs.count, docs.bytes)
	expect := map[string]int64{
		"queries":           int64(st.queriesOK),
		"documents_added":   int64(docs.count),
		"storage_bytes":     docs.bytes,
		"documents_deleted": 0,
	}
	for meter, want := range expect {
		if got := usage[meter]; got != want {
			t.Errorf("sum(%s) = %d, want %d", meter, got, want)
		}
	}
	if usage["tokens"] <= 0 {
		t.Errorf("sum(tokens) = %d, want > 0", usage["tokens"])
	}
}

// requestKind is what a load request does.
type requestKind int

const (
	addDocumentRequest requestKind = iota
	assembleRequest
)

// endpoint returns the path the kind is POSTed to.
func (k requestKind) endpoint() string {
	if k == addDocumentRequest {
		return "/api/v1/documents"
	}
	return "/api/v1/context/assemble"
}

// outcome is the result of one attempt of a request.
type outcome int

const (
	succeeded   outcome = iota // 2xx
	ambiguous                  // transport error: the server may or may not have acted
	serverError                // 5xx: retried
	clientError                // 4xx: a bug in the server or the test
	outcomeCount
)

func (o outcome) String() string { return [...]string{"ok", "ambiguous", "5xx", "4xx"}[o] }

// classify returns the outcome of an attempt that got status and body or
// err. A 409 idempotency_key_in_use means an earlier attempt still runs:
// its outcome is unknown yet.
func classify(status int, body []byte, err error) outcome {
	switch {
	case err != nil:
		return ambiguous
	case status == http.StatusConflict && bytes.Contains(body, []byte(`"idempotency_key_in_use"`)):
		return ambiguous
	case status >= 200 && status < 300:
		return succeeded
	case status >= 500:
		return serverError
	}
	return clientError
}

// loadRequest is one logical request; its retries reuse its key and body.
type loadRequest struct {
	kind requestKind
	key  string // Idempotency-Key
	body []byte
	path string // documents: the document's path
	size int    // documents: its stored bytes, path and content

	// Guarded by the ledger's mutex.
	attempts int
	status   int    // of the successful attempt
	answer   []byte // its body
	okPhase  string // the phase it succeeded in
	rejected string // the 4xx answer, if any
	failed   bool   // an attempt failed
}

// tally counts attempts per outcome.
type tally [outcomeCount]int

// ledger records every request of the load and the outcome of each
// attempt, per phase of the scenario.
type ledger struct {
	mu       sync.Mutex
	requests []*loadRequest
	phase    string
	phases   []string // in the order they began
	tallies  map[string]*tally
	firstErr map[string]string // per phase: the first 5xx answer
	nextPath atomic.Int64
}

func newLedger(phase string) *ledger {
	l := &ledger{tallies: make(map[string]*tally), firstErr: make(map[string]string)}
	l.setPhase(phase)
	return l
}

// setPhase names the phase the next attempts are counted in.
func (l *ledger) setPhase(phase string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.phase = phase
	if l.tallies[phase] == nil {
		l.tallies[phase] = new(tally)
		l.phases = append(l.phases, phase)
	}
}

// add records a new request.
func (l *ledger) add(r *loadRequest) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.requests = append(l.requests, r)
}

// attempt sends r once and records the outcome.
func (l *ledger) attempt(api *apiClient, r *loadRequest) outcome {
	status, body, err := api.do(http.MethodPost, r.kind.endpoint(), r.key, r.body)
	o := classify(status, body, err)
	l.mu.Lock()
	defer l.mu.Unlock()
	r.attempts++
	l.tallies[l.phase][o]++
	switch o {
	case succeeded:
		r.status, r.answer, r.okPhase = status, body, l.phase
	case clientError:
		r.rejected = fmt.Sprintf("%d %s", status, body)
	case serverError:
		r.failed = true
		if l.firstErr[l.phase] == "" {
			l.firstErr[l.phase] = fmt.Sprintf("POST %s = %d %s", r.kind.endpoint(), status, body)
		}
	default:
		r.failed = true
	}
	return o
}

// done reports whether r needs no more attempts. Callers hold l.mu.
func (r *loadRequest) done() bool { return r.status != 0 || r.rejected != "" }

// pending returns the requests that neither succeeded nor were rejected.
func (l *ledger) pending() []*loadRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	var rs []*loadRequest
	for _, r := range l.requests {
		if !r.done() {
			rs = append(rs, r)
		}
	}
	return rs
}

// retryStats counts the retry phase.
type retryStats struct{ requests, attempts int }

// retryPending resends every pending request, with its key and body,
// until it succeeds or retryAttempts attempts are spent.
func (l *ledger) retryPending(api *apiClient) retryStats {
	pending := l.pending()
	queue := make(chan *loadRequest)
	var attempts atomic.Int64
	var wg sync.WaitGroup
	for range retryWorkers {
		wg.Go(func() {
			for r := range queue {
				for range retryAttempts {
					attempts.Add(1)
					if o := l.attempt(api, r); o == succeeded || o == clientError {
						break
					}
					time.Sleep(retryPause)
				}
			}
		})
	}
	for _, r := range pending {
		queue <- r
	}
	close(queue)
	wg.Wait()
	return retryStats{requests: len(pending), attempts: int(attempts.Load())}
}

// replay sends again, with their keys and bodies, up to n requests of each
// kind acknowledged in phase: the server must replay their answers and
// bill none of them a second time.
func (l *ledger) replay(t *testing.T, api *apiClient, phase string, n int) int {
	t.Helper()
	var picked []*loadRequest
	perKind := make(map[requestKind]int)
	l.mu.Lock()
	for _, r := range l.requests {
		if r.okPhase == phase && perKind[r.kind] < n {
			perKind[r.kind]++
			picked = append(picked, r)
		}
	}
	l.mu.Unlock()
	for _, r := range picked {
		status, header, body, err := api.send(http.MethodPost, r.kind.endpoint(), r.key, r.body)
		if o := classify(status, body, err); o != succeeded {
			t.Errorf("replayed POST %s (key %s) = %v: %d %s %v", r.kind.endpoint(), r.key, o, status, body, err)
		} else if status != r.status || !bytes.Equal(body, r.answer) || header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("replayed POST %s (key %s) = %d %s, want the first answer %d %s replayed", r.kind.endpoint(), r.key, status, body, r.status, r.answer)
		}
	}
	return len(picked)
}

// loadStats sums up the ledger's requests.
type loadStats struct {
	documents, documentsOK int
	queries, queriesOK     int
	recovered              int // succeeded after a failed attempt
}

func (l *ledger) stats() loadStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	var s loadStats
	for _, r := range l.requests {
		ok := r.status != 0
		if ok && r.failed {
			s.recovered++
		}
		switch r.kind {
		case addDocumentRequest:
			s.documents++
			if ok {
				s.documentsOK++
			}
		case assembleRequest:
			s.queries++
			if ok {
				s.queriesOK++
			}
		}
	}
	return s
}

// phaseReport returns a line of attempt outcomes per phase, with the
// first 5xx answer of the phase if any.
func (l *ledger) phaseReport() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var lines []string
	for _, phase := range l.phases {
		var parts []string
		for o, n := range l.tallies[phase] {
			parts = append(parts, fmt.Sprintf("%v=%d", outcome(o), n))
		}
		if e := l.firstErr[phase]; e != "" {
			parts = append(parts, "first 5xx: "+e)
		}
		lines = append(lines, phase+": "+strings.Join(parts, " "))
	}
	return lines
}

// problems describes the requests that were rejected or never succeeded,
// the first few of each in full.
func (l *ledger) problems() []string {
	const maxShown = 5
	l.mu.Lock()
	defer l.mu.Unlock()
	var rejected, unfinished []string
	for _, r := range l.requests {
		switch {
		case r.rejected != "":
			rejected = append(rejected, fmt.Sprintf("POST %s (key %s) rejected: %s", r.kind.endpoint(), r.key, r.rejected))
		case r.status == 0:
			unfinished = append(unfinished, fmt.Sprintf("POST %s (key %s) never succeeded in %d attempts", r.kind.endpoint(), r.key, r.attempts))
		}
	}
	var msgs []string
	for _, list := range [][]string{rejected, unfinished} {
		msgs = append(msgs, list[:min(len(list), maxShown)]...)
		if len(list) > maxShown {
			msgs = append(msgs, fmt.Sprintf("... and %d more like it", len(list)-maxShown))
		}
	}
	return msgs
}

// runLoad starts the document and query workers and returns a function
// that stops them and waits for their last requests; calls after the
// first do nothing.
func runLoad(api *apiClient, l *ledger) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ticker := time.NewTicker(time.Second / loadRate)
	var wg sync.WaitGroup
	for w := range documentWorkers + queryWorkers {
		kind := assembleRequest
		if w < documentWorkers {
			kind = addDocumentRequest
		}
		rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-ticker.C:
				}
				r := newLoadRequest(kind, rng, l)
				l.add(r)
				if o := l.attempt(api, r); o != succeeded {
					sleep(ctx, failurePause)
				}
			}
		})
	}
	return sync.OnceFunc(func() {
		cancel()
		ticker.Stop()
		wg.Wait()
	})
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// newLoadRequest makes a new request of kind with a fresh Idempotency-Key:
// a new document at a path of its own, or a query on the words the
// documents use.
func newLoadRequest(kind requestKind, rng *rand.Rand, l *ledger) *loadRequest {
	r := &loadRequest{kind: kind, key: crand.Text()}
	var body any
	switch kind {
	case addDocumentRequest:
		n := l.nextPath.Add(1)
		content := goSource(rng, fmt.Sprintf("crash%d", n), 200+rng.IntN(1801))
		r.path = fmt.Sprintf("crash/%d.go", n)
		r.size = len(r.path) + len(content)
		body = map[string]string{"workspace": "default", "path": r.path, "content": content}
	case assembleRequest:
		query := strings.Join([]string{pickWord(rng), pickWord(rng), pickWord(rng)}, " ")
		body = map[string]any{"query": query, "max_tokens": 2000}
	}
	r.body, _ = json.Marshal(body) // maps of strings and ints always marshal
	return r
}

// words are the vocabulary of the generated sources and the queries.
var words = [...]string{
	"parse", "token", "cache", "buffer", "index", "tenant", "chunk", "merge",
	"score", "budget", "stream", "retry", "ledger", "outbox", "batch", "window",
	"shard", "cursor", "digest", "quota",
}

func pickWord(rng *rand.Rand) string { return words[rng.IntN(len(words))] }

// goSource returns Go-like source code of exactly size bytes.
func goSource(rng *rand.Rand, pkg string, size int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "package %s\n\nimport \"strings\"\n\n", pkg)
	for i := 0; b.Len() < size; i++ {
		verb, noun := pickWord(rng), pickWord(rng)
		name := fmt.Sprintf("%s%s%d", title(verb), title(noun), i)
		fmt.Fprintf(&b, "// %s will %s the %s of a %s.\nfunc %s(s string, n int) int {\n\tif strings.Contains(s, %q) {\n\t\treturn n * %d\n\t}\n\treturn len(s) + %d\n}\n\n",
			name, verb, noun, pickWord(rng), name, noun, rng.IntN(1000), rng.IntN(100))
	}
	return b.String()[:size]
}

func title(w string) string { return strings.ToUpper(w[:1]) + w[1:] }

// storedDocuments are the documents the tenant has after the run.
type storedDocuments struct {
	count int
	bytes int64
}

// checkDocuments compares the documents the server lists and its storage
// report with the ledger: every document that was acknowledged exists
// with its full content, and no other document does.
func checkDocuments(t *testing.T, api *apiClient, l *ledger) storedDocuments {
	t.Helper()
	listed := listDocuments(t, api)
	var info struct {
		Documents    int64 `json:"documents"`
		StorageBytes int64 `json:"storage_bytes"`
	}
	if err := api.getJSON("/api/v1/storage/info", &info); err != nil {
		t.Fatal(err)
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	sent := make(map[string]*loadRequest)
	for _, r := range l.requests {
		if r.kind == addDocumentRequest {
			sent[r.path] = r
		}
	}
	var stored storedDocuments
	for path, size := range listed {
		r := sent[path]
		switch {
		case r == nil:
			t.Errorf("document %s exists but was never sent", path)
		case size != int64(r.size):
			t.Errorf("document %s has %d bytes, sent %d", path, size, r.size)
		}
		stored.count++
		stored.bytes += size
	}
	var created, afterRetry int
	for path, r := range sent {
		_, exists := listed[path]
		if r.status != 0 && !exists {
			t.Errorf("document %s was acknowledged (%d) but is missing", path, r.status)
		}
		if r.status == http.StatusCreated {
			created++
		} else if r.status != 0 {
			afterRetry++
		}
	}
	t.Logf("documents: %d stored (%d bytes); acknowledged 201 %d, 200 after an earlier attempt %d",
		stored.count, stored.bytes, created, afterRetry)
	if info.Documents != int64(stored.count) || info.StorageBytes != stored.bytes {
		t.Errorf("storage/info = %d documents, %d bytes; the list has %d, %d", info.Documents, info.StorageBytes, stored.count, stored.bytes)
	}
	return stored
}

// listDocuments returns the size of every document of the default
// workspace, by path.
func listDocuments(t *testing.T, api *apiClient) map[string]int64 {
	t.Helper()
	sizes := make(map[string]int64)
	cursor := ""
	for {
		var page struct {
			Documents []struct {
				Path      string `json:"path"`
				SizeBytes int64  `json:"size_bytes"`
			} `json:"documents"`
			NextCursor string `json:"next_cursor"`
		}
		q := url.Values{"workspace": {"default"}, "limit": {"500"}, "cursor": {cursor}}
		if err := api.getJSON("/api/v1/documents?"+q.Encode(), &page); err != nil {
			t.Fatal(err)
		}
		for _, d := range page.Documents {
			sizes[d.Path] = d.SizeBytes
		}
		if page.NextCursor == "" {
			return sizes
		}
		cursor = page.NextCursor
	}
}

// usageTotals sums the tenant's usage_events per meter in the control
// plane, read with plain SQL: <dataDir>/control.db when dsn is empty, else
// PostgreSQL.
func usageTotals(t *testing.T, dataDir, dsn, tenantID string) map[string]int64 {
	t.Helper()
	driver, source, query := "sqlite", filepath.Join(dataDir, "control.db"),
		`SELECT meter, SUM(quantity) FROM usage_events WHERE tenant_id = ? GROUP BY meter`
	if dsn != "" {
		driver, source, query = "pgx", dsn,
			`SELECT meter, SUM(quantity)::bigint FROM usage_events WHERE tenant_id = $1 GROUP BY meter`
	}
	totals, err := sumUsage(driver, source, query, tenantID)
	if err != nil {
		t.Fatalf("read usage_events: %v", err)
	}
	return totals
}

func sumUsage(driver, source, query, tenantID string) (map[string]int64, error) {
	db, err := sql.Open(driver, source)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.Query(query, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	totals := make(map[string]int64)
	for rows.Next() {
		var meter string
		var sum int64
		if err := rows.Scan(&meter, &sum); err != nil {
			return nil, err
		}
		totals[meter] = sum
	}
	return totals, rows.Err()
}
