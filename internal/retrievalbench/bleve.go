package retrievalbench

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/standard"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"
)

// bleveIndex is the Bleve baseline: the windows in an in-memory index
// with the standard analyzer, scored by BM25.
//
// The index is scorch with an empty path, which keeps it in memory.
// bleve.NewMemOnly builds an upsidedown index, which has no field lengths
// for BM25 and silently scores with TF-IDF even when the mapping asks
// for BM25.
//
// All windows go into one batch, so the index is a single segment. Bleve
// derives BM25's average field length from the cardinality of the
// field's dictionary, not from field lengths, and that depends on how the
// index is segmented: batches of 1,000 windows move BC@1k on the godoc
// set by 0.016.
type bleveIndex struct {
	idx bleve.Index
}

// bleveDoc is the indexed form of a window.
type bleveDoc struct {
	Body string `json:"body"`
}

func newBleveIndex(windows []window) (*bleveIndex, error) {
	body := bleve.NewTextFieldMapping()
	body.Analyzer = standard.Name
	body.Store = false
	body.IncludeInAll = false
	body.IncludeTermVectors = false
	body.DocValues = false
	doc := bleve.NewDocumentStaticMapping()
	doc.AddFieldMappingsAt("body", body)
	m := bleve.NewIndexMapping()
	m.DefaultMapping = doc
	m.DefaultAnalyzer = standard.Name
	m.ScoringModel = index.BM25Scoring
	idx, err := bleve.NewUsing("", m, scorch.Name, scorch.Name, nil)
	if err != nil {
		return nil, fmt.Errorf("bleve baseline: %w", err)
	}
	b := idx.NewBatch()
	for i := range windows {
		if err := b.Index(strconv.Itoa(i), bleveDoc{Body: windows[i].Text}); err != nil {
			idx.Close()
			return nil, fmt.Errorf("bleve baseline: window %s:%d: %w", windows[i].Path, windows[i].StartLine, err)
		}
	}
	if err := idx.Batch(b); err != nil {
		idx.Close()
		return nil, fmt.Errorf("bleve baseline: %w", err)
	}
	return &bleveIndex{idx: idx}, nil
}

func (b *bleveIndex) search(ctx context.Context, terms []string, limit int) ([]int, error) {
	if len(terms) == 0 {
		return nil, nil
	}
	q := bleve.NewMatchQuery(strings.Join(terms, " "))
	q.SetField("body")
	q.SetOperator(query.MatchQueryOperatorOr)
	res, err := b.idx.SearchInContext(ctx, bleve.NewSearchRequestOptions(q, limit, 0, false))
	if err != nil {
		return nil, fmt.Errorf("bleve search: %w", err)
	}
	ids := make([]int, 0, len(res.Hits))
	for _, h := range res.Hits {
		id, err := strconv.Atoi(h.ID)
		if err != nil {
			return nil, fmt.Errorf("bleve search: hit %q: %w", h.ID, err)
		}
		ids = append(ids, id)
	}
	return slices.Clip(ids), nil
}

func (b *bleveIndex) close() error { return b.idx.Close() }
