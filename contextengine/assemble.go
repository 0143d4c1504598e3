package contextengine

import (
	"context"
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
	NoMerge       bool // never join adjacent spans of a document
	NoExpand      bool // keep hits as chunks, never grow them to their declaration
	NoDocScore    bool // rank chunks on their own text, without their document's score
	CandidatePool int  // candidates considered; 0 sizes the pool to the budget
	DocShare      int  // widen to the whole document within 1/DocShare of the budget; 0: docShare
	DeclShare     int  // widen to the declaration within 1/DeclShare of the budget; 0: declShare
	NoTop         bool // never grow the best hit to the declarations around it
	TopShare      int  // the best hit grows within 1/TopShare of the budget; 0: topShare
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

	startByte int // where Content starts in the document
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
	tx, err := t.db.read(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	cands, terms, err := t.db.candidates(ctx, tx, req.Query, req.Workspace, candidatePool(req), !req.Tuning.NoDocScore)
	if err != nil {
		return nil, err
	}
	searched := time.Now()
	sel := selector{req: req, tokens: t.db.eng.tokens, now: t.db.eng.now().UnixNano(), halfLife: t.db.eng.halfLife}
	res, err := sel.run(ctx, tx, cands, terms)
	if err != nil {
		return nil, err
	}
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
