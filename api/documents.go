package api

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"unicode/utf8"

	"github.com/contextlite/cloud/contextengine"
	"github.com/contextlite/cloud/tenancy"
)

// Limits of the document endpoints.
const (
	maxBulkDocuments = 1000
	defaultListLimit = 50
	maxListLimit     = 500
)

// addedDocument is the answer to adding one document.
type addedDocument struct {
	Object    string `json:"object"` // always "document_write"
	ID        string `json:"id"`
	Path      string `json:"path"`
	Workspace string `json:"workspace"`
	Status    string `json:"status"` // created, updated or unchanged
}

// addDocument serves POST /api/v1/documents: 201 when the document is
// new, 200 when it replaced or matched the one at its path.
func addDocument(w http.ResponseWriter, r *http.Request, t *contextengine.Tenant, _ Principal) error {
	var doc contextengine.NewDocument
	if err := decodeJSON(r, &doc); err != nil {
		return err
	}
	res, err := addOn(r.Context(), t, doc)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if res.Status == contextengine.StatusCreated {
		status = http.StatusCreated
	}
	return writeJSON(w, status, addedDocument{
		Object:    "document_write",
		ID:        res.ID,
		Path:      cmp.Or(doc.Path, doc.ID), // as the engine defaults them
		Workspace: cmp.Or(doc.Workspace, contextengine.DefaultWorkspace),
		Status:    res.Status,
	})
}

// addOn adds or replaces doc on t, as POST /api/v1/documents does.
func addOn(ctx context.Context, t *contextengine.Tenant, doc contextengine.NewDocument) (contextengine.AddResult, error) {
	if !utf8.ValidString(doc.Content) {
		return contextengine.AddResult{}, &Error{http.StatusUnprocessableEntity, "invalid_request", "content must be UTF-8 text"}
	}
	return t.Add(ctx, doc)
}

// AddDocumentFor adds or replaces doc for caller p, as POST
// /api/v1/documents does: the same scope, limits, size bound and usage.
func (h *Handler) AddDocumentFor(ctx context.Context, p Principal, doc contextengine.NewDocument) (contextengine.AddResult, error) {
	var res contextengine.AddResult
	err := h.onTenant(ctx, p, scopeWrite, false, func(t *contextengine.Tenant) (err error) {
		res, err = addOn(ctx, t, doc)
		return err
	})
	return res, err
}

type bulkRequest struct {
	Documents []contextengine.NewDocument `json:"documents"`
}

// bulkResult is the outcome of one document of a bulk request: an id and
// status, or an error.
type bulkResult struct {
	Index  int          `json:"index"`
	ID     string       `json:"id,omitempty"`
	Status string       `json:"status,omitempty"`
	Error  *errorDetail `json:"error,omitempty"`
}

type bulkResponse struct {
	Object    string       `json:"object"` // always "document_bulk_write"
	Results   []bulkResult `json:"results"`
	Created   int          `json:"created"`
	Updated   int          `json:"updated"`
	Unchanged int          `json:"unchanged"`
	Failed    int          `json:"failed"`
}

// addDocuments serves POST /api/v1/documents/bulk. Invalid documents fail
// alone; the others are stored in one transaction.
func (h *Handler) addDocuments(w http.ResponseWriter, r *http.Request, t *contextengine.Tenant, p Principal) error {
	var req bulkRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	switch n := len(req.Documents); {
	case n == 0:
		return &Error{http.StatusUnprocessableEntity, "invalid_request", "documents must hold at least one document"}
	case n > maxBulkDocuments:
		return &Error{http.StatusRequestEntityTooLarge, "too_large",
			fmt.Sprintf("%d documents; send at most %d per call", n, maxBulkDocuments)}
	}
	results, err := t.AddBatch(r.Context(), req.Documents)
	if err != nil {
		return err
	}
	resp := bulkResponse{Object: "document_bulk_write", Results: make([]bulkResult, len(results))}
	for i, res := range results {
		resp.Results[i] = bulkResult{Index: i, ID: res.ID, Status: res.Status}
		switch {
		case res.Err != nil:
			e := h.errorFor(res.Err, p)
			resp.Results[i].Error = &errorDetail{Code: e.Code, Message: e.Message}
			resp.Failed++
		case res.Status == contextengine.StatusCreated:
			resp.Created++
		case res.Status == contextengine.StatusUpdated:
			resp.Updated++
		default:
			resp.Unchanged++
		}
	}
	return writeJSON(w, http.StatusOK, resp)
}

// documentPage is a page of documents without content.
type documentPage struct {
	list[document]
	// Documents repeats Data for clients of the old shape. Deprecated:
	// removed in the next release.
	Documents []document `json:"documents"`
}

// listDocuments serves GET /api/v1/documents?workspace=&cursor=&limit=.
func listDocuments(w http.ResponseWriter, r *http.Request, t *contextengine.Tenant, _ Principal) error {
	q := r.URL.Query()
	limit, err := queryInt(q, "limit", defaultListLimit, maxListLimit)
	if err != nil {
		return err
	}
	page, err := listOn(r.Context(), t, contextengine.ListOptions{Workspace: q.Get("workspace"), Cursor: q.Get("cursor"), Limit: limit})
	if err != nil {
		return err
	}
	docs := make([]document, len(page.Documents))
	for i := range page.Documents {
		docs[i] = documentOf(&page.Documents[i], false)
	}
	return writeJSON(w, http.StatusOK, documentPage{list: newList(docs, page.NextCursor), Documents: docs})
}

// listOn returns a page of t's documents, as GET /api/v1/documents
// lists them; a zero limit is the default.
func listOn(ctx context.Context, t *contextengine.Tenant, opts contextengine.ListOptions) (*contextengine.Page, error) {
	if opts.Limit < 0 || opts.Limit > maxListLimit {
		return nil, &Error{http.StatusUnprocessableEntity, "invalid_request", fmt.Sprintf("limit must be an integer from 1 to %d", maxListLimit)}
	}
	opts.Limit = cmp.Or(opts.Limit, defaultListLimit)
	if opts.Workspace != "" {
		if err := contextengine.ValidateWorkspace(opts.Workspace); err != nil {
			return nil, err
		}
	}
	return t.List(ctx, opts)
}

// DocumentsOf returns a page of caller p's documents, as GET
// /api/v1/documents lists them.
func (h *Handler) DocumentsOf(ctx context.Context, p Principal, opts contextengine.ListOptions) (*contextengine.Page, error) {
	var page *contextengine.Page
	err := h.onTenant(ctx, p, scopeRead, false, func(t *contextengine.Tenant) (err error) {
		page, err = listOn(ctx, t, opts)
		return err
	})
	return page, err
}

// getDocument serves GET /api/v1/documents/{id}.
func getDocument(w http.ResponseWriter, r *http.Request, t *contextengine.Tenant, _ Principal) error {
	doc, err := t.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, documentOf(doc, true))
}

// deleteDocument serves DELETE /api/v1/documents/{id}.
func (h *Handler) deleteDocument(w http.ResponseWriter, r *http.Request, t *contextengine.Tenant, p Principal) error {
	if err := h.deleteOn(r, t, p, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// deleteOn deletes document id of t for caller p, in request r, and
// records it in the audit log.
func (h *Handler) deleteOn(r *http.Request, t *contextengine.Tenant, p Principal, id string) error {
	if _, err := t.Delete(r.Context(), id); err != nil {
		return err
	}
	h.audit(r, p, tenancy.AuditDocumentDelete, id)
	return nil
}

// DeleteDocumentFor deletes document id of caller p's tenant, as DELETE
// /api/v1/documents/{id} does, in request r.
func (h *Handler) DeleteDocumentFor(r *http.Request, p Principal, id string) error {
	return h.onTenant(r.Context(), p, scopeWrite, false, func(t *contextengine.Tenant) error {
		return h.deleteOn(r, t, p, id)
	})
}
