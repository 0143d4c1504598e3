package retrievalbench

import (
	"context"
	"fmt"
	"io"
	"os"
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
	NDCG     float64
	Recall   float64
	MRR      float64
	Coverage []float64 // per budget in Budgets
	Fill     []float64 // tokens used / budget, per budget
	P50      time.Duration
	P95      time.Duration
	Over     int // results over budget: must be 0
}

// Report compares the engine with the baseline on one set.
type Report struct {
	Docs, Queries int
	Ingest        time.Duration
	Engine        Score
	Baseline      Score
}

// Run ingests the set into a tenant under dir, runs every query through
// the engine and the baseline, and scores both.
// A non-empty profile names a file for a CPU profile of the query phase.
func Run(ctx context.Context, set *Set, dir string, tokens contextengine.TokenCounter, profile string) (*Report, error) {
	m, err := contextengine.NewManager(contextengine.Options{DataDir: dir, MaxDocumentBytes: 64 << 20, Tokens: tokens})
	if err != nil {
		return nil, err
	}
	defer m.Close()
	if err := m.Create(ctx, "eval"); err != nil {
		return nil, err
	}
	tn, err := m.Open(ctx, "eval")
	if err != nil {
		return nil, err
	}
	defer tn.Close()
	rep := &Report{Docs: len(set.Docs), Queries: len(set.Queries)}
	start := time.Now()
	if err := ingest(ctx, tn, set.Docs); err != nil {
		return nil, err
	}
	rep.Ingest = time.Since(start)
	base, err := newBaseline(ctx, dir, set.Docs, tokens)
	if err != nil {
		return nil, err
	}
	defer base.close()
	stop, err := startProfile(profile)
	if err != nil {
		return nil, err
	}
	rep.Engine, err = score(ctx, "contextlite", set.Queries, engineSystem{tn, tokens})
	stop()
	if err != nil {
		return nil, err
	}
	if rep.Baseline, err = score(ctx, "fts5 bm25 baseline", set.Queries, baselineSystem{base}); err != nil {
		return nil, err
	}
	return rep, nil
}

// startProfile starts a CPU profile into file, if one is named.
func startProfile(file string) (stop func(), err error) {
	if file == "" {
		return func() {}, nil
	}
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func ingest(ctx context.Context, tn *contextengine.Tenant, docs []Doc) error {
	for batch := range slices.Chunk(docs, 200) {
		in := make([]contextengine.NewDocument, len(batch))
		for i, d := range batch {
			in[i] = contextengine.NewDocument{Path: d.Path, Content: d.Text}
		}
		res, err := tn.AddBatch(ctx, in)
		if err != nil {
			return fmt.Errorf("ingest: %w", err)
		}
		for i, r := range res {
			if r.Err != nil {
				return fmt.Errorf("ingest %s: %w", batch[i].Path, r.Err)
			}
		}
	}
	return nil
}

// system answers a query with a ranked list or a budgeted context.
type system interface {
	rank(ctx context.Context, query string) ([]Item, error)
	// assemble also returns the time spent, leaving out scoring overhead.
	assemble(ctx context.Context, query string, budget int) ([]Item, time.Duration, error)
}

func score(ctx context.Context, name string, queries []Query, sys system) (Score, error) {
	s := Score{Name: name, Coverage: make([]float64, len(Budgets)), Fill: make([]float64, len(Budgets))}
	var lat []time.Duration
	for _, q := range queries {
		ranked, err := sys.rank(ctx, q.Text)
		if err != nil {
			return s, fmt.Errorf("%s %s: %w", name, q.ID, err)
		}
		r := scoreRanking(ranked, q.Relevant)
		s.NDCG += r.NDCG
		s.Recall += r.Recall
		s.MRR += r.MRR
		for i, budget := range Budgets {
			items, took, err := sys.assemble(ctx, q.Text, budget)
			if err != nil {
				return s, fmt.Errorf("%s %s: %w", name, q.ID, err)
			}
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

type engineSystem struct {
	tn     *contextengine.Tenant
	tokens contextengine.TokenCounter
}

func (e engineSystem) rank(ctx context.Context, query string) ([]Item, error) {
	items, _, err := e.assembleN(ctx, query, 64000, 10)
	return items, err
}

func (e engineSystem) assemble(ctx context.Context, query string, budget int) ([]Item, time.Duration, error) {
	return e.assembleN(ctx, query, budget, contextengine.MaxAssembleItems)
}

// assembleN runs an uncached assembly and re-counts every item's tokens,
// so a wrong stored count shows up as an over-budget result.
func (e engineSystem) assembleN(ctx context.Context, query string, budget, maxItems int) ([]Item, time.Duration, error) {
	start := time.Now()
	res, err := e.tn.Assemble(ctx, contextengine.Request{Query: query, MaxTokens: budget, MaxDocuments: maxItems, NoCache: true})
	took := time.Since(start)
	if err != nil {
		return nil, 0, err
	}
	items := make([]Item, len(res.Items))
	for i, it := range res.Items {
		items[i] = Item{Path: it.Path, StartLine: it.StartLine, EndLine: it.EndLine, Tokens: e.tokens.Count(it.Content)}
	}
	return items, took, nil
}

type baselineSystem struct{ b *baseline }

func (b baselineSystem) rank(ctx context.Context, query string) ([]Item, error) {
	return b.b.search(ctx, query, 10)
}

func (b baselineSystem) assemble(ctx context.Context, query string, budget int) ([]Item, time.Duration, error) {
	start := time.Now()
	items, err := b.b.search(ctx, query, 300)
	items = pack(items, budget)
	return items, time.Since(start), err
}

// Print writes the report as a table.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "%d documents ingested in %.1fs (%.0f docs/s), %d queries\n\n", r.Docs, r.Ingest.Seconds(), float64(r.Docs)/r.Ingest.Seconds(), r.Queries)
	fmt.Fprintf(w, "| system | nDCG@10 | Recall@10 | MRR@10 | BC@1k | BC@4k | BC@16k | fill@1k | fill@4k | fill@16k | p50 @4k | p95 @4k | over budget |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, s := range []Score{r.Engine, r.Baseline} {
		fmt.Fprintf(w, "| %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.2f | %.2f | %.2f | %.1f ms | %.1f ms | %d |\n",
			s.Name, s.NDCG, s.Recall, s.MRR, s.Coverage[0], s.Coverage[1], s.Coverage[2], s.Fill[0], s.Fill[1], s.Fill[2],
			ms(s.P50), ms(s.P95), s.Over)
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
