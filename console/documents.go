package console

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/dustin/go-humanize"

	"github.com/contextlite/cloud/api"
	"github.com/contextlite/cloud/contextengine"
)

// Documents holds the API's document, workspace and query operations
// (api.Handler): the scopes, limits, quotas and metering of the REST calls.
type Documents interface {
	WorkspacesOf(ctx context.Context, p api.Principal) ([]contextengine.Workspace, error)
	DocumentsOf(ctx context.Context, p api.Principal, opts contextengine.ListOptions) (*contextengine.Page, error)
	SearchFor(ctx context.Context, p api.Principal, q api.SearchQuery) (api.SearchHits, error)
	AddDocumentFor(ctx context.Context, p api.Principal, doc contextengine.NewDocument) (contextengine.AddResult, error)
	DeleteDocumentFor(r *http.Request, p api.Principal, id string) error
	AssembleFor(ctx context.Context, p api.Principal, req api.AssembleRequest) (api.Assembly, error)
}

// pageSize is how many documents, or search hits, a page lists.
const pageSize = 20

// maxUpload bounds an upload's body: the REST API's body limit.
const maxUpload = api.MaxBodyBytes

// workspaceChoice is the workspace a page works in ("": all) and those
// the tenant has.
type workspaceChoice struct {
	All      []contextengine.Workspace
	Selected string
}

// documentsData is what the documents page shows: the documents of a
// workspace or, for a query, the spans that match it.
type documentsData struct {
	Workspaces workspaceChoice
	Query      string
	Documents  []documentRow
	Hits       []hitRow
	First      string // the first page's URL, when this is a later one
	Next       string // the next page's URL; "" on the last
	MaxUpload  string
}

// documents lists a workspace's documents a page at a time, or searches
// them as GET /api/v1/documents/search does (a metered query).
func (c *Console) documents(w http.ResponseWriter, r *http.Request, s session) {
	ctx, p, q := r.Context(), s.Caller.Principal, r.URL.Query()
	choice, err := c.workspaces(ctx, p, cmp.Or(q.Get("workspace"), contextengine.DefaultWorkspace))
	if err != nil {
		c.failWith(w, r, err)
		return
	}
	d := documentsData{Workspaces: choice, Query: strings.TrimSpace(q.Get("q")), MaxUpload: humanize.IBytes(maxUpload)}
	here := url.Values{"workspace": {choice.Selected}}
	var next string
	if d.Query == "" {
		page, err := c.cfg.API.DocumentsOf(ctx, p, contextengine.ListOptions{Workspace: choice.Selected, Cursor: q.Get("cursor"), Limit: pageSize})
		if err != nil {
			c.failWith(w, r, err)
			return
		}
		d.Documents, next = documentRows(page.Documents), page.NextCursor
	} else {
		if crossSite(r) { // a search is billed: not on another site's say
			c.fail(w, r, http.StatusForbidden, "This search was started from another site; it was refused.")
			return
		}
		found, err := c.cfg.API.SearchFor(ctx, p, api.SearchQuery{Query: d.Query, Workspace: choice.Selected, Cursor: q.Get("cursor"), Limit: pageSize})
		if err != nil {
			c.failWith(w, r, err)
			return
		}
		d.Hits, next = hitRows(found.Hits), found.NextCursor
		here.Set("q", d.Query)
	}
	if q.Get("cursor") != "" {
		d.First = "/console/documents?" + here.Encode()
	}
	if next != "" {
		here.Set("cursor", next)
		d.Next = "/console/documents?" + here.Encode()
	}
	pg := forSession(s, "Documents", d)
	pg.Script = "upload.js"
	c.render(w, r, http.StatusOK, "documents", pg)
}

// workspaces returns the tenant's workspaces with want selected; want
// must be one of them, or "" for all.
func (c *Console) workspaces(ctx context.Context, p api.Principal, want string) (workspaceChoice, error) {
	all, err := c.cfg.API.WorkspacesOf(ctx, p)
	if err != nil {
		return workspaceChoice{}, err
	}
	named := func(w contextengine.Workspace) bool { return w.Name == want }
	if want != "" && !slices.ContainsFunc(all, named) {
		return workspaceChoice{}, &api.Error{Status: http.StatusNotFound, Code: "workspace_not_found",
			Message: fmt.Sprintf("There is no workspace %q.", want)}
	}
	return workspaceChoice{All: all, Selected: want}, nil
}

// uploaded is the outcome of one file of an upload.
type uploaded struct {
	Name   string
	ID     string
	Status string // created, updated or unchanged; empty when it failed
	Error  string
}

// uploadData is what the upload's page shows.
type uploadData struct {
	Workspace string
	Files     []uploaded
	Back      string
}

// upload stores each file of the form as a document of the workspace, as
// POST /api/v1/documents stores one, and shows what became of each. The
// page's status is that of the first file that failed, if any.
func (c *Console) upload(w http.ResponseWriter, r *http.Request, s session) {
	var files []*multipart.FileHeader
	if r.MultipartForm != nil {
		defer r.MultipartForm.RemoveAll()
		files = r.MultipartForm.File["files"]
	}
	if len(files) == 0 {
		c.fail(w, r, http.StatusUnprocessableEntity, "Choose one or more files to upload.")
		return
	}
	ws := cmp.Or(r.PostFormValue("workspace"), contextengine.DefaultWorkspace)
	d := uploadData{Workspace: ws, Back: "/console/documents?" + url.Values{"workspace": {ws}}.Encode()}
	status, msg := http.StatusOK, ""
	for _, fh := range files {
		res, err := c.store(r.Context(), s.Caller.Principal, ws, fh)
		f := uploaded{Name: fh.Filename, ID: res.ID, Status: res.Status}
		if err != nil {
			e := api.ErrorFrom(err)
			if e.Status >= http.StatusInternalServerError {
				c.cfg.Logger.ErrorContext(r.Context(), "console upload failed", "file", fh.Filename, "error", err)
			}
			f.Error = e.Message
			if msg == "" {
				status, msg = e.Status, fmt.Sprintf("%s was not stored: %s.", fh.Filename, e.Message)
			}
		}
		if f.Status == contextengine.StatusCreated && status == http.StatusOK {
			status = http.StatusCreated
		}
		d.Files = append(d.Files, f)
	}
	pg := forSession(s, "Upload", d)
	pg.Error = msg
	c.render(w, r, status, "uploaded", pg)
}

// store adds the file fh to workspace ws of caller p, as POST
// /api/v1/documents adds a document: its name is the path.
func (c *Console) store(ctx context.Context, p api.Principal, ws string, fh *multipart.FileHeader) (contextengine.AddResult, error) {
	f, err := fh.Open()
	if err != nil {
		return contextengine.AddResult{}, fmt.Errorf("open upload %s: %w", fh.Filename, err)
	}
	defer f.Close()
	content, err := io.ReadAll(f)
	if err != nil {
		return contextengine.AddResult{}, fmt.Errorf("read upload %s: %w", fh.Filename, err)
	}
	return c.cfg.API.AddDocumentFor(ctx, p, contextengine.NewDocument{Workspace: ws, Path: fh.Filename, Content: string(content)})
}

// deleteDocument deletes a document, as DELETE /api/v1/documents/{id}
// does, and goes back to its workspace's list.
func (c *Console) deleteDocument(w http.ResponseWriter, r *http.Request, s session) {
	if err := c.cfg.API.DeleteDocumentFor(r, s.Caller.Principal, r.PathValue("id")); err != nil {
		c.failWith(w, r, err)
		return
	}
	ws := cmp.Or(r.PostFormValue("workspace"), contextengine.DefaultWorkspace)
	http.Redirect(w, r, "/console/documents?"+url.Values{"workspace": {ws}}.Encode(), http.StatusSeeOther)
}
