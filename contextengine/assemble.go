package contextengine

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"strings"
	"time"
)

// Assembly limits and defaults.
const (
	DefaultMaxTokens    = 4000
	DefaultMaxDocuments = 20
	MaxAssembleTokens   = 1 << 20
	MaxAssembleItems    = 1000
)

// Request asks for the best context that fits a token budget.
type Request struct {
	Query        string `json:"query"`
	MaxTokens    int    `json:"max_tokens,omitempty"`    // default 4000
	MaxDocuments int    `json:"max_documents,omitempty"` // most items returned, default 20
	Workspace    string `json:"workspace,omitempty"`     // empty: all workspaces
	NoCache      bool   `json:"no_cache,omitempty"`      // bypass the result cache
	Tuning       Tuning `json:"-"`                       // experiments only; zero is the default
}

// Tuning switches parts of assembly off or resizes them, so an evaluation
// can measure what each design choice is worth. The zero value is the
// engine's default behaviour.
type Tuning struct {
	NaivePacking  bool // take candidates in rank order while they fit, nothing else
	NoRedundancy  bool // no near-duplicate penalty
	NoMerge       bool // never join adjacent spans of a document
	NoExpand      bool // keep hits as chunks, never grow them to their declaration
	NoDocScore    bool // rank chunks on their own text, without their document's score
	CandidatePool int  // candidates considered; 0 sizes the pool to the budget
}

// Item is one returned span of a document.
type Item struct {
	DocumentID      string  `json:"document_id"`
	Workspace       string  `json:"workspace"`
	Path            string  `json:"path"`
	StartLine       int     `json:"start_line"`
	EndLine         int     `json:"end_line"`
	Content         string  `json:"content"` // exactly lines StartLine..EndLine
	Tokens          int     `json:"tokens"`  // exact o200k_base count of Content
	Relevance       float64 `json:"relevance"`
	Recency         float64 `json:"recency"`
	Utility         float64 `json:"utility"`
	InclusionReason string  `json:"inclusion_reason"`

	simhash uint64
}

// Result is an assembled context. Items are in order of utility.
type Result struct {
	Items       []Item   `json:"items"`
	TotalTokens int      `json:"total_tokens"`
	MaxTokens   int      `json:"max_tokens"`
	Candidates  int      `json:"candidates"`
	Terms       []string `json:"terms"`
	Cached      bool     `json:"cached"`
	Timings     Timings  `json:"timings"`
}

// Timings break down where an assembly spent its time, in microseconds.
type Timings struct {
	SearchMicros int64 `json:"search_us"`
	SelectMicros int64 `json:"select_us"`
	TotalMicros  int64 `json:"total_us"`
}

// Assemble returns the chunks that best answer req.Query within its token
// and item limits, merging adjacent chunks of a document and leaving out
// near-duplicates. Results are cached until the tenant's next write.
func (t *Tenant) Assemble(ctx context.Context, req Request) (*Result, error) {
	start := time.Now()
	if err := normalize(&req); err != nil {
		return nil, err
	}
	req.NoCache = req.NoCache || req.Tuning != Tuning{}
	key := cacheKey(req, t.db.gen.Load())
	if !req.NoCache {
		if res := t.db.cache.get(key); res != nil {
			res.Cached = true
			res.Timings = Timings{TotalMicros: time.Since(start).Microseconds()}
			return res, nil
		}
	}
	cands, terms, err := t.db.candidates(ctx, req.Query, req.Workspace, candidatePool(req))
	if err != nil {
		return nil, err
	}
	searched := time.Now()
	sel := selector{req: req, tokens: t.db.eng.tokens, now: t.db.eng.now().UnixNano(), halfLife: t.db.eng.halfLife}
	res := sel.run(cands, terms)
	res.Timings = Timings{
		SearchMicros: searched.Sub(start).Microseconds(),
		SelectMicros: time.Since(searched).Microseconds(),
		TotalMicros:  time.Since(start).Microseconds(),
	}
	if !req.NoCache {
		t.db.cache.put(key, res)
	}
	return res, nil
}

func normalize(req *Request) error {
	if req.MaxTokens == 0 {
		req.MaxTokens = DefaultMaxTokens
	}
	if req.MaxDocuments == 0 {
		req.MaxDocuments = DefaultMaxDocuments
	}
	if req.MaxTokens < 1 || req.MaxTokens > MaxAssembleTokens {
		return invalid("max_tokens must be between 1 and %d", MaxAssembleTokens)
	}
	if req.MaxDocuments < 1 || req.MaxDocuments > MaxAssembleItems {
		return invalid("max_documents must be between 1 and %d", MaxAssembleItems)
	}
	return nil
}

// candidatePool sizes the candidate list to the budget.
func candidatePool(req Request) int {
	if req.Tuning.CandidatePool > 0 {
		return req.Tuning.CandidatePool
	}
	return min(50+req.MaxTokens/100, 300)
}

// selector picks items greedily by utility less a redundancy penalty.
type selector struct {
	req      Request
	tokens   TokenCounter
	now      int64
	halfLife time.Duration

	items  []Item
	hashes []uint64 // SimHashes of every chunk taken, merged or not
	used   int
}

func (s *selector) run(cands []candidate, terms []string) *Result {
	pool := make([]Item, len(cands))
	for i, c := range cands {
		pool[i] = s.item(c)
	}
	taken := make([]bool, len(pool))
	for rank := 1; ; rank++ {
		best := s.next(pool, taken)
		if best < 0 {
			break
		}
		taken[best] = true
		s.take(pool[best], rank, terms)
	}
	res := &Result{Items: s.items, TotalTokens: s.used, MaxTokens: s.req.MaxTokens, Candidates: len(cands), Terms: terms}
	if res.Items == nil {
		res.Items = []Item{}
	}
	return res
}

func (s *selector) item(c candidate) Item {
	age := float64(max(s.now-c.updatedAt, 0))
	recency := math.Exp2(-age / float64(s.halfLife))
	return Item{
		DocumentID: c.docID, Workspace: c.workspace, Path: c.path,
		StartLine: c.startLine, EndLine: c.endLine, Content: c.content, Tokens: c.tokens,
		Relevance: c.relevance, Recency: recency, Utility: c.relevance * (0.85 + 0.15*recency),
		simhash: c.simhash,
	}
}

// next returns the untaken candidate of highest penalised utility, or -1.
func (s *selector) next(pool []Item, taken []bool) int {
	best, bestU := -1, 0.0
	for i := range pool {
		if taken[i] {
			continue
		}
		if s.req.Tuning.NaivePacking {
			return i
		}
		if u := pool[i].Utility * (1 - s.redundancy(pool[i])); u > bestU {
			best, bestU = i, u
		}
	}
	return best
}

// redundancy is how much an item repeats what is already selected: 1 for
// near-duplicates and overlapping spans, less for similar text.
func (s *selector) redundancy(it Item) float64 {
	for _, sel := range s.items {
		if sel.DocumentID == it.DocumentID && it.StartLine <= sel.EndLine && sel.StartLine <= it.EndLine {
			return 1
		}
	}
	if s.req.Tuning.NoRedundancy {
		return 0
	}
	r := 0.0
	for _, h := range s.hashes {
		d := bits.OnesCount64(h ^ it.simhash)
		if d <= 3 {
			return 1
		}
		r = max(r, 0.5*max(0, 1-float64(d)/20))
	}
	return r
}

// take adds an item if it fits, merged into an adjacent item of the same
// document when there is one.
func (s *selector) take(it Item, rank int, terms []string) {
	for i := range s.items {
		if s.req.Tuning.NoMerge || s.req.Tuning.NaivePacking {
			break
		}
		if merged, ok := s.merge(s.items[i], it); ok {
			if s.used-s.items[i].Tokens+merged.Tokens <= s.req.MaxTokens {
				s.used += merged.Tokens - s.items[i].Tokens
				s.items[i] = merged
				s.hashes = append(s.hashes, it.simhash)
			}
			return
		}
	}
	if len(s.items) >= s.req.MaxDocuments || s.used+it.Tokens > s.req.MaxTokens {
		return
	}
	it.InclusionReason = fmt.Sprintf("rank %d by bm25 relevance; matches %s", rank, joinTerms(matchedTerms(it.Content, terms)))
	s.items = append(s.items, it)
	s.hashes = append(s.hashes, it.simhash)
	s.used += it.Tokens
}

// merge joins b to a when they are adjacent spans of one document.
func (s *selector) merge(a, b Item) (Item, bool) {
	if a.DocumentID != b.DocumentID || (a.EndLine+1 != b.StartLine && b.EndLine+1 != a.StartLine) {
		return a, false
	}
	if b.StartLine < a.StartLine {
		a.StartLine, a.Content = b.StartLine, b.Content+"\n"+a.Content
	} else {
		a.EndLine, a.Content = b.EndLine, a.Content+"\n"+b.Content
	}
	a.Tokens = s.tokens.Count(a.Content)
	if !strings.Contains(a.InclusionReason, "merged") {
		a.InclusionReason += "; merged with adjacent lines"
	}
	return a, true
}
