package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/contextlite/cloud/contextengine"
)

// AssembleRequest is what POST /api/v1/context/assemble asks.
type AssembleRequest struct {
	Query        string `json:"query"`
	MaxTokens    int    `json:"max_tokens"`    // 0: the default, within the tier's limit
	MaxDocuments int    `json:"max_documents"` // 0: the default
	Workspace    string `json:"workspace"`     // empty: all workspaces
	UseCache     *bool  `json:"use_cache"`     // default true
}

// Assembly is an assembled context; its MaxTokens is the budget applied.
type Assembly struct {
	contextengine.Result
	Clamped bool // the tier's limit lowered the requested budget
}

type assembleResponse struct {
	Object         string          `json:"object"` // always "context"
	Query          string          `json:"query"`
	Documents      []assembledSpan `json:"documents"`
	TotalDocuments int             `json:"total_documents"`
	TotalTokens    int             `json:"total_tokens"`
	MaxTokens      int             `json:"max_tokens"`
	CacheHit       bool            `json:"cache_hit"`
	Timings        timings         `json:"timings"`
	Clamped        *clampedLimits  `json:"clamped,omitempty"`
}

// timings are how long the steps of an assembly took, in seconds.
type timings struct {
	SearchSeconds float64 `json:"search_seconds"`
	SelectSeconds float64 `json:"select_seconds"`
	TotalSeconds  float64 `json:"total_seconds"`
}

// timingsOf returns t in seconds.
func timingsOf(t contextengine.Timings) timings {
	const perSecond = 1e6
	return timings{SearchSeconds: float64(t.SearchMicros) / perSecond, SelectSeconds: float64(t.SelectMicros) / perSecond,
		TotalSeconds: float64(t.TotalMicros) / perSecond}
}

// assembledSpan is one span of a document in an assembled context.
type assembledSpan struct {
	Object          string  `json:"object"` // always "context_span"
	DocumentID      string  `json:"document_id"`
	Path            string  `json:"path"`
	Workspace       string  `json:"workspace"`
	Content         string  `json:"content"`
	StartLine       int     `json:"start_line"`
	EndLine         int     `json:"end_line"`
	Tokens          int     `json:"tokens"`
	RelevanceScore  float64 `json:"relevance_score"`
	RecencyScore    float64 `json:"recency_score"`
	UtilityScore    float64 `json:"utility_score"`
	InclusionReason string  `json:"inclusion_reason"`
}

// clampedLimits reports the request limits the caller's tier lowered.
type clampedLimits struct {
	MaxTokens clamp `json:"max_tokens"`
}

type clamp struct {
	Requested int `json:"requested"`
	Applied   int `json:"applied"`
}

// assemble serves POST /api/v1/context/assemble. A max_tokens above the
// tier's limit is lowered to it, which the response's clamped reports.
func assemble(w http.ResponseWriter, r *http.Request, t *contextengine.Tenant, p Principal) error {
	var req AssembleRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	args, _ := json.Marshal(req) // plain fields always marshal
	name, err := requestName(r, args)
	if err != nil {
		return err
	}
	a, err := assembleOn(r.Context(), t, p, req, name)
	if err != nil {
		return err
	}
	resp := assembleResponse{
		Object:         "context",
		Query:          req.Query,
		Documents:      make([]assembledSpan, len(a.Items)),
		TotalDocuments: len(a.Items),
		TotalTokens:    a.TotalTokens,
		MaxTokens:      a.MaxTokens,
		CacheHit:       a.Cached,
		Timings:        timingsOf(a.Timings),
	}
	for i, it := range a.Items {
		resp.Documents[i] = assembledSpan{Object: "context_span", DocumentID: it.DocumentID, Path: it.Path, Workspace: it.Workspace, Content: it.Content,
			StartLine: it.StartLine, EndLine: it.EndLine, Tokens: it.Tokens, RelevanceScore: it.Relevance,
			RecencyScore: it.Recency, UtilityScore: it.Utility, InclusionReason: it.InclusionReason}
	}
	if a.Clamped {
		resp.Clamped = &clampedLimits{MaxTokens: clamp{Requested: req.MaxTokens, Applied: a.MaxTokens}}
	}
	return writeJSON(w, http.StatusOK, resp)
}

// assembleOn assembles the context req asks of t for caller p, within
// its tier's token limit, and records it as one query, named name for
// the usage outbox (see requestName).
func assembleOn(ctx context.Context, t *contextengine.Tenant, p Principal, req AssembleRequest, name string) (Assembly, error) {
	if strings.TrimSpace(req.Query) == "" {
		return Assembly{}, &Error{http.StatusUnprocessableEntity, "invalid_request", "query is required"}
	}
	budget, clamped := tokenBudget(req.MaxTokens, p.TokensPerQuery)
	res, err := t.Assemble(ctx, contextengine.Request{
		Query:        req.Query,
		MaxTokens:    budget,
		MaxDocuments: req.MaxDocuments,
		Workspace:    req.Workspace,
		NoCache:      req.UseCache != nil && !*req.UseCache,
	})
	if err != nil {
		return Assembly{}, err
	}
	if _, err := t.RecordQuery(ctx, name, res.TotalTokens); err != nil {
		return Assembly{}, err
	}
	return Assembly{Result: *res, Clamped: clamped}, nil
}

// AssembleFor assembles the context req asks for caller p, as POST
// /api/v1/context/assemble does: admitted under the query quota and
// metered the same.
func (h *Handler) AssembleFor(ctx context.Context, p Principal, req AssembleRequest) (Assembly, error) {
	var a Assembly
	err := h.onTenant(ctx, p, scopeRead, true, func(t *contextengine.Tenant) (err error) {
		a, err = assembleOn(ctx, t, p, req, "")
		return err
	})
	return a, err
}

// tokenBudget returns the max_tokens to apply to a request for requested
// tokens (0: the default) under a tier limit (0: none), and whether the
// limit lowered an explicit request.
func tokenBudget(requested, limit int) (budget int, clamped bool) {
	switch {
	case limit <= 0 && requested == 0:
		return contextengine.DefaultMaxTokens, false
	case limit <= 0:
		return requested, false
	case requested == 0:
		return min(contextengine.DefaultMaxTokens, limit), false
	case requested > limit:
		return limit, true
	}
	return requested, false
}
