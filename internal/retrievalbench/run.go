package retrievalbench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/contextlite/cloud/contextengine"
)

// Budgets at which budget coverage is measured.
var Budgets = []int{1000, 4000, 16000}

// Score is one system's averages over the queries.
type Score struct {
	Name     string
	Baseline bool // a baseline rather than the engine
	NDCG     float64
	Recall   float64
	MRR      float64
	Coverage []float64 // per budget in Budgets
	Fill     []float64 // tokens used / budget, per budget
	P50      time.Duration
	P95      time.Duration
	Over     int // results over budget: must be 0
	Mismatch int // items whose content is not the lines they claim: must be 0
}

// Violations counts results over budget and items whose content is not
// the lines they claim.
func (s Score) Violations() int { return s.Over + s.Mismatch }

// Report holds every system's scores on one set.
type Report struct {
	Set           string
	Docs, Queries int
	Windows       int
	Ingest        time.Duration // the engine's
	DiskBytes     int64         // the engine tenant's files after a checkpoint
	RawBytes      int64         // the corpus's text
	WindowBuild   time.Duration // splitting and counting the shared windows
	FTS5Ingest    time.Duration
	BleveIngest   time.Duration
	Scores        []Score // the engine, the baselines, then the ablations
}

// Options configure a Run.
type Options struct {
	Dir       string                     // scratch directory for the engine and the FTS5 baseline
	Tokens    contextengine.TokenCounter // exact o200k_base counts; safe for concurrent use
	Ablations []Ablation                 // extra engine rows
	Profile   string                     // if set, a CPU profile of the engine's query phase goes here
	Progress  io.Writer                  // if set, one line per finished phase
}

// Run ingests the set into the engine and both baselines, runs every
// query through each system and scores them.
func Run(ctx context.Context, set *Set, opts Options) (*Report, error) {
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	m, err := contextengine.NewManager(contextengine.Options{DataDir: opts.Dir, MaxDocumentBytes: 64 << 20, Tokens: opts.Tokens})
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	defer m.Close()
	if err := m.Create(ctx, "eval"); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	tn, err := m.Open(ctx, "eval")
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	defer tn.Close()
	rep := &Report{Set: set.Dir, Docs: len(set.Docs), Queries: len(set.Queries)}

	start := time.Now()
	if err := ingest(ctx, tn, set.Docs); err != nil {
		return nil, err
	}
	rep.Ingest = time.Since(start)
	fmt.Fprintf(progress, "engine: %d documents ingested in %.1fs\n", rep.Docs, rep.Ingest.Seconds())
	if rep.DiskBytes, err = tenantBytes(ctx, tn, opts.Dir); err != nil {
		return nil, err
	}
	for _, d := range set.Docs {
		rep.RawBytes += int64(len(d.Text))
	}

	start = time.Now()
	windows := buildWindows(set.Docs, opts.Tokens)
	rep.Windows, rep.WindowBuild = len(windows), time.Since(start)
	start = time.Now()
	fts, err := newFTS5Index(ctx, opts.Dir, windows)
	if err != nil {
		return nil, err
	}
	defer fts.close()
	rep.FTS5Ingest = time.Since(start)
	start = time.Now()
	blv, err := newBleveIndex(windows)
	if err != nil {
		return nil, err
	}
	defer blv.close()
	rep.BleveIngest = time.Since(start)
	fmt.Fprintf(progress, "baselines: %d windows built in %.1fs, FTS5 ingest %.1fs, Bleve ingest %.1fs\n",
		rep.Windows, rep.WindowBuild.Seconds(), rep.FTS5Ingest.Seconds(), rep.BleveIngest.Seconds())

	lines := newCorpusLines(set.Docs)
	type row struct {
		name     string
		baseline bool
		sys      system
		profile  string
	}
	rows := []row{
		{name: "contextlite", sys: engineSystem{tn: tn, tokens: opts.Tokens}, profile: opts.Profile},
		{name: "FTS5 windows baseline", baseline: true, sys: baselineSystem{windows, fts}},
		{name: "Bleve windows baseline", baseline: true, sys: baselineSystem{windows, blv}},
	}
	for _, a := range opts.Ablations {
		rows = append(rows, row{name: a.Name, sys: engineSystem{tn: tn, tokens: opts.Tokens, tuning: a.Tuning}})
	}
	for _, r := range rows {
		start := time.Now()
		stop, err := startProfile(r.profile)
		if err != nil {
			return nil, err
		}
		s, err := score(ctx, r.name, set.Queries, r.sys, lines)
		stop()
		if err != nil {
			return nil, err
		}
		s.Baseline = r.baseline
		rep.Scores = append(rep.Scores, s)
		fmt.Fprintf(progress, "%s: scored in %.1fs\n", r.name, time.Since(start).Seconds())
	}
	return rep, nil
}

// tenantBytes checkpoints the tenant and returns the size of its files
// (database and write-ahead log) under dir.
func tenantBytes(ctx context.Context, tn *contextengine.Tenant, dir string) (int64, error) {
	if err := tn.Checkpoint(ctx); err != nil {
		return 0, err
	}
	file := filepath.Join(dir, "tenants", tn.ID(), "context.db")
	var n int64
	for _, f := range []string{file, file + "-wal"} {
		if st, err := os.Stat(f); err == nil {
			n += st.Size()
		}
	}
	return n, nil
}

// startProfile starts a CPU profile into file, if one is named.
func startProfile(file string) (stop func(), err error) {
	if file == "" {
		return func() {}, nil
	}
	f, err := os.Create(file)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// system answers a query with a ranked list or a budgeted context.
type system interface {
	rank(ctx context.Context, query string) ([]Item, error)
	// assemble also returns the time spent, leaving out scoring overhead.
	assemble(ctx context.Context, query string, budget int) ([]Item, time.Duration, error)
}

// score runs every query through sys and averages the metrics. Every
// returned item is checked against the lines it claims.
func score(ctx context.Context, name string, queries []Query, sys system, lines corpusLines) (Score, error) {
	s := Score{Name: name, Coverage: make([]float64, len(Budgets)), Fill: make([]float64, len(Budgets))}
	check := func(items []Item) {
		for _, it := range items {
			if !lines.matches(it) {
				s.Mismatch++
			}
		}
	}
	var lat []time.Duration
	for _, q := range queries {
		ranked, err := sys.rank(ctx, q.Text)
		if err != nil {
			return s, fmt.Errorf("%s %s: %w", name, q.ID, err)
		}
		check(ranked)
		r := scoreRanking(ranked, q.Relevant)
		s.NDCG += r.NDCG
		s.Recall += r.Recall
		s.MRR += r.MRR
		for i, budget := range Budgets {
			items, took, err := sys.assemble(ctx, q.Text, budget)
			if err != nil {
				return s, fmt.Errorf("%s %s: %w", name, q.ID, err)
			}
			check(items)
			if budget == 4000 {
				lat = append(lat, took)
			}
			used := 0
			for _, it := range items {
				used += it.Tokens
			}
			if used > budget {
				s.Over++
			}
			s.Coverage[i] += coverage(items, q.Relevant)
			s.Fill[i] += float64(used) / float64(budget)
		}
	}
	n := float64(len(queries))
	s.NDCG, s.Recall, s.MRR = s.NDCG/n, s.Recall/n, s.MRR/n
	for i := range Budgets {
		s.Coverage[i] /= n
		s.Fill[i] /= n
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		s.P50, s.P95 = lat[len(lat)/2], lat[len(lat)*95/100]
	}
	return s, nil
}
