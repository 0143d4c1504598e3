package contextengine

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"time"
)

// A hit grows to its whole document when that takes at most 1/docShare
// of the budget, else to its declaration or section when that takes at
// most 1/declShare. Measured on the godoc set (150 queries): whole
// documents at 1/6 lift nDCG@10 from 0.58 to 0.65 and coverage at 16k
// tokens from 0.72 to 0.78; 1/4 ranks better (0.66) but covers less at
// 16k (0.75), 1/8 the reverse (0.63, 0.77). Declarations at 1/8 rather
// than 1/4 cover 0.004 more at 16k (500 queries).
//
// The best-ranked hit grows further: to its whole document, or else to
// the declarations around it, within 1/topShare of the budget but at
// least topFloor tokens (and at most half the budget). On the godoc set
// the best hit's document holds the answer in 61 % of queries but the
// hit itself in only 19 %, so its neighbours are worth more than other
// documents' hits.
const (
	docShare  = 6
	declShare = 8
	topShare  = 4
	topFloor  = 512
)

// wholeDocument is the span of all of content's lines.
func wholeDocument(content string, tokens int) chunkSpan {
	end := len(content)
	if strings.HasSuffix(content, "\n") {
		end--
	}
	return chunkSpan{startLine: 1, endLine: strings.Count(content[:end], "\n") + 1, endByte: end, tokens: tokens}
}

// selector fills a token budget from ranked candidates. Each hit grows to
// its whole document or declaration when that is small enough, joins any
// item of its document it touches, and is left out when its lines are
// already taken, from its document or from a copy of it (same content);
// what does not fit is skipped for the next. A near-duplicate penalty
// (SimHash) was measured and removed: on the godoc set it cost 0.03
// nDCG@10 and 0.01-0.03 budget coverage, leaving out near-copies that
// were the answer.
type selector struct {
	req      Request
	tokens   TokenCounter
	now      int64
	halfLife time.Duration

	items  []Item
	seqs   []int64  // document seq of each item
	hashes []string // content hash of each item's document
	used   int
	texts  map[int64]string // content of the documents considered
}

// chunkSpan is a span of lines of a document: a chunk, or a declaration.
type chunkSpan struct {
	startLine, endLine int
	startByte, endByte int
	tokens             int // exact for a chunk, estimated for a declaration
}

func (u chunkSpan) same(v chunkSpan) bool {
	return u.startLine == v.startLine && u.endLine == v.endLine
}

func (s *selector) run(ctx context.Context, tx *sql.Tx, cands []candidate, terms []string) (*Result, error) {
	s.texts = make(map[int64]string)
	for i, c := range cands {
		if err := s.consider(ctx, tx, c, i+1, terms); err != nil {
			return nil, err
		}
	}
	res := &Result{Items: s.items, TotalTokens: s.used, MaxTokens: s.req.MaxTokens, Candidates: len(cands), Terms: terms}
	if res.Items == nil {
		res.Items = []Item{}
	}
	return res, nil
}

// text returns the content of document seq, read once per assembly.
func (s *selector) text(ctx context.Context, tx *sql.Tx, seq int64) (string, error) {
	if t, ok := s.texts[seq]; ok {
		return t, nil
	}
	var t string
	if err := tx.QueryRowContext(ctx, `SELECT content FROM documents WHERE seq = ?`, seq).Scan(&t); err != nil {
		return "", fmt.Errorf("read content: %w", err)
	}
	s.texts[seq] = t
	return t, nil
}

// consider takes candidate c, of the given rank, if it adds something
// that fits: for the best hit, its document or the declarations around
// it; else its whole document or declaration when that is small enough,
// else c.
func (s *selector) consider(ctx context.Context, tx *sql.Tx, c candidate, rank int, terms []string) error {
	t := s.req.Tuning
	if c.hit.tokens > s.req.MaxTokens-s.used || !t.NaivePacking && s.covered(c) {
		return nil
	}
	text, err := s.text(ctx, tx, c.docSeq)
	if err != nil {
		return err
	}
	if t.NaivePacking {
		s.place(c, c.hit, text, rank, terms)
		return nil
	}
	ds, dc, ts := defaultInt(t.DocShare, docShare), defaultInt(t.DeclShare, declShare), defaultInt(t.TopShare, topShare)
	if rank == 1 && !t.NoExpand && !t.NoTop {
		limit := max(s.req.MaxTokens/ts, min(s.req.MaxTokens/2, topFloor))
		if c.docTokens <= limit && s.place(c, wholeDocument(text, c.docTokens), text, rank, terms) {
			return nil
		}
		if u, ok := s.around(c, text, limit); ok && s.place(c, u, text, rank, terms) {
			return nil
		}
	}
	if !t.NoExpand && c.docTokens <= s.req.MaxTokens/ds && s.place(c, wholeDocument(text, c.docTokens), text, rank, terms) {
		return nil
	}
	if !t.NoExpand && !c.decl.same(c.hit) && c.decl.tokens <= s.req.MaxTokens/dc && s.place(c, c.decl, text, rank, terms) {
		return nil
	}
	s.place(c, c.hit, text, rank, terms)
	return nil
}

// covered reports whether c's lines lie inside an item already taken from
// its document or from a copy of it.
func (s *selector) covered(c candidate) bool {
	for i, it := range s.items {
		same := s.seqs[i] == c.docSeq || s.hashes[i] == c.docHash
		if same && it.StartLine <= c.hit.startLine && c.hit.endLine <= it.EndLine {
			return true
		}
	}
	return false
}

// place adds span u of c's document as an item, or joins it with the
// items of that document it overlaps or touches, if the result fits.
func (s *selector) place(c candidate, u chunkSpan, text string, rank int, terms []string) bool {
	if u.tokens > s.req.MaxTokens-s.used {
		return false
	}
	var joined []int
	if !s.req.Tuning.NaivePacking {
		for i, it := range s.items {
			if s.req.Tuning.NoMerge && s.seqs[i] == c.docSeq && u.startLine <= it.EndLine && it.StartLine <= u.endLine {
				return false // unjoined items must not overlap
			}
			if !s.req.Tuning.NoMerge && s.seqs[i] == c.docSeq && u.startLine <= it.EndLine+1 && it.StartLine <= u.endLine+1 {
				joined = append(joined, i)
			}
		}
	}
	if len(joined) == 0 {
		return s.add(c, u, text, rank, terms)
	}
	return s.join(c, u, text, joined)
}

// add appends span u of c's document as a new item if it fits.
func (s *selector) add(c candidate, u chunkSpan, doc string, rank int, terms []string) bool {
	if len(s.items) >= s.req.MaxDocuments {
		return false
	}
	text := doc[u.startByte:u.endByte]
	tokens := u.tokens
	if !u.same(c.hit) {
		tokens = s.tokens.Count(text)
	}
	if s.used+tokens > s.req.MaxTokens {
		return false
	}
	it := s.item(c)
	it.StartLine, it.EndLine, it.Content, it.Tokens, it.startByte = u.startLine, u.endLine, text, tokens, u.startByte
	it.InclusionReason = fmt.Sprintf("rank %d by bm25 relevance; matches %s", rank, joinTerms(matchedTerms(it.Content, terms)))
	if !u.same(c.hit) {
		it.InclusionReason += fmt.Sprintf("; widened from lines %d-%d to the whole declaration", c.hit.startLine, c.hit.endLine)
	}
	s.items = append(s.items, it)
	s.seqs = append(s.seqs, c.docSeq)
	s.hashes = append(s.hashes, c.docHash)
	s.used += tokens
	return true
}

// join merges span u with the items at indexes joined (all of c's
// document) into the first of them, if the result fits.
func (s *selector) join(c candidate, u chunkSpan, doc string, joined []int) bool {
	start, end := u.startLine, u.endLine
	startByte, endByte := u.startByte, u.endByte
	old := 0
	for _, i := range joined {
		it := s.items[i]
		old += it.Tokens
		if it.StartLine < start {
			start, startByte = it.StartLine, it.startByte
		}
		if it.EndLine > end {
			end, endByte = it.EndLine, it.startByte+len(it.Content)
		}
	}
	text := doc[startByte:endByte]
	tokens := s.tokens.Count(text)
	if s.used-old+tokens > s.req.MaxTokens {
		return false
	}
	first := &s.items[joined[0]]
	first.StartLine, first.EndLine, first.Content, first.Tokens, first.startByte = start, end, text, tokens, startByte
	first.InclusionReason += fmt.Sprintf("; merged with adjacent lines %d-%d", u.startLine, u.endLine)
	s.used += tokens - old
	for k := len(joined) - 1; k > 0; k-- {
		i := joined[k]
		s.items = append(s.items[:i], s.items[i+1:]...)
		s.seqs = append(s.seqs[:i], s.seqs[i+1:]...)
		s.hashes = append(s.hashes[:i], s.hashes[i+1:]...)
	}
	return true
}

func (s *selector) item(c candidate) Item {
	age := float64(max(s.now-c.updatedAt, 0))
	recency := math.Exp2(-age / float64(s.halfLife))
	return Item{
		DocumentID: c.docID, Workspace: c.workspace, Path: c.path,
		Relevance: c.relevance, Recency: recency, Utility: c.relevance * (0.85 + 0.15*recency),
	}
}

// around grows hit c to the declarations (or sections) around it, one
// before and one after in turn, while the span's tokens, estimated from
// the document's tokens per byte, stay within limit. It reports false when
// nothing is added to the hit or the hit's own declarations exceed limit.
func (s *selector) around(c candidate, doc string, limit int) (chunkSpan, bool) {
	h := c.hit
	body := doc
	if strings.HasSuffix(body, "\n") {
		body = body[:len(body)-1]
	}
	lines := strings.Split(body, "\n")
	perByte := float64(c.docTokens) / float64(max(len(body), 1))
	var starts []int // first line (0-based) of each declaration
	for _, b := range documentBlocks(c.path, "", lines) {
		if len(starts) == 0 || b.head {
			starts = append(starts, b.start)
		}
	}
	starts = append(starts, len(lines))
	offs := make([]int, len(lines)+1)
	for i, l := range lines {
		offs[i+1] = offs[i] + len(l) + 1
	}
	// Declarations i..j-1 hold the hit.
	i, j := 0, len(starts)-1
	for i+1 < len(starts) && starts[i+1] <= h.startLine-1 {
		i++
	}
	for j > i+1 && starts[j-1] >= h.endLine {
		j--
	}
	est := func(i, j int) int { return int(perByte * float64(offs[starts[j]]-offs[starts[i]])) }
	if est(i, j) > limit {
		return chunkSpan{}, false
	}
	for grew := true; grew; {
		grew = false
		if i > 0 && est(i-1, j) <= limit {
			i--
			grew = true
		}
		if j < len(starts)-1 && est(i, j+1) <= limit {
			j++
			grew = true
		}
	}
	a, b := starts[i], starts[j]
	for a < b && blank(lines[a]) {
		a++
	}
	for b > a && blank(lines[b-1]) {
		b--
	}
	a, b = min(a, h.startLine-1), max(b, h.endLine)
	u := chunkSpan{startLine: a + 1, endLine: b, startByte: offs[a], endByte: offs[b] - 1}
	u.tokens = int(perByte * float64(u.endByte-u.startByte))
	return u, !u.same(h)
}
