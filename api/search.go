package api

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
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
	limit, err := queryInt(q, "limit", defaultSearchLimit, maxSearchLimit)
	if err != nil {
		return err
	}
	name, err := requestName(r, []byte(r.URL.RawQuery))
	if err != nil {
		return err
	}
	sq := SearchQuery{Query: q.Get("q"), Workspace: q.Get("workspace"), Cursor: q.Get("cursor"), Limit: limit}
	found, err := searchOn(r.Context(), t, sq, name)
	if err != nil {
		return err
	}
	results := make([]searchResult, len(found.Hits))
	for i, h := range found.Hits {
		results[i] = searchResult{Object: "search_result", DocumentID: h.DocumentID, Path: h.Path, Workspace: h.Workspace,
			StartLine: h.StartLine, EndLine: h.EndLine, Tokens: h.Tokens, Score: h.Score, Content: h.Content}
	}
	return writeJSON(w, http.StatusOK, searchPage{list: newList(results, found.NextCursor), Query: sq.Query})
}

// SearchQuery is a search as GET /api/v1/documents/search asks it.
type SearchQuery struct {
	Query     string
	Workspace string // empty: all workspaces
	Cursor    string // the NextCursor of the previous page of the same Query and Workspace
	Limit     int    // 0: the default
}

// SearchHits is a page of the spans matching a search, best first.
type SearchHits struct {
	Hits       []contextengine.Hit
	NextCursor string // empty on the last page
}

// searchOn runs search q on t and records it as one query, named name
// for the usage outbox (see requestName).
func searchOn(ctx context.Context, t *contextengine.Tenant, q SearchQuery, name string) (SearchHits, error) {
	if strings.TrimSpace(q.Query) == "" {
		return SearchHits{}, &Error{http.StatusUnprocessableEntity, "invalid_request", "the query parameter q is required"}
	}
	if q.Limit < 0 || q.Limit > maxSearchLimit {
		return SearchHits{}, &Error{http.StatusUnprocessableEntity, "invalid_request", fmt.Sprintf("limit must be an integer from 1 to %d", maxSearchLimit)}
	}
	limit := cmp.Or(q.Limit, defaultSearchLimit)
	offset, err := decodeSearchCursor(q.Cursor, q.Query, q.Workspace)
	if err != nil {
		return SearchHits{}, err
	}
	hits, more, err := t.SearchPage(ctx, contextengine.SearchRequest{Query: q.Query, Workspace: q.Workspace, Limit: limit, Offset: offset})
	if err != nil {
		return SearchHits{}, err
	}
	tokens := 0
	for _, h := range hits {
		tokens += h.Tokens
	}
	if _, err := t.RecordQuery(ctx, name, tokens); err != nil {
		return SearchHits{}, err
	}
	found := SearchHits{Hits: hits}
	if more && offset+2*limit <= contextengine.MaxSearchDepth {
		found.NextCursor = encodeSearchCursor(offset+limit, q.Query, q.Workspace)
	}
	return found, nil
}

// SearchFor runs search q for caller p, as GET /api/v1/documents/search
// does: admitted under the query quota and metered the same.
func (h *Handler) SearchFor(ctx context.Context, p Principal, q SearchQuery) (SearchHits, error) {
	var found SearchHits
	err := h.onTenant(ctx, p, scopeRead, true, func(t *contextengine.Tenant) (err error) {
		found, err = searchOn(ctx, t, q, "")
		return err
	})
	return found, err
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
