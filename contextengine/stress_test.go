package contextengine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	stressWriters = 8
	stressReaders = 8
	stressSlots   = 24 // documents (paths) each writer owns
	stressSeed    = 100
)

// stressDuration is how long the concurrent stress test runs:
// CONTEXTLITE_STRESS_DURATION, else 3s, or 1s with -short.
func stressDuration(t *testing.T) time.Duration {
	if s := os.Getenv("CONTEXTLITE_STRESS_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("CONTEXTLITE_STRESS_DURATION: %v", err)
		}
		return d
	}
	if testing.Short() {
		return time.Second
	}
	return 3 * time.Second
}

// stressLog collects the failures and operation counts of the goroutines.
type stressLog struct {
	mu     sync.Mutex
	errs   []error
	failed atomic.Int64
	ops    sync.Map // op name -> *atomic.Int64
	ids    []string // every document id ever acknowledged, for readers
}

func (l *stressLog) fail(err error) {
	if l.failed.Add(1) <= 20 {
		l.mu.Lock()
		l.errs = append(l.errs, err)
		l.mu.Unlock()
	}
}

func (l *stressLog) count(op string) {
	n, _ := l.ops.LoadOrStore(op, new(atomic.Int64))
	n.(*atomic.Int64).Add(1)
}

func (l *stressLog) publish(id string) {
	l.mu.Lock()
	l.ids = append(l.ids, id)
	l.mu.Unlock()
}

func (l *stressLog) randomID(rng *rand.Rand) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ids) == 0 {
		return "doc_none"
	}
	return l.ids[rng.IntN(len(l.ids))]
}

// slotState is a writer's acknowledged view of one of its paths.
type slotState struct {
	id      string // "" while the path holds no document
	content string
}

// stressWriter adds, replaces and deletes the documents of its own paths,
// checking every acknowledgement against its model of them.
type stressWriter struct {
	n     int
	tn    *Tenant
	rng   *rand.Rand
	log   *stressLog
	slots [stressSlots]slotState
	gone  []string // ids acknowledged as deleted
	ver   int
}

func (w *stressWriter) path(slot int) string { return fmt.Sprintf("w%d/slot%d.go", w.n, slot) }

// content returns a new version of a slot, with a term found nowhere else.
func (w *stressWriter) content(slot int) string {
	w.ver++
	return fmt.Sprintf("// Marker%dx%dx%d is version %d of writer %d slot %d.\n%s",
		w.n, slot, w.ver, w.ver, w.n, slot, goSource(1+w.rng.IntN(40)))
}

func (w *stressWriter) run(ctx context.Context, until time.Time) {
	for time.Now().Before(until) {
		var err error
		switch op := w.rng.IntN(10); {
		case op < 4:
			err = w.put(ctx, []int{w.rng.IntN(stressSlots)})
		case op < 6:
			err = w.put(ctx, w.rng.Perm(stressSlots)[:2+w.rng.IntN(8)])
		case op < 7:
			err = w.putSame(ctx, w.rng.IntN(stressSlots))
		default:
			err = w.delete(ctx, w.rng.IntN(stressSlots))
		}
		if err != nil {
			w.log.fail(fmt.Errorf("writer %d: %w", w.n, err))
			return // the model may no longer match the store
		}
	}
}

// put writes new content to slots in one batch; new documents sometimes
// bring their own id.
func (w *stressWriter) put(ctx context.Context, slots []int) error {
	docs := make([]NewDocument, len(slots))
	for i, s := range slots {
		docs[i] = NewDocument{Path: w.path(s), Content: w.content(s)}
		if w.slots[s].id == "" && w.rng.IntN(2) == 0 {
			docs[i].ID = fmt.Sprintf("client-w%d-v%d", w.n, w.ver)
		}
	}
	res, err := w.tn.AddBatch(ctx, docs)
	w.log.count("write-batch")
	if err != nil {
		return err
	}
	for i, s := range slots {
		if err := w.ack(s, docs[i], res[i]); err != nil {
			return err
		}
	}
	return nil
}

// ack checks the result of storing doc in slot s and records it.
func (w *stressWriter) ack(s int, doc NewDocument, r AddResult) error {
	old := w.slots[s]
	want := StatusUpdated
	if old.id == "" {
		want = StatusCreated
	}
	switch {
	case r.Err != nil:
		return fmt.Errorf("add %s: %w", doc.Path, r.Err)
	case r.Status != want:
		return fmt.Errorf("add %s: status %s, want %s", doc.Path, r.Status, want)
	case old.id != "" && r.ID != old.id, doc.ID != "" && r.ID != doc.ID:
		return fmt.Errorf("add %s: id %s, want %s or %s", doc.Path, r.ID, old.id, doc.ID)
	}
	w.slots[s] = slotState{id: r.ID, content: doc.Content}
	w.log.publish(r.ID)
	w.log.count("doc-" + want)
	return nil
}

// putSame re-adds a slot's current content, which must be a no-op.
func (w *stressWriter) putSame(ctx context.Context, s int) error {
	cur := w.slots[s]
	if cur.id == "" {
		return w.put(ctx, []int{s})
	}
	r, err := w.tn.Add(ctx, NewDocument{Path: w.path(s), Content: cur.content})
	w.log.count("doc-unchanged")
	if err != nil {
		return err
	}
	if r.Status != StatusUnchanged || r.ID != cur.id {
		return fmt.Errorf("re-add %s: %s %s, want unchanged %s", w.path(s), r.Status, r.ID, cur.id)
	}
	return nil
}

func (w *stressWriter) delete(ctx context.Context, s int) error {
	cur := w.slots[s]
	if cur.id == "" {
		return w.put(ctx, []int{s})
	}
	size, err := w.tn.Delete(ctx, cur.id)
	w.log.count("doc-deleted")
	if err != nil {
		return fmt.Errorf("delete %s: %w", cur.id, err)
	}
	if want := int64(len(cur.content) + len(w.path(s))); size != want {
		return fmt.Errorf("delete %s freed %d bytes, want %d", cur.id, size, want)
	}
	w.slots[s] = slotState{}
	w.gone = append(w.gone, cur.id)
	return nil
}

// stressRead runs one random read and checks what it can of the answer.
func stressRead(ctx context.Context, m *Manager, tn *Tenant, rng *rand.Rand, log *stressLog) error {
	query := fmt.Sprintf("writer %d slot %d Func%d prints", rng.IntN(stressWriters), rng.IntN(stressSlots), rng.IntN(40))
	switch op := rng.IntN(6); op {
	case 0, 1:
		req := Request{Query: query, MaxTokens: 500 + rng.IntN(4000), NoCache: op == 1}
		log.count("read-assemble")
		res, err := tn.Assemble(ctx, req)
		if err == nil && res.TotalTokens > req.MaxTokens {
			err = fmt.Errorf("assembled %d tokens, budget %d", res.TotalTokens, req.MaxTokens)
		}
		return err
	case 2:
		log.count("read-manager-assemble")
		_, err := m.Assemble(ctx, tn.ID(), Request{Query: query})
		return err
	case 3:
		log.count("read-search")
		_, err := tn.Search(ctx, SearchRequest{Query: query, Limit: 20})
		return err
	case 4:
		log.count("read-get")
		return checkGet(ctx, tn, log.randomID(rng))
	default:
		log.count("read-list")
		_, err := listAll(ctx, tn)
		return err
	}
}

// checkGet reads a document that may have been deleted since and checks
// that what it got is consistent.
func checkGet(ctx context.Context, tn *Tenant, id string) error {
	d, err := tn.Get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(d.Content))
	if d.ID != id || d.ContentHash != hex.EncodeToString(sum[:]) || d.SizeBytes != int64(len(d.Content)+len(d.Path)) {
		return fmt.Errorf("get %s: inconsistent document %s (%d bytes, hash %s)", id, d.ID, d.SizeBytes, d.ContentHash)
	}
	return nil
}

// listAll pages through every document, checking no id comes twice.
func listAll(ctx context.Context, tn *Tenant) (map[string]Document, error) {
	docs := make(map[string]Document)
	cursor := ""
	for {
		page, err := tn.List(ctx, ListOptions{Limit: 97, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		for _, d := range page.Documents {
			if _, dup := docs[d.ID]; dup {
				return nil, fmt.Errorf("list returned %s twice", d.ID)
			}
			docs[d.ID] = d
		}
		if cursor = page.NextCursor; cursor == "" {
			return docs, nil
		}
	}
}

func TestConcurrentWritersReaders(t *testing.T) {
	m := newTestManager(t, Options{})
	ctx := context.Background()
	if err := m.Create(ctx, "stress"); err != nil {
		t.Fatal(err)
	}
	tn, err := m.Open(ctx, "stress")
	if err != nil {
		t.Fatal(err)
	}
	defer tn.Close()
	seedCorpus(t, tn, stressSeed)

	dur := stressDuration(t)
	until := time.Now().Add(dur)
	log := &stressLog{}
	writers := make([]*stressWriter, stressWriters)
	var wg sync.WaitGroup
	for i := range writers {
		wtn, err := m.Open(ctx, "stress")
		if err != nil {
			t.Fatal(err)
		}
		defer wtn.Close()
		writers[i] = &stressWriter{n: i, tn: wtn, rng: rand.New(rand.NewPCG(uint64(i), 7)), log: log}
		wg.Go(func() { writers[i].run(ctx, until) })
	}
	for i := range stressReaders {
		rng := rand.New(rand.NewPCG(uint64(i), 11))
		wg.Go(func() {
			for time.Now().Before(until) {
				if err := stressRead(ctx, m, tn, rng, log); err != nil {
					log.fail(fmt.Errorf("reader %d: %w", i, err))
				}
			}
		})
	}
	wg.Wait()

	for _, err := range log.errs {
		t.Error(err)
	}
	if n := log.failed.Load(); n > 0 {
		t.Fatalf("%d operations failed", n)
	}
	logStressOps(t, log, dur)
	verifyStressState(t, tn, writers)
}

func logStressOps(t *testing.T, log *stressLog, dur time.Duration) {
	var lines []string
	log.ops.Range(func(op, n any) bool {
		c := n.(*atomic.Int64).Load()
		lines = append(lines, fmt.Sprintf("%s=%d (%.0f/s)", op, c, float64(c)/dur.Seconds()))
		return true
	})
	t.Logf("%v, %d writers, %d readers, GOMAXPROCS %d: %s", dur, stressWriters, stressReaders,
		runtime.GOMAXPROCS(0), strings.Join(slices.Sorted(slices.Values(lines)), ", "))
}

// verifyStressState checks that the store holds exactly what the writers
// were told: acknowledged contents, no deleted ids, and an index whose
// rows match the chunks and find each live document by its marker.
func verifyStressState(t *testing.T, tn *Tenant, writers []*stressWriter) {
	ctx := context.Background()
	live := 0
	for _, w := range writers {
		for s, st := range w.slots {
			if st.id == "" {
				continue
			}
			live++
			d, err := tn.Get(ctx, st.id)
			if err != nil {
				t.Fatalf("acknowledged %s (%s): %v", st.id, w.path(s), err)
			}
			if d.Content != st.content || d.Path != w.path(s) {
				t.Fatalf("%s: stored %s with %d bytes, acknowledged %s with %d", st.id, d.Path, len(d.Content), w.path(s), len(st.content))
			}
			checkMarkerFound(t, tn, st)
		}
		for _, id := range w.gone {
			if _, err := tn.Get(ctx, id); !errors.Is(err, ErrNotFound) {
				t.Fatalf("deleted %s: Get = %v, want ErrNotFound", id, err)
			}
		}
	}
	docs, err := listAll(ctx, tn)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != live+stressSeed {
		t.Fatalf("List has %d documents, want %d live + %d seeded", len(docs), live, stressSeed)
	}
	checkIndexRows(t, tn)
	t.Logf("verified %d live documents, %d deleted", live, deletedCount(writers))
}

func deletedCount(writers []*stressWriter) int {
	n := 0
	for _, w := range writers {
		n += len(w.gone)
	}
	return n
}

// checkMarkerFound searches for the unique marker of a live document.
func checkMarkerFound(t *testing.T, tn *Tenant, st slotState) {
	t.Helper()
	marker, _, _ := strings.Cut(strings.TrimPrefix(st.content, "// "), " ")
	hits, err := tn.Search(context.Background(), SearchRequest{Query: marker})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 1 || hits[0].DocumentID != st.id {
		t.Fatalf("Search(%s) = %d hits, want only %s", marker, len(hits), st.id)
	}
}

// checkIndexRows compares the in-memory index with the chunks table:
// every stored chunk is live in the index and the index has no others.
func checkIndexRows(t *testing.T, tn *Tenant) {
	t.Helper()
	rows, err := tn.db.r.QueryContext(context.Background(), `SELECT id FROM chunks`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	chunks := 0
	for rows.Next() {
		var id uint32
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		tn.db.index.mu.RLock()
		live := tn.db.index.liveChunk(id)
		tn.db.index.mu.RUnlock()
		if !live {
			t.Fatalf("chunk %d is stored but not live in the index", id)
		}
		chunks++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	tn.db.index.mu.RLock()
	live := tn.db.index.live
	tn.db.index.mu.RUnlock()
	if live != chunks {
		t.Fatalf("index has %d live chunks for %d stored", live, chunks)
	}
}

// TestManyTenantsBoundedFiles touches many tenants once each through a
// Manager bounded to 100 open databases and checks that open files stay
// bounded. CONTEXTLITE_MANY_TENANTS sets the count (default 300).
func TestManyTenantsBoundedFiles(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("counts open files in /proc/self/fd")
	}
	n := 300
	if s := os.Getenv("CONTEXTLITE_MANY_TENANTS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 2 {
			t.Fatalf("CONTEXTLITE_MANY_TENANTS=%q: want a number above 1", s)
		}
	}
	const maxOpen = 100
	m := newTestManager(t, Options{MaxOpen: maxOpen})
	ctx := context.Background()
	base := openFiles(t)
	touchTenant(t, ctx, m, "t0")
	perTenant := openFiles(t) - base
	// One database more than MaxOpen is open while a new one loads, before
	// the least recently used one is evicted.
	ceiling := base + (maxOpen+1)*perTenant + 32
	t.Logf("baseline %d open files, %d per idle tenant, ceiling %d", base, perTenant, ceiling)

	peak := watchOpenFiles(t, m)
	start := time.Now()
	maxFiles := 0
	for i := 1; i < n; i++ {
		touchTenant(t, ctx, m, fmt.Sprintf("t%d", i))
		if open := m.OpenCount(); open > maxOpen {
			t.Fatalf("after tenant %d: %d databases open, MaxOpen %d", i, open, maxOpen)
		}
		if i%100 == 0 || i == n-1 {
			maxFiles = max(maxFiles, openFiles(t))
		}
	}
	elapsed := time.Since(start)
	files, open := peak()
	maxFiles = max(maxFiles, files)
	t.Logf("%d tenants in %v (%.0f/s): at most %d open files (sampled), %d databases open (sampled); %s",
		n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), maxFiles, open, memoryStatus(t))
	if maxFiles > ceiling {
		t.Errorf("%d open files, ceiling %d", maxFiles, ceiling)
	}
	if open > maxOpen+1 {
		t.Errorf("%d databases open at once, MaxOpen %d", open, maxOpen)
	}
}

// touchTenant creates a tenant, adds one small document and assembles once.
func touchTenant(t *testing.T, ctx context.Context, m *Manager, id string) {
	t.Helper()
	if err := m.Create(ctx, id); err != nil {
		t.Fatal(err)
	}
	tn, err := m.Open(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer tn.Close()
	if _, err := tn.Add(ctx, NewDocument{Path: "main.go", Content: fmt.Sprintf("package main\n\n// Tenant %s says hello.\nfunc main() {}\n", id)}); err != nil {
		t.Fatal(err)
	}
	res, err := tn.Assemble(ctx, Request{Query: "tenant says hello"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != 1 {
		t.Fatalf("Assemble on %s: %d items, want 1", id, len(res.Items))
	}
}

// watchOpenFiles samples open files and databases until the returned
// function is called, which reports the peaks.
func watchOpenFiles(t *testing.T, m *Manager) func() (files, open int) {
	stop, done := make(chan struct{}), make(chan struct{})
	var files, open int
	go func() {
		defer close(done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				files, open = max(files, openFiles(t)), max(open, m.OpenCount())
			}
		}
	}()
	return func() (int, int) {
		close(stop)
		<-done
		return files, open
	}
}

// openFiles counts the process's open file descriptors.
func openFiles(t *testing.T) int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Error(err)
	}
	return len(entries)
}

// memoryStatus returns the resident and peak resident set sizes.
func memoryStatus(t *testing.T) string {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Error(err)
		return ""
	}
	var fields []string
	for l := range strings.Lines(string(data)) {
		if strings.HasPrefix(l, "VmRSS:") || strings.HasPrefix(l, "VmHWM:") {
			fields = append(fields, strings.Join(strings.Fields(l), " "))
		}
	}
	return strings.Join(fields, ", ")
}
