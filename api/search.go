package api

import (
	"net/http"
	"strings"

	"github.com/contextlite/cloud/contextengine"
)

// Limits of the search endpoint, those of the engine.
const (
	defaultSearchLimit = 10
	maxSearchLimit     = 100
)

type searchResponse struct {
	Query   string      `json:"query"`
	Results []searchHit `json:"results"`
	Total   int         `json:"total"`
}

// searchHit is one matching span of a document.
type searchHit struct {
	ID        string  `json:"id"`
	Path      string  `json:"path"`
	Workspace string  `json:"workspace"`
	StartLine int     `json:"start_line"`
	EndLine   int     `json:"end_line"`
	Tokens    int     `json:"tokens"`
	Score     float64 `json:"score"`
	Content   string  `json:"content"`
}

// search serves GET /api/v1/documents/search?q=&limit=&workspace=.
func search(w http.ResponseWriter, r *http.Request, t *contextengine.Tenant, _ Principal) error {
	q := r.URL.Query()
	query := q.Get("q")
	if strings.TrimSpace(query) == "" {
		return &Error{http.StatusUnprocessableEntity, "invalid_request", "the query parameter q is required"}
	}
	limit, err := queryInt(q, "limit", defaultSearchLimit, maxSearchLimit)
	if err != nil {
		return err
	}
	hits, err := t.Search(r.Context(), contextengine.SearchRequest{Query: query, Workspace: q.Get("workspace"), Limit: limit})
	if err != nil {
		return err
	}
	resp := searchResponse{Query: query, Results: make([]searchHit, len(hits)), Total: len(hits)}
	tokens := 0
	for i, h := range hits {
		tokens += h.Tokens
		resp.Results[i] = searchHit{ID: h.DocumentID, Path: h.Path, Workspace: h.Workspace, StartLine: h.StartLine,
			EndLine: h.EndLine, Tokens: h.Tokens, Score: h.Score, Content: h.Content}
	}
	if err := recordQuery(r, t, []byte(r.URL.RawQuery), tokens); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, resp)
}
