package contextengine

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"time"
)

// expandShare bounds how much of the budget one hit may grow to when it is
// widened to its whole declaration or section.
const expandShare = 4

// selector fills a token budget from ranked candidates. Each hit grows to
// its whole declaration or section when that takes at most a quarter of
// the budget, joins any item of its document it touches, and is left out
// when it nearly duplicates text already taken; what does not fit is
// skipped for the next.
type selector struct {
	req      Request
	tokens   TokenCounter
	now      int64
	halfLife time.Duration

	items  []Item
	seqs   []int64  // document seq of each item
	hashes []uint64 // SimHashes of the chunks taken
	used   int
	texts  map[int64]string
	chunks map[int64][]chunkSpan // each candidate document's chunks, in order
}

// chunkSpan is a chunk's place in its document.
type chunkSpan struct {
	startLine, endLine int
	startByte, endByte int
	head               bool
	tokens             int
}

func (s *selector) run(ctx context.Context, tx *sql.Tx, cands []candidate, terms []string) (*Result, error) {
	if len(cands) > 0 {
		seqs := docSeqs(cands)
		var err error
		if s.texts, err = contents(ctx, tx, seqs); err != nil {
			return nil, err
		}
		if !s.req.Tuning.NoExpand && !s.req.Tuning.NaivePacking {
			if s.chunks, err = docChunks(ctx, tx, seqs); err != nil {
				return nil, err
			}
		}
	}
	for i, c := range cands {
		s.consider(c, i+1, terms)
	}
	res := &Result{Items: s.items, TotalTokens: s.used, MaxTokens: s.req.MaxTokens, Candidates: len(cands), Terms: terms}
	if res.Items == nil {
		res.Items = []Item{}
	}
	return res, nil
}

// docChunks reads the chunks of documents seqs, in line order.
func docChunks(ctx context.Context, tx *sql.Tx, seqs []int64) (map[int64][]chunkSpan, error) {
	list, _ := json.Marshal(seqs)
	rows, err := tx.QueryContext(ctx, `SELECT doc_seq, start_line, end_line, start_byte, end_byte, head, tokens FROM chunks
		WHERE doc_seq IN (SELECT value FROM json_each(?)) ORDER BY doc_seq, start_line`, string(list))
	if err != nil {
		return nil, fmt.Errorf("read chunks: %w", err)
	}
	defer rows.Close()
	out := make(map[int64][]chunkSpan, len(seqs))
	for rows.Next() {
		var seq int64
		var c chunkSpan
		if err := rows.Scan(&seq, &c.startLine, &c.endLine, &c.startByte, &c.endByte, &c.head, &c.tokens); err != nil {
			return nil, fmt.Errorf("read chunks: %w", err)
		}
		out[seq] = append(out[seq], c)
	}
	return out, rows.Err()
}

// consider takes candidate c, of the given rank, if it adds something
// that fits.
func (s *selector) consider(c candidate, rank int, terms []string) {
	hit := chunkSpan{c.startLine, c.endLine, c.startByte, c.endByte, c.head, c.tokens}
	if s.req.Tuning.NaivePacking {
		s.place(c, hit, rank, terms)
		return
	}
	if s.covered(c) || !s.req.Tuning.NoRedundancy && s.nearDuplicate(c.simhash) {
		return
	}
	if decl, ok := s.declaration(c); ok && s.place(c, decl, rank, terms) {
		return
	}
	s.place(c, hit, rank, terms)
}

// covered reports whether c lies inside an item already taken.
func (s *selector) covered(c candidate) bool {
	for i, it := range s.items {
		if s.seqs[i] == c.docSeq && it.StartLine <= c.startLine && c.endLine <= it.EndLine {
			return true
		}
	}
	return false
}

func (s *selector) nearDuplicate(h uint64) bool {
	for _, t := range s.hashes {
		if bits.OnesCount64(t^h) <= 3 {
			return true
		}
	}
	return false
}

// declaration returns the run of chunks from the head at or before c to
// the next head: the whole declaration or section c is part of, when it
// is more than c and small enough to take whole.
func (s *selector) declaration(c candidate) (chunkSpan, bool) {
	chunks := s.chunks[c.docSeq]
	i := 0
	for i < len(chunks) && chunks[i].startLine != c.startLine {
		i++
	}
	if i == len(chunks) {
		return chunkSpan{}, false
	}
	first, last := i, i
	for first > 0 && !chunks[first].head {
		first--
	}
	for last+1 < len(chunks) && !chunks[last+1].head {
		last++
	}
	if first == last {
		return chunkSpan{}, false
	}
	d := chunkSpan{chunks[first].startLine, chunks[last].endLine, chunks[first].startByte, chunks[last].endByte, chunks[first].head, 0}
	for _, ch := range chunks[first : last+1] {
		d.tokens += ch.tokens + 1 // an estimate: the joins may count differently
	}
	return d, d.tokens <= s.req.MaxTokens/expandShare
}

// place adds span u of c's document as an item, or joins it with the
// items of that document it overlaps or touches, if the result fits.
func (s *selector) place(c candidate, u chunkSpan, rank int, terms []string) bool {
	if u.tokens > s.req.MaxTokens-s.used {
		return false
	}
	var joined []int
	if !s.req.Tuning.NoMerge && !s.req.Tuning.NaivePacking {
		for i, it := range s.items {
			if s.seqs[i] == c.docSeq && u.startLine <= it.EndLine+1 && it.StartLine <= u.endLine+1 {
				joined = append(joined, i)
			}
		}
	}
	if len(joined) == 0 {
		return s.add(c, u, rank, terms)
	}
	return s.join(c, u, joined)
}

// add appends span u of c's document as a new item if it fits.
func (s *selector) add(c candidate, u chunkSpan, rank int, terms []string) bool {
	if len(s.items) >= s.req.MaxDocuments {
		return false
	}
	text := s.texts[c.docSeq][u.startByte:u.endByte]
	tokens := u.tokens
	if u.startLine != c.startLine || u.endLine != c.endLine {
		tokens = s.tokens.Count(text)
	}
	if s.used+tokens > s.req.MaxTokens {
		return false
	}
	it := s.item(c)
	it.StartLine, it.EndLine, it.Content, it.Tokens, it.startByte = u.startLine, u.endLine, text, tokens, u.startByte
	it.InclusionReason = fmt.Sprintf("rank %d by bm25 relevance; matches %s", rank, joinTerms(matchedTerms(it.Content, terms)))
	if u.startLine != c.startLine || u.endLine != c.endLine {
		it.InclusionReason += fmt.Sprintf("; widened from lines %d-%d to the whole declaration", c.startLine, c.endLine)
	}
	s.items = append(s.items, it)
	s.seqs = append(s.seqs, c.docSeq)
	s.hashes = append(s.hashes, c.simhash)
	s.used += tokens
	return true
}

// join merges span u with the items at indexes joined (all of c's
// document) into the first of them, if the result fits.
func (s *selector) join(c candidate, u chunkSpan, joined []int) bool {
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
	text := s.texts[c.docSeq][startByte:endByte]
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
	}
	s.hashes = append(s.hashes, c.simhash)
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
