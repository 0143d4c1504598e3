package api

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"

	"github.com/contextlite/cloud/contextengine"
)

// Limits of the search endpoint, those of the engine.
const (
	defaultSearchLimit = 10
	maxSearchLimit     = 100
)

// searchPage is a page of search results.
type searchPage struct {
	list[searchResult]
	Query string `json:"query"`
}

// searchResult is one matching span of a document.
type searchResult struct {
	Object     string  `json:"object"` // always "search_result"
	DocumentID string  `json:"document_id"`
	Path       string  `json:"path"`
	Workspace  string  `json:"workspace"`
	StartLine  int     `json:"start_line"`
	EndLine    int     `json:"end_line"`
	Tokens     int     `json:"tokens"`
	Score      float64 `json:"score"`
	Content    string  `json:"content"`
}

// search serves GET /api/v1/documents/search?q=&limit=&workspace=&cursor=.
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
	ws := q.Get("workspace")
	offset, err := decodeSearchCursor(q.Get("cursor"), query, ws)
	if err != nil {
		return err
	}
	hits, more, err := t.SearchPage(r.Context(), contextengine.SearchRequest{Query: query, Workspace: ws, Limit: limit, Offset: offset})
	if err != nil {
		return err
	}
	results := make([]searchResult, len(hits))
	tokens := 0
	for i, h := range hits {
		tokens += h.Tokens
		results[i] = searchResult{Object: "search_result", DocumentID: h.DocumentID, Path: h.Path, Workspace: h.Workspace,
			StartLine: h.StartLine, EndLine: h.EndLine, Tokens: h.Tokens, Score: h.Score, Content: h.Content}
	}
	if err := recordQuery(r, t, []byte(r.URL.RawQuery), tokens); err != nil {
		return err
	}
	next := ""
	if more && offset+2*limit <= contextengine.MaxSearchDepth {
		next = encodeSearchCursor(offset+limit, query, ws)
	}
	return writeJSON(w, http.StatusOK, searchPage{list: newList(results, next), Query: query})
}

// searchKey binds a search cursor to its query and workspace.
func searchKey(query, workspace string) string {
	sum := sha256.Sum256([]byte(query + "\x00" + workspace))
	return hex.EncodeToString(sum[:6])
}

// encodeSearchCursor returns the opaque cursor of the results of query in
// workspace from offset on.
func encodeSearchCursor(offset int, query, workspace string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("s" + strconv.Itoa(offset) + "." + searchKey(query, workspace)))
}

// decodeSearchCursor returns the offset a cursor of encodeSearchCursor
// holds for query in workspace; 0 for "".
func decodeSearchCursor(cursor, query, workspace string) (int, error) {
	if cursor == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err == nil {
		if s, ok := strings.CutPrefix(string(b), "s"); ok {
			n, k, _ := strings.Cut(s, ".")
			if off, err := strconv.Atoi(n); err == nil && off > 0 && off < contextengine.MaxSearchDepth && k == searchKey(query, workspace) {
				return off, nil
			}
		}
	}
	return 0, &Error{http.StatusUnprocessableEntity, "invalid_request",
		"cursor is not one this search returned; pass the next_cursor of the same q and workspace"}
}
