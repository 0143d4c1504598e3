package contextengine

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contextlite/cloud/internal/latency"
)

// ingestBatch is the AddBatch size of the ingest benchmarks and of the
// tenants the query benchmarks build.
const ingestBatch = 500

// TestMain removes the tenants built for benchmarks once the run is over.
func TestMain(m *testing.M) {
	code := m.Run()
	closeBenchStore()
	os.Exit(code)
}

// benchStore holds the corpus tenants the query benchmarks share, built
// once per process in a temporary directory.
var benchStore struct {
	mu    sync.Mutex
	dir   string
	m     *Manager
	built map[string]bool
}

// benchTenant returns the shared Manager and the id of a tenant holding the
// first docs documents of the GOROOT corpus, building it on first use.
func benchTenant(b *testing.B, docs int) (*Manager, string) {
	b.Helper()
	pieces := srcPieces(b)
	s := &benchStore
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		dir, err := os.MkdirTemp("", "contextengine-bench-")
		if err != nil {
			b.Fatal(err)
		}
		s.dir, s.built = dir, make(map[string]bool)
		if s.m, err = NewManager(Options{DataDir: dir}); err != nil {
			b.Fatal(err)
		}
	}
	id := fmt.Sprintf("docs%d", docs)
	if !s.built[id] {
		start := time.Now()
		buildCorpusTenant(b, s.m, id, pieces, docs)
		elapsed := time.Since(start)
		b.Logf("built tenant %s: %d docs (%d distinct pieces) in %v, %.0f docs/s",
			id, docs, len(pieces), elapsed.Round(time.Millisecond), float64(docs)/elapsed.Seconds())
		s.built[id] = true
	}
	return s.m, id
}

func buildCorpusTenant(b *testing.B, m *Manager, id string, pieces []srcPiece, docs int) {
	ctx := context.Background()
	if err := m.Create(ctx, id); err != nil {
		b.Fatal(err)
	}
	tn, err := m.Open(ctx, id)
	if err != nil {
		b.Fatal(err)
	}
	defer tn.Close()
	for from := 0; from < docs; from += ingestBatch {
		mustAdd(b, tn, corpusBatch(pieces, from, min(ingestBatch, docs-from))...)
	}
}

// openBenchTenant opens the shared corpus tenant of docs documents.
func openBenchTenant(b *testing.B, docs int) *Tenant {
	m, id := benchTenant(b, docs)
	tn, err := m.Open(context.Background(), id)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { tn.Close() })
	return tn
}

func closeBenchStore() {
	s := &benchStore
	if s.m != nil {
		s.m.Close()
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

// BenchmarkIngest adds ~2 KB pieces of GOROOT sources to one tenant, one
// batch of ingestBatch documents per op. stage=all is AddBatch; the other
// stages time one step of it alone: prepare (validation, hashing, chunking,
// token counting and analysis on GOMAXPROCS workers), and on one core
// chunk, tokens and analyze, then sqlite (the write transaction only).
func BenchmarkIngest(b *testing.B) {
	pieces := srcPieces(b)
	b.Run("stage=all", func(b *testing.B) {
		tn := newTestTenant(b)
		ingestStage(b, pieces, same, func(docs []NewDocument) { mustAdd(b, tn, docs...) })
	})
	b.Run("stage=prepare", func(b *testing.B) {
		tn := newTestTenant(b)
		ingestStage(b, pieces, same, func(docs []NewDocument) { tn.db.prepareAll(docs) })
	})
	b.Run("stage=chunk", func(b *testing.B) {
		ingestStage(b, pieces, same, func(docs []NewDocument) {
			for _, d := range docs {
				ChunkDocument(d.Path, d.Language, d.Content)
			}
		})
	})
	b.Run("stage=tokens", func(b *testing.B) {
		tokens := newTestTenant(b).db.eng.tokens
		ingestStage(b, pieces, chunkTexts, func(texts []string) {
			for _, s := range texts {
				tokens.Count(s)
			}
		})
	})
	b.Run("stage=analyze", func(b *testing.B) {
		ingestStage(b, pieces, chunkTexts, func(texts []string) {
			for _, s := range texts {
				bagOf(s)
			}
		})
	})
	b.Run("stage=sqlite", func(b *testing.B) {
		tn := newTestTenant(b)
		ingestStage(b, pieces, tn.db.prepareAll, func(preps []prepared) { writePrepared(b, tn, preps) })
	})
}

// ingestStage runs one op per batch of the corpus: an untimed prep of the
// batch, then the timed run. It reports documents and megabytes per second.
func ingestStage[T any](b *testing.B, pieces []srcPiece, prep func([]NewDocument) T, run func(T)) {
	docs, bytes := 0, 0
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		batch := corpusBatch(pieces, i*ingestBatch, ingestBatch)
		in := prep(batch)
		for _, d := range batch {
			bytes += len(d.Content)
		}
		docs += len(batch)
		b.StartTimer()
		run(in)
	}
	secs := b.Elapsed().Seconds()
	b.ReportMetric(float64(docs)/secs, "docs/s")
	b.ReportMetric(float64(bytes)/1e6/secs, "MB/s")
}

func same(docs []NewDocument) []NewDocument { return docs }

// chunkTexts returns the chunk texts of docs.
func chunkTexts(docs []NewDocument) []string {
	var texts []string
	for _, d := range docs {
		for _, c := range ChunkDocument(d.Path, d.Language, d.Content) {
			texts = append(texts, c.Text)
		}
	}
	return texts
}

// writePrepared stores prepared documents the way AddBatch does.
func writePrepared(b *testing.B, tn *Tenant, preps []prepared) {
	ctx := context.Background()
	err := tn.db.write(ctx, func(tx *sql.Tx, c *change) error {
		w, err := newDocWriter(ctx, tx, tn.db.eng.now(), c, Limits{}, tn.db.totals.Load())
		if err != nil {
			return err
		}
		defer w.close()
		for i := range preps {
			res, err := w.put(ctx, &preps[i])
			if err == nil {
				err = res.Err
			}
			if err != nil {
				return err
			}
		}
		return w.chunks.flush(ctx)
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkAssemble assembles 4000-token contexts for distinct realistic
// queries, bypassing the result cache. The 100k tenant is built only when
// CONTEXTLITE_BENCH_LARGE=1; the 1M tenant only when
// CONTEXTLITE_BENCH_1M_DIR names a directory, where it is kept for later
// runs.
func BenchmarkAssemble(b *testing.B) {
	b.Run("docs=10k", func(b *testing.B) { benchAssemble(b, openBenchTenant(b, 10_000)) })
	b.Run("docs=100k", func(b *testing.B) {
		if testing.Short() || os.Getenv("CONTEXTLITE_BENCH_LARGE") != "1" {
			b.Skip("set CONTEXTLITE_BENCH_LARGE=1 to build and query a 100k-document tenant")
		}
		benchAssemble(b, openBenchTenant(b, 100_000))
	})
	b.Run("docs=1M", func(b *testing.B) {
		dir := os.Getenv("CONTEXTLITE_BENCH_1M_DIR")
		if testing.Short() || dir == "" {
			b.Skip("set CONTEXTLITE_BENCH_1M_DIR to a directory to build (once) and query a 1M-document tenant there")
		}
		benchAssemble(b, openKeptTenant(b, dir, 1_000_000))
	})
}

// openKeptTenant opens a tenant of docs corpus documents kept in dir,
// building it the first time (a marker file records a finished build).
func openKeptTenant(b *testing.B, dir string, docs int) *Tenant {
	m, err := NewManager(Options{DataDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	ctx := context.Background()
	id := fmt.Sprintf("docs%d", docs)
	marker := filepath.Join(dir, id+".built")
	if _, err := os.Stat(marker); err != nil {
		if m.Exists(id) {
			if err := m.Delete(ctx, id); err != nil {
				b.Fatal(err)
			}
		}
		start := time.Now()
		buildCorpusTenant(b, m, id, srcPieces(b), docs)
		elapsed := time.Since(start)
		if err := os.WriteFile(marker, []byte(elapsed.String()+"\n"), 0o644); err != nil {
			b.Fatal(err)
		}
		b.Logf("built tenant %s in %v, %.0f docs/s", id, elapsed.Round(time.Second), float64(docs)/elapsed.Seconds())
	}
	tn, err := m.Open(ctx, id)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { tn.Close() })
	b.Logf("tenant %s: %s", id, tenantFileSizes(b, tenantPath(m.eng.dataDir, id)))
	return tn
}

// tenantFileSizes describes the sizes of a tenant database and its WAL.
func tenantFileSizes(b *testing.B, file string) string {
	var out []string
	for _, f := range []string{file, file + "-wal"} {
		if st, err := os.Stat(f); err == nil {
			out = append(out, fmt.Sprintf("%s %.1f MB", filepath.Base(f), float64(st.Size())/1e6))
		}
	}
	return strings.Join(out, ", ")
}

func benchAssemble(b *testing.B, tn *Tenant) {
	queries := benchQueries(b)
	ctx := context.Background()
	var total, search latency.Samples
	tokens, items := 0, 0
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		res, err := tn.Assemble(ctx, Request{Query: queries[i%len(queries)], MaxTokens: 4000, NoCache: true})
		total = append(total, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		if res.Cached {
			b.Fatal("uncached assembly returned a cached result")
		}
		search = append(search, time.Duration(res.Timings.SearchMicros)*time.Microsecond)
		tokens, items = tokens+res.TotalTokens, items+len(res.Items)
	}
	total.Report(b, "", "ms")
	search.Report(b, "search-", "ms")
	b.ReportMetric(float64(tokens)/float64(b.N), "tokens/op")
	b.ReportMetric(float64(items)/float64(b.N), "items/op")
}

// BenchmarkAssembleCached repeats one query through Manager.Assemble, so
// each op is Open, a result cache hit and Close.
func BenchmarkAssembleCached(b *testing.B) {
	m, id := benchTenant(b, 10_000)
	ctx := context.Background()
	req := Request{Query: benchQueries(b)[0], MaxTokens: 4000}
	if _, err := m.Assemble(ctx, id, req); err != nil {
		b.Fatal(err)
	}
	var lat latency.Samples
	for b.Loop() {
		start := time.Now()
		res, err := m.Assemble(ctx, id, req)
		lat = append(lat, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		if !res.Cached {
			b.Fatal("repeated query missed the result cache")
		}
	}
	lat.Report(b, "", "us")
}

// BenchmarkSearch runs distinct realistic queries against the 10k tenant.
func BenchmarkSearch(b *testing.B) {
	queries := benchQueries(b)
	tn := openBenchTenant(b, 10_000)
	ctx := context.Background()
	var lat latency.Samples
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		_, err := tn.Search(ctx, SearchRequest{Query: queries[i%len(queries)]})
		lat = append(lat, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
	}
	lat.Report(b, "", "ms")
}
