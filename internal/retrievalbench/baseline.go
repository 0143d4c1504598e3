package retrievalbench

import (
	"context"
	"time"
)

// BaselineTop is how many windows a baseline retrieves per query.
const BaselineTop = 100

// searcher ranks the shared windows for a query's terms.
type searcher interface {
	// search returns the indexes of up to limit windows, best first.
	search(ctx context.Context, terms []string, limit int) ([]int, error)
}

// baselineSystem answers with the windows a searcher ranks: the first 10
// of the top BaselineTop as the ranked list, and the top BaselineTop
// packed naively for a budget.
type baselineSystem struct {
	windows []window
	s       searcher
}

func (b baselineSystem) top(ctx context.Context, query string) ([]*window, error) {
	ids, err := b.s.search(ctx, queryTerms(query), BaselineTop)
	if err != nil {
		return nil, err
	}
	ws := make([]*window, len(ids))
	for i, id := range ids {
		ws[i] = &b.windows[id]
	}
	return ws, nil
}

func (b baselineSystem) rank(ctx context.Context, query string) ([]Item, error) {
	ws, err := b.top(ctx, query)
	if err != nil {
		return nil, err
	}
	items := make([]Item, 0, 10)
	for _, w := range ws[:min(len(ws), 10)] {
		items = append(items, w.item())
	}
	return items, nil
}

func (b baselineSystem) assemble(ctx context.Context, query string, budget int) ([]Item, time.Duration, error) {
	start := time.Now()
	ws, err := b.top(ctx, query)
	if err != nil {
		return nil, 0, err
	}
	items := pack(ws, budget)
	return items, time.Since(start), nil
}
