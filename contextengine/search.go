package contextengine

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Query shaping: at most maxQueryTerms of the most selective terms are
// scored, and terms whose postings are both many and a large share of
// the tenant's are left out, so latency stays flat for long queries and
// large tenants.
const (
	maxQueryTerms  = 16
	minQueryTerms  = 2
	commonShare    = 0.1
	costlyPostings = 20000
	maxQueryBytes  = 16 << 10
)

// levels are the segment levels a term's postings may sit at.
const levels = `(0, 1, 2, 3, 4, 5, 6, 7, 8, 9)`

// postingsSQL reads the rows of the keys in a JSON array.
const postingsSQL = `SELECT term, data FROM postings WHERE level IN ` + levels + ` AND term IN (SELECT value FROM json_each(?))`

// countsSQL reads the posting counts of the keys in a JSON array: own
// rows' from n, without their postings, and bucket rows whole.
const countsSQL = `SELECT term, n, iif(instr(term, char(1)) > 0, NULL, data) FROM postings
	WHERE level IN ` + levels + ` AND term IN (SELECT value FROM json_each(?))`

// rowKeys returns the keys of the rows that may hold terms, as a JSON
// array.
func rowKeys(terms []string) string {
	seen := make(map[string]bool, 2*len(terms))
	keys := make([]string, 0, 2*len(terms))
	for _, t := range terms {
		for _, k := range []string{bucketKey(t), ownKey(t)} {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	list, _ := json.Marshal(keys) // strings always marshal
	return string(list)
}

// chunksSQL reads what selection needs of the chunks in a JSON array.
const chunksSQL = `SELECT c.id, c.doc_seq, c.start_line, c.end_line, c.start_byte, c.end_byte, c.tokens,
		c.decl_start, c.decl_end, c.decl_start_byte, c.decl_end_byte, c.decl_tokens, d.id, w.name, d.path, d.updated_at, d.tokens, d.content_hash
	FROM chunks c JOIN documents d ON d.seq = c.doc_seq JOIN workspaces w ON w.id = d.workspace_id
	WHERE c.id IN (SELECT value FROM json_each(?))`

// SearchRequest asks for the chunks that best match a query.
type SearchRequest struct {
	Query     string `json:"query"`
	Workspace string `json:"workspace,omitempty"` // empty: all workspaces
	Limit     int    `json:"limit,omitempty"`     // default 10, at most 100
	Offset    int    `json:"offset,omitempty"`    // best hits to skip, for paging; Offset+Limit at most MaxSearchDepth
}

// MaxSearchDepth bounds how far paging goes into a search's ranking.
const MaxSearchDepth = 1000

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
	docSeq    int64
	docID     string
	workspace string
	path      string
	hit       chunkSpan // the chunk
	decl      chunkSpan // its declaration or section
	docTokens int       // of the whole document, summed over its chunks
	docHash   string    // of the document's content
	score     float64
	relevance float64
	updatedAt int64
}

// Search returns the chunks that best match the query, best first.
func (t *Tenant) Search(ctx context.Context, req SearchRequest) ([]Hit, error) {
	hits, _, err := t.SearchPage(ctx, req)
	return hits, err
}

// SearchPage returns the chunks that best match the query, best first,
// after skipping req.Offset of them, and whether more follow.
func (t *Tenant) SearchPage(ctx context.Context, req SearchRequest) (hits []Hit, more bool, err error) {
	limit := req.Limit
	if limit <= 0 {
		limit = 10
	}
	if limit > 100 {
		return nil, false, invalid("limit must be at most 100")
	}
	if req.Offset < 0 || req.Offset+limit > MaxSearchDepth {
		return nil, false, invalid("offset plus limit must be at most %d", MaxSearchDepth)
	}
	tx, err := t.db.read(ctx)
	if err != nil {
		return nil, false, err
	}
	defer tx.Rollback()
	cands, _, err := t.db.candidates(ctx, tx, req.Query, req.Workspace, req.Offset+limit+1, true)
	if err != nil {
		return nil, false, err
	}
	cands = cands[min(req.Offset, len(cands)):]
	if len(cands) > limit {
		cands, more = cands[:limit], true
	}
	texts, err := contents(ctx, tx, docSeqs(cands))
	if err != nil {
		return nil, false, err
	}
	hits = make([]Hit, len(cands))
	for i, c := range cands {
		hits[i] = Hit{DocumentID: c.docID, Workspace: c.workspace, Path: c.path, StartLine: c.hit.startLine,
			EndLine: c.hit.endLine, Tokens: c.hit.tokens, Score: c.relevance, Content: texts[c.docSeq][c.hit.startByte:c.hit.endByte]}
	}
	return hits, more, nil
}

// docSeqs returns the distinct documents of cands.
func docSeqs(cands []candidate) []int64 {
	seen := make(map[int64]bool, len(cands))
	var out []int64
	for _, c := range cands {
		if !seen[c.docSeq] {
			seen[c.docSeq] = true
			out = append(out, c.docSeq)
		}
	}
	return out
}

// read begins a read-only transaction: every read of a query sees one
// snapshot of the tenant.
func (db *tenantDB) read(ctx context.Context) (*sql.Tx, error) {
	tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("tenant %s: begin read: %w", db.id, err)
	}
	return tx, nil
}

// candidates returns up to limit chunks matching query, best first, and the
// query terms that were used.
func (db *tenantDB) candidates(ctx context.Context, tx *sql.Tx, query, workspace string, limit int, docScores bool) ([]candidate, []string, error) {
	if len(query) > maxQueryBytes {
		return nil, nil, invalid("query is longer than %d bytes", maxQueryBytes)
	}
	var wsID int64
	if workspace != "" {
		var err error
		if wsID, err = lookupWorkspace(ctx, tx, workspace); err != nil {
			return nil, nil, err
		}
	}
	terms, err := db.selectiveTerms(ctx, tx, queryTerms(query))
	if err != nil || len(terms) == 0 {
		return nil, terms, err
	}
	postings, err := db.postings(ctx, tx, terms)
	if err != nil {
		return nil, nil, err
	}
	top, err := db.index.rank(postings, uint32(wsID), limit, docScores)
	if err != nil {
		return nil, nil, fmt.Errorf("search: %w", err)
	}
	cands, err := chunkRows(ctx, tx, top)
	if err != nil {
		return nil, nil, err
	}
	return cands, terms, nil
}

// postings reads the postings of terms, over chunks and paths.
func (db *tenantDB) postings(ctx context.Context, tx *sql.Tx, terms []string) ([]termPostings, error) {
	keys := make([]string, 0, 2*len(terms))
	byTerm := make(map[string]*termPostings, len(terms))
	out := make([]termPostings, len(terms))
	for i, t := range terms {
		out[i].term = t
		byTerm[t] = &out[i]
		keys = append(keys, t, pathTermPrefix+t)
	}
	rows, err := tx.StmtContext(ctx, db.search).QueryContext(ctx, rowKeys(keys))
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		var data []byte
		if err := rows.Scan(&key, &data); err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		err := eachTerm(key, data, func(term []byte, _ int, postings []byte) error {
			if t, ok := bytes.CutPrefix(term, []byte(pathTermPrefix)); ok && byTerm[string(t)] != nil {
				byTerm[string(t)].paths = append(byTerm[string(t)].paths, postings)
			} else if byTerm[string(term)] != nil {
				byTerm[string(term)].chunks = append(byTerm[string(term)].chunks, postings)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	return out, nil
}

// chunkRows reads the chunks of top, in its order, leaving out any deleted
// since it was scored. Relevance is scaled to (0, 1], 1 for the best.
func chunkRows(ctx context.Context, tx *sql.Tx, top []scored) ([]candidate, error) {
	if len(top) == 0 {
		return nil, nil
	}
	ids := make([]uint32, len(top))
	for i, s := range top {
		ids[i] = s.id
	}
	list, _ := json.Marshal(ids)
	rows, err := tx.QueryContext(ctx, chunksSQL, string(list))
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	defer rows.Close()
	byID := make(map[int64]candidate, len(top))
	for rows.Next() {
		var c candidate
		h, d := &c.hit, &c.decl
		if err := rows.Scan(&c.chunkID, &c.docSeq, &h.startLine, &h.endLine, &h.startByte, &h.endByte, &h.tokens,
			&d.startLine, &d.endLine, &d.startByte, &d.endByte, &d.tokens, &c.docID, &c.workspace, &c.path, &c.updatedAt, &c.docTokens, &c.docHash); err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		byID[c.chunkID] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	cands := make([]candidate, 0, len(byID))
	for _, s := range top {
		if c, ok := byID[int64(s.id)]; ok {
			c.score = float64(s.score)
			c.relevance = c.score / float64(top[0].score)
			cands = append(cands, c)
		}
	}
	return cands, nil
}

// contents reads the content of the documents seqs names.
func contents(ctx context.Context, tx *sql.Tx, seqs []int64) (map[int64]string, error) {
	list, _ := json.Marshal(seqs)
	rows, err := tx.QueryContext(ctx, `SELECT seq, content FROM documents WHERE seq IN (SELECT value FROM json_each(?))`, string(list))
	if err != nil {
		return nil, fmt.Errorf("read content: %w", err)
	}
	defer rows.Close()
	out := make(map[int64]string, len(seqs))
	for rows.Next() {
		var seq int64
		var content string
		if err := rows.Scan(&seq, &content); err != nil {
			return nil, fmt.Errorf("read content: %w", err)
		}
		out[seq] = content
	}
	return out, rows.Err()
}

// selectiveTerms shapes a query for speed: it drops terms that occur
// nowhere and, when others remain, those in more than commonShare of all
// chunks and over costlyPostings (their postings cost most and weigh
// least), then keeps the
// maxQueryTerms rarest, in query order.
func (db *tenantDB) selectiveTerms(ctx context.Context, q rowsQuerier, terms []string) ([]string, error) {
	if len(terms) == 0 {
		return nil, nil
	}
	chunks, df, err := db.frequencies(ctx, q, terms)
	if err != nil {
		return nil, err
	}
	byRarity := slices.DeleteFunc(slices.Clone(terms), func(t string) bool { return df[t] == 0 })
	slices.SortStableFunc(byRarity, func(a, b string) int { return cmp.Compare(df[a], df[b]) })
	keep := make(map[string]bool, maxQueryTerms)
	for i, t := range byRarity {
		if i == maxQueryTerms || i >= minQueryTerms && df[t] > costlyPostings && float64(df[t]) > commonShare*float64(chunks) {
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
	analyze(text, func(term []byte) {
		if want[string(term)] {
			found = append(found, string(term))
			delete(want, string(term))
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
