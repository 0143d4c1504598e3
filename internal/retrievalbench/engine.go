package retrievalbench

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/contextlite/cloud/contextengine"
)

// engineSystem answers with the context engine, with some of its parts
// switched off by tuning.
type engineSystem struct {
	tn     *contextengine.Tenant
	tokens contextengine.TokenCounter
	tuning contextengine.Tuning
}

// rank takes the ranked list from an assembly with a budget that never
// binds and at most 10 items.
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
	res, err := e.tn.Assemble(ctx, contextengine.Request{Query: query, MaxTokens: budget, MaxDocuments: maxItems, NoCache: true, Tuning: e.tuning})
	took := time.Since(start)
	if err != nil {
		return nil, 0, err
	}
	items := make([]Item, len(res.Items))
	for i, it := range res.Items {
		items[i] = Item{Path: it.Path, StartLine: it.StartLine, EndLine: it.EndLine, Tokens: e.tokens.Count(it.Content), Content: it.Content}
	}
	return items, took, nil
}

// ingest adds the documents to the tenant in batches.
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
