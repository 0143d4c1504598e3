package contextengine

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
)

// Query shaping: at most maxQueryTerms of the most selective terms reach
// MATCH, so latency stays flat for long queries.
const (
	maxQueryTerms = 10
	minQueryTerms = 2
	commonShare   = 0.1
	maxQueryBytes = 16 << 10
)

// searchSQL returns the best chunks for a MATCH expression (parameter 1),
// at most parameter 2 of them. The bm25() column weights are path, body and
// workspace scope.
const searchSQL = `SELECT c.id, d.id, w.name, d.path, c.start_line, c.end_line, c.tokens, c.simhash, m.score, d.updated_at, c.content
	FROM (SELECT rowid, bm25(chunks_fts, 2.0, 1.0, 0.0) AS score FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY score LIMIT ?) m
	JOIN chunks c ON c.id = m.rowid
	JOIN documents d ON d.seq = c.doc_seq
	JOIN workspaces w ON w.id = d.workspace_id
	ORDER BY m.score, c.id`

// SearchRequest asks for the chunks that best match a query.
type SearchRequest struct {
	Query     string `json:"query"`
	Workspace string `json:"workspace,omitempty"` // empty: all workspaces
	Limit     int    `json:"limit,omitempty"`     // default 10, at most 100
}

// Hit is one matching chunk.
type Hit struct {
	DocumentID string  `json:"document_id"`
	Workspace  string  `json:"workspace"`
	Path       string  `json:"path"`
	StartLine  int     `json:"start_line"`
	EndLine    int     `json:"end_line"`
	Tokens     int     `json:"tokens"`
	Score      float64 `json:"score"` // relevance in (0, 1], 1 for the best hit
	Content    string  `json:"content"`
}

// candidate is a matching chunk with what selection needs.
type candidate struct {
	chunkID   int64
	docID     string
	workspace string
	path      string
	startLine int
	endLine   int
	tokens    int
	simhash   uint64
	bm25      float64
	relevance float64
	updatedAt int64
	content   string
}

// Search returns the chunks that best match the query, best first.
func (t *Tenant) Search(ctx context.Context, req SearchRequest) ([]Hit, error) {
	limit := req.Limit
	if limit <= 0 {
		limit = 10
	}
	if limit > 100 {
		return nil, invalid("limit must be at most 100")
	}
	cands, _, err := t.db.candidates(ctx, req.Query, req.Workspace, limit)
	if err != nil {
		return nil, err
	}
	hits := make([]Hit, len(cands))
	for i, c := range cands {
		hits[i] = Hit{DocumentID: c.docID, Workspace: c.workspace, Path: c.path, StartLine: c.startLine,
			EndLine: c.endLine, Tokens: c.tokens, Score: c.relevance, Content: c.content}
	}
	return hits, nil
}

// candidates returns up to limit chunks matching query, best first, and the
// query terms that were used.
func (db *tenantDB) candidates(ctx context.Context, query, workspace string, limit int) ([]candidate, []string, error) {
	if len(query) > maxQueryBytes {
		return nil, nil, invalid("query is longer than %d bytes", maxQueryBytes)
	}
	var wsID int64
	if workspace != "" {
		var err error
		if wsID, err = lookupWorkspace(ctx, db.r, workspace); err != nil {
			return nil, nil, err
		}
	}
	terms, err := db.selectiveTerms(ctx, queryTerms(query))
	if err != nil || len(terms) == 0 {
		return nil, terms, err
	}
	rows, err := db.search.QueryContext(ctx, matchExpression(terms, wsID), limit)
	if err != nil {
		return nil, nil, fmt.Errorf("search: %w", err)
	}
	defer rows.Close()
	var cands []candidate
	for rows.Next() {
		var c candidate
		var simhash int64
		if err := rows.Scan(&c.chunkID, &c.docID, &c.workspace, &c.path, &c.startLine, &c.endLine, &c.tokens, &simhash, &c.bm25, &c.updatedAt, &c.content); err != nil {
			return nil, nil, fmt.Errorf("search: %w", err)
		}
		c.simhash = uint64(simhash)
		cands = append(cands, c)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("search: %w", err)
	}
	for i := range cands {
		// bm25() is negative, best first: scale to (0, 1].
		cands[i].relevance = cands[i].bm25 / min(cands[0].bm25, -1e-9)
	}
	return cands, terms, nil
}

// selectiveTerms shapes a query for speed: it drops terms that occur
// nowhere and, when others remain, those in more than commonShare of all
// chunks (their postings cost most and weigh least), then keeps the
// maxQueryTerms rarest, in query order.
func (db *tenantDB) selectiveTerms(ctx context.Context, terms []string) ([]string, error) {
	if len(terms) == 0 {
		return nil, nil
	}
	chunks, df, err := db.frequencies(ctx, terms)
	if err != nil {
		return nil, err
	}
	byRarity := slices.DeleteFunc(slices.Clone(terms), func(t string) bool { return df[t] == 0 })
	slices.SortStableFunc(byRarity, func(a, b string) int { return cmp.Compare(df[a], df[b]) })
	keep := make(map[string]bool, maxQueryTerms)
	for i, t := range byRarity {
		if i == maxQueryTerms || i >= minQueryTerms && float64(df[t]) > commonShare*float64(chunks) {
			break
		}
		keep[t] = true
	}
	return slices.DeleteFunc(slices.Clone(terms), func(t string) bool { return !keep[t] }), nil
}

// matchedTerms returns which of terms occur in text, for explanations.
func matchedTerms(text string, terms []string) []string {
	want := make(map[string]bool, len(terms))
	for _, t := range terms {
		want[t] = true
	}
	var found []string
	analyze(text, func(term string) {
		if want[term] {
			found = append(found, term)
			delete(want, term)
		}
	})
	return found
}

// joinTerms renders terms for an inclusion reason.
func joinTerms(terms []string) string {
	if len(terms) > 6 {
		terms = append(terms[:6:6], "...")
	}
	return strings.Join(terms, ", ")
}
