package contextengine

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"time"
)

// termStatsMax is the default bound on each of the term statistics maps.
const termStatsMax = 100_000

// termStats caches the chunk count and document frequencies, which shape
// queries. The figures only steer which terms a query keeps, so they may
// lag writes a little: the cache starts afresh after a write once it is a
// minute old or full. Terms found nowhere are remembered only until the
// next write, which may add them. Each map holds at most max terms; a full
// map forgets an arbitrary term to make room, so a lookup is never
// refused and a term that exists is never reported absent.
type termStats struct {
	mu     sync.Mutex
	max    int
	gen    uint64
	born   time.Time
	chunks int64 // -1: unknown
	df     map[string]int64
	absent map[string]bool
}

// newTermStats returns an empty cache of at most max terms in each map.
func newTermStats(max int) *termStats {
	return &termStats{max: max, chunks: -1, df: make(map[string]int64), absent: make(map[string]bool)}
}

// frequencies returns the chunk count and the document frequency of each
// term, reading what the cache lacks from the index.
func (db *tenantDB) frequencies(ctx context.Context, q rowsQuerier, terms []string) (int64, map[string]int64, error) {
	ts := db.stats
	out := make(map[string]int64, len(terms))
	ts.mu.Lock()
	gen := db.gen.Load()
	ts.refresh(gen, db.eng.now())
	chunks := ts.chunks
	var missing []string
	for _, t := range terms {
		if n, ok := ts.df[t]; ok {
			out[t] = n
		} else if !ts.absent[t] {
			missing = append(missing, t)
		}
	}
	ts.mu.Unlock()

	if chunks < 0 {
		db.index.mu.RLock()
		chunks = int64(db.index.live)
		db.index.mu.RUnlock()
	}
	if err := postingCounts(ctx, q, missing, out); err != nil {
		return 0, nil, err
	}

	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.gen != gen {
		return chunks, out, nil // a write came in: these figures may be older
	}
	ts.chunks = chunks
	for _, t := range missing {
		ts.remember(t, out[t])
	}
	return chunks, out, nil
}

// rowsQuerier runs queries: a *sql.DB or *sql.Tx.
type rowsQuerier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// postingCounts adds to counts the postings of each of terms, dead ones
// included until a merge drops them.
func postingCounts(ctx context.Context, q rowsQuerier, terms []string, counts map[string]int64) error {
	if len(terms) == 0 {
		return nil
	}
	want := make(map[string]bool, len(terms))
	for _, t := range terms {
		want[t] = true
		counts[t] += 0
	}
	rows, err := q.QueryContext(ctx, countsSQL, rowKeys(terms))
	if err != nil {
		return fmt.Errorf("term statistics: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		var n int64
		var data []byte
		if err := rows.Scan(&key, &n, &data); err != nil {
			return fmt.Errorf("term statistics: %w", err)
		}
		if _, term, own := strings.Cut(key, ownRowMark); own {
			if want[term] {
				counts[term] += n
			}
			continue
		}
		err := eachTerm(key, data, func(term []byte, n int, _ []byte) error {
			if want[string(term)] {
				counts[string(term)] += int64(n)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("term statistics: %w", err)
		}
	}
	return rows.Err()
}

// remember caches the document frequency n of term t; callers hold ts.mu.
func (ts *termStats) remember(t string, n int64) {
	if n == 0 {
		makeRoom(ts.absent, ts.max)
		ts.absent[t] = true
		return
	}
	makeRoom(ts.df, ts.max)
	ts.df[t] = n
}

// makeRoom deletes arbitrary keys of m until it holds fewer than max.
func makeRoom[V any](m map[string]V, max int) {
	for k := range m {
		if len(m) < max {
			return
		}
		delete(m, k)
	}
}

func (ts *termStats) refresh(gen uint64, now time.Time) {
	if gen == ts.gen {
		return
	}
	clear(ts.absent)
	if now.Sub(ts.born) < time.Minute && len(ts.df) < ts.max {
		ts.gen = gen
		return
	}
	ts.gen, ts.born, ts.chunks = gen, now, -1
	clear(ts.df)
}
