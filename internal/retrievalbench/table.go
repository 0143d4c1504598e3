package retrievalbench

import (
	"fmt"
	"io"
	"time"
)

// Print writes the report as Markdown tables: every system's scores, then
// each engine row's budget coverage relative to the best baseline.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "## %s: %d documents, %d queries\n\n", r.Set, r.Docs, r.Queries)
	fmt.Fprintf(w, "Engine tenant files %.1f MB for %.1f MB of text (%.2f×).\n", float64(r.DiskBytes)/1e6, float64(r.RawBytes)/1e6,
		float64(r.DiskBytes)/float64(max(r.RawBytes, 1)))
	fmt.Fprintf(w, "Engine ingest %.1fs (%.0f docs/s). Baselines: %d windows built in %.1fs; FTS5 ingest %.1fs; Bleve ingest %.1fs.\n\n",
		r.Ingest.Seconds(), float64(r.Docs)/r.Ingest.Seconds(), r.Windows, r.WindowBuild.Seconds(), r.FTS5Ingest.Seconds(), r.BleveIngest.Seconds())
	fmt.Fprintln(w, "| system | nDCG@10 | Recall@10 | MRR@10 | BC@1k | BC@4k | BC@16k | fill@1k | fill@4k | fill@16k | violations | p50 @4k | p95 @4k |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, s := range r.Scores {
		fmt.Fprintf(w, "| %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.2f | %.2f | %.2f | %d | %.1f ms | %.1f ms |\n",
			s.Name, s.NDCG, s.Recall, s.MRR, s.Coverage[0], s.Coverage[1], s.Coverage[2], s.Fill[0], s.Fill[1], s.Fill[2],
			s.Violations(), ms(s.P50), ms(s.P95))
	}
	best := r.bestBaseline()
	if best == nil {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Budget coverage over the best baseline in each column (target ≥ 1.10×):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| system | BC@1k | BC@4k | BC@16k |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, s := range r.Scores {
		if s.Baseline {
			continue
		}
		fmt.Fprintf(w, "| %s |", s.Name)
		for i := range Budgets {
			fmt.Fprintf(w, " %s |", ratio(s.Coverage[i], best[i]))
		}
		fmt.Fprintln(w)
	}
}

// bestBaseline returns the highest baseline coverage per budget, or nil
// if the report has no baseline.
func (r *Report) bestBaseline() []float64 {
	var best []float64
	for _, s := range r.Scores {
		if !s.Baseline {
			continue
		}
		if best == nil {
			best = make([]float64, len(Budgets))
		}
		for i, c := range s.Coverage {
			best[i] = max(best[i], c)
		}
	}
	return best
}

func ratio(a, b float64) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
