package mcpserver

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/contextlite/cloud/api"
	"github.com/contextlite/cloud/contextengine"
	"github.com/contextlite/cloud/tenancy"
)

// toolScopes is the scope each tool needs; tools/list shows a caller only
// those it holds.
var toolScopes = map[string]string{
	"assemble_context": api.ScopeRead,
	"search":           api.ScopeRead,
	"get_document":     api.ScopeRead,
	"list_workspaces":  api.ScopeRead,
	"add_document":     api.ScopeWrite,
	"delete_document":  api.ScopeWrite,
}

// addTools registers the tools on srv.
func (h *Handler) addTools(srv *mcp.Server) {
	addTool(srv, &mcp.Tool{Name: "assemble_context", Title: "Assemble context",
		Description: "Assemble the passages of the stored documents most relevant to a question or task, within a token budget, " +
			"ready to read: each item names its document's path and lines. Use it first when you need background for a task. " +
			"Counts as one query against the account's monthly quota."}, h.assembleContext)
	addTool(srv, &mcp.Tool{Name: "search", Title: "Search documents",
		Description: "Full-text search over the stored documents: the best matching passages with their path, lines and score. " +
			"Use it to find where something is defined or mentioned. Counts as one query against the account's monthly quota."}, h.search)
	addTool(srv, &mcp.Tool{Name: "get_document", Title: "Read a document",
		Description: "Read a stored document, whole or some of its lines, by its id or by its path (and workspace). " +
			"Lines are numbered from 1, as assemble_context and search report them."}, h.getDocument)
	addTool(srv, &mcp.Tool{Name: "list_workspaces", Title: "List workspaces",
		Description: "List the workspaces (groups of documents) with their document, token and byte counts."}, h.listWorkspaces)
	addTool(srv, &mcp.Tool{Name: "add_document", Title: "Add a document",
		Description: "Store a document at a path of a workspace, replacing the one at that path if any. " +
			"Needs write access; counts against the account's document and storage limits."}, h.addDocument)
	addTool(srv, &mcp.Tool{Name: "delete_document", Title: "Delete a document",
		Description: "Delete a stored document, by its id or by its path (and workspace). Needs write access."}, h.deleteDocument)
}

// AssembleInput are the arguments of assemble_context.
type AssembleInput struct {
	Query     string `json:"query" jsonschema:"the question, task or keywords the context is for"`
	MaxTokens int    `json:"max_tokens" jsonschema:"token budget of the assembled context, e.g. 4000; the account's tier may lower it"`
	Workspace string `json:"workspace,omitempty" jsonschema:"workspace to draw from; all workspaces when omitted"`
}

// AssembleOutput is the assembled context.
type AssembleOutput struct {
	Query       string          `json:"query"`
	Items       []AssembledItem `json:"items"`
	TotalTokens int             `json:"total_tokens"`
	MaxTokens   int             `json:"max_tokens" jsonschema:"the budget applied"`
	Clamped     bool            `json:"clamped,omitempty" jsonschema:"the tier's limit lowered the requested budget"`
}

// AssembledItem is one passage of an assembled context.
type AssembledItem struct {
	ID        string `json:"id" jsonschema:"document id"`
	Path      string `json:"path"`
	Workspace string `json:"workspace"`
	StartLine int    `json:"start_line"`
	EndLine   int    `json:"end_line"`
	Tokens    int    `json:"tokens"`
	Reason    string `json:"inclusion_reason,omitempty"`
	// Content goes to the text answer only: sent twice, it nearly doubled
	// the answer and made a call cost 1.24 times the REST assemble.
	Content string `json:"-"`
}

func (h *Handler) assembleContext(ctx context.Context, in AssembleInput) (string, AssembleOutput, error) {
	var out AssembleOutput
	err := h.withTenant(ctx, api.ScopeRead, func(t *contextengine.Tenant, p api.Principal) error {
		if strings.TrimSpace(in.Query) == "" {
			return invalid("query is required")
		}
		if in.MaxTokens < 1 {
			return invalid("max_tokens must be a positive integer")
		}
		budget, clamped := api.TokenBudget(in.MaxTokens, p.TokensPerQuery)
		return h.query(ctx, t, p, func() (int, error) {
			res, err := t.Assemble(ctx, contextengine.Request{Query: in.Query, MaxTokens: budget, Workspace: in.Workspace})
			if err != nil {
				return 0, err
			}
			out = AssembleOutput{Query: in.Query, Items: make([]AssembledItem, len(res.Items)),
				TotalTokens: res.TotalTokens, MaxTokens: res.MaxTokens, Clamped: clamped}
			for i, it := range res.Items {
				out.Items[i] = AssembledItem{ID: it.DocumentID, Path: it.Path, Workspace: it.Workspace, StartLine: it.StartLine,
					EndLine: it.EndLine, Tokens: it.Tokens, Reason: it.InclusionReason, Content: it.Content}
			}
			return res.TotalTokens, nil
		})
	})
	if err != nil {
		return "", out, err
	}
	return assembleText(out), out, nil
}

// assembleText is the assembled context as a model reads it.
func assembleText(out AssembleOutput) string {
	var b strings.Builder
	size := 128
	for _, it := range out.Items {
		size += len(it.Content) + len(it.Path) + 96
	}
	b.Grow(size)
	fmt.Fprintf(&b, "%d passages, %d of %d tokens, for %q.\n", len(out.Items), out.TotalTokens, out.MaxTokens, out.Query)
	for _, it := range out.Items {
		fmt.Fprintf(&b, "\n--- %s (workspace %s, lines %d-%d, id %s) ---\n%s\n", it.Path, it.Workspace, it.StartLine, it.EndLine, it.ID, it.Content)
	}
	return b.String()
}

// SearchInput are the arguments of search.
type SearchInput struct {
	Query     string `json:"query" jsonschema:"words to search for"`
	Limit     int    `json:"limit,omitempty" jsonschema:"most passages to return, from 1 to 100; default 10"`
	Workspace string `json:"workspace,omitempty" jsonschema:"workspace to search; all workspaces when omitted"`
}

// SearchOutput are the matching passages, best first.
type SearchOutput struct {
	Query   string      `json:"query"`
	Results []SearchHit `json:"results"`
	Total   int         `json:"total"`
}

// SearchHit is one matching passage.
type SearchHit struct {
	ID        string  `json:"id" jsonschema:"document id"`
	Path      string  `json:"path"`
	Workspace string  `json:"workspace"`
	StartLine int     `json:"start_line"`
	EndLine   int     `json:"end_line"`
	Tokens    int     `json:"tokens"`
	Score     float64 `json:"score"`
	Content   string  `json:"-"` // in the text answer only, as assemble's
}

func (h *Handler) search(ctx context.Context, in SearchInput) (string, SearchOutput, error) {
	var out SearchOutput
	err := h.withTenant(ctx, api.ScopeRead, func(t *contextengine.Tenant, p api.Principal) error {
		if strings.TrimSpace(in.Query) == "" {
			return invalid("query is required")
		}
		if in.Limit < 0 || in.Limit > api.MaxSearchLimit {
			return invalid(fmt.Sprintf("limit must be an integer from 1 to %d", api.MaxSearchLimit))
		}
		limit := cmp.Or(in.Limit, api.DefaultSearchLimit)
		return h.query(ctx, t, p, func() (int, error) {
			hits, err := t.Search(ctx, contextengine.SearchRequest{Query: in.Query, Workspace: in.Workspace, Limit: limit})
			if err != nil {
				return 0, err
			}
			out = SearchOutput{Query: in.Query, Results: make([]SearchHit, len(hits)), Total: len(hits)}
			tokens := 0
			for i, hit := range hits {
				tokens += hit.Tokens
				out.Results[i] = SearchHit{ID: hit.DocumentID, Path: hit.Path, Workspace: hit.Workspace, StartLine: hit.StartLine,
					EndLine: hit.EndLine, Tokens: hit.Tokens, Score: hit.Score, Content: hit.Content}
			}
			return tokens, nil
		})
	})
	if err != nil {
		return "", out, err
	}
	return searchText(out), out, nil
}

// searchText is the search answer as a model reads it.
func searchText(out SearchOutput) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d passages match %q.\n", out.Total, out.Query)
	for _, hit := range out.Results {
		fmt.Fprintf(&b, "\n--- %s (workspace %s, lines %d-%d, id %s, score %.3f) ---\n%s\n",
			hit.Path, hit.Workspace, hit.StartLine, hit.EndLine, hit.ID, hit.Score, hit.Content)
	}
	return b.String()
}

// DocumentRef names a document by id, or by path within a workspace.
type DocumentRef struct {
	ID        string `json:"id,omitempty" jsonschema:"document id (as search and assemble_context report it); give either id or path"`
	Path      string `json:"path,omitempty" jsonschema:"document path; give either id or path"`
	Workspace string `json:"workspace,omitempty" jsonschema:"workspace of the path; default when omitted"`
}

// find returns the document ref names on t.
func (ref DocumentRef) find(ctx context.Context, t *contextengine.Tenant) (*contextengine.Document, error) {
	switch {
	case (ref.ID == "") == (ref.Path == ""):
		return nil, invalid("give either id or path")
	case ref.ID != "":
		return t.Get(ctx, ref.ID)
	}
	return t.GetByPath(ctx, ref.Workspace, ref.Path)
}

// GetDocumentInput are the arguments of get_document.
type GetDocumentInput struct {
	DocumentRef
	StartLine int `json:"start_line,omitempty" jsonschema:"first line to return, from 1; default 1"`
	EndLine   int `json:"end_line,omitempty" jsonschema:"last line to return; default the last line"`
}

// DocumentOutput is a document, or some of its lines.
type DocumentOutput struct {
	ID         string `json:"id"`
	Path       string `json:"path"`
	Workspace  string `json:"workspace"`
	Language   string `json:"language,omitempty"`
	StartLine  int    `json:"start_line"`
	EndLine    int    `json:"end_line"`
	TotalLines int    `json:"total_lines"`
	Content    string `json:"content" jsonschema:"the lines from start_line to end_line"`
}

func (h *Handler) getDocument(ctx context.Context, in GetDocumentInput) (string, DocumentOutput, error) {
	var out DocumentOutput
	err := h.withTenant(ctx, api.ScopeRead, func(t *contextengine.Tenant, _ api.Principal) error {
		doc, err := in.find(ctx, t)
		if err != nil {
			return err
		}
		out = DocumentOutput{ID: doc.ID, Path: doc.Path, Workspace: doc.Workspace, Language: doc.Language}
		out.Content, out.StartLine, out.EndLine, out.TotalLines, err = lines(doc.Content, in.StartLine, in.EndLine)
		return err
	})
	if err != nil {
		return "", out, err
	}
	text := fmt.Sprintf("--- %s (workspace %s, lines %d-%d of %d, id %s) ---\n%s", out.Path, out.Workspace, out.StartLine, out.EndLine, out.TotalLines, out.ID, out.Content)
	return text, out, nil
}

// lines returns lines start to end (1-based, inclusive; 0: the first and
// the last) of content, the range applied and the number of lines.
func lines(content string, start, end int) (string, int, int, int, error) {
	all := strings.SplitAfter(content, "\n")
	if all[len(all)-1] == "" { // content ends with a newline, or is empty
		all = all[:len(all)-1]
	}
	n := len(all)
	start, end = cmp.Or(start, 1), cmp.Or(end, n)
	switch {
	case start < 1 || end < 0:
		return "", 0, 0, n, invalid("start_line and end_line must be positive")
	case n == 0 && start == 1:
		return "", 0, 0, 0, nil
	case start > n:
		return "", 0, 0, n, invalid(fmt.Sprintf("start_line %d is past the last line, %d", start, n))
	case end < start:
		return "", 0, 0, n, invalid("end_line must not be before start_line")
	}
	end = min(end, n)
	return strings.Join(all[start-1:end], ""), start, end, n, nil
}

// WorkspacesOutput lists the workspaces.
type WorkspacesOutput struct {
	Workspaces []contextengine.Workspace `json:"workspaces"`
}

func (h *Handler) listWorkspaces(ctx context.Context, _ struct{}) (string, WorkspacesOutput, error) {
	var out WorkspacesOutput
	err := h.withTenant(ctx, api.ScopeRead, func(t *contextengine.Tenant, _ api.Principal) error {
		var err error
		out.Workspaces, err = t.Workspaces(ctx)
		return err
	})
	if err != nil {
		return "", out, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d workspaces:\n", len(out.Workspaces))
	for _, ws := range out.Workspaces {
		fmt.Fprintf(&b, "- %s: %d documents, %d tokens\n", ws.Name, ws.Documents, ws.Tokens)
	}
	return b.String(), out, nil
}

// AddDocumentInput are the arguments of add_document.
type AddDocumentInput struct {
	Path      string         `json:"path" jsonschema:"path of the document, e.g. src/billing/invoice.go; a document already at this path is replaced"`
	Content   string         `json:"content" jsonschema:"the document's text"`
	Workspace string         `json:"workspace,omitempty" jsonschema:"workspace to store it in; default when omitted"`
	Language  string         `json:"language,omitempty" jsonschema:"language of the content, e.g. go or markdown"`
	Metadata  map[string]any `json:"metadata,omitempty" jsonschema:"metadata to keep with the document"`
}

// AddDocumentOutput is the stored document.
type AddDocumentOutput struct {
	ID        string `json:"id"`
	Path      string `json:"path"`
	Workspace string `json:"workspace"`
	Status    string `json:"status" jsonschema:"created, updated or unchanged"`
}

func (h *Handler) addDocument(ctx context.Context, in AddDocumentInput) (string, AddDocumentOutput, error) {
	var out AddDocumentOutput
	err := h.withTenant(ctx, api.ScopeWrite, func(t *contextengine.Tenant, _ api.Principal) error {
		res, err := t.Add(ctx, contextengine.NewDocument{Workspace: in.Workspace, Path: in.Path, Language: in.Language, Metadata: in.Metadata, Content: in.Content})
		if err != nil {
			return err
		}
		out = AddDocumentOutput{ID: res.ID, Path: in.Path, Workspace: cmp.Or(in.Workspace, contextengine.DefaultWorkspace), Status: res.Status}
		return nil
	})
	if err != nil {
		return "", out, err
	}
	return fmt.Sprintf("%s %s in workspace %s (id %s).", out.Status, out.Path, out.Workspace, out.ID), out, nil
}

// DeleteDocumentOutput is the deleted document.
type DeleteDocumentOutput struct {
	ID        string `json:"id"`
	Path      string `json:"path"`
	Workspace string `json:"workspace"`
}

func (h *Handler) deleteDocument(ctx context.Context, in DocumentRef) (string, DeleteDocumentOutput, error) {
	var out DeleteDocumentOutput
	err := h.withTenant(ctx, api.ScopeWrite, func(t *contextengine.Tenant, p api.Principal) error {
		doc, err := in.find(ctx, t)
		if err != nil {
			return err
		}
		if _, err := t.Delete(ctx, doc.ID); err != nil {
			return err
		}
		h.audit(ctx, p, tenancy.AuditDocumentDelete, doc.ID)
		out = DeleteDocumentOutput{ID: doc.ID, Path: doc.Path, Workspace: doc.Workspace}
		return nil
	})
	if err != nil {
		return "", out, err
	}
	return fmt.Sprintf("deleted %s in workspace %s (id %s).", out.Path, out.Workspace, out.ID), out, nil
}

// invalid is the error of bad arguments, as the REST API names them.
func invalid(msg string) error {
	return &api.Error{Status: http.StatusUnprocessableEntity, Code: "invalid_request", Message: msg}
}

// addTool registers a tool whose arguments decode into In as REST request
// bodies do, and whose result is the text a model reads and the same data
// as structured content, both from fn. Its schemas are In's and Out's.
// The SDK's typed tools would validate the output against its schema,
// which costs an MCP call more than its REST call.
func addTool[In, Out any](srv *mcp.Server, tool *mcp.Tool, fn func(context.Context, In) (string, Out, error)) {
	tool.InputSchema, tool.OutputSchema = schemaFor[In](), schemaFor[Out]()
	srv.AddTool(tool, func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var in In
		if err := api.DecodeObject(req.Params.Arguments, &in); err != nil {
			return errorResult(api.ErrorFrom(err)), nil
		}
		text, out, err := fn(ctx, in)
		if err != nil {
			return errorResult(err), nil
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}, StructuredContent: out}, nil
	})
}

// schemaFor is the JSON schema of T; the types of the tools have one.
func schemaFor[T any]() *jsonschema.Schema {
	s, err := jsonschema.For[T](nil)
	if err != nil {
		panic(fmt.Sprintf("schema of %T: %v", *new(T), err))
	}
	return s
}

// errorResult is the tool error of err, whose text its code starts.
func errorResult(err error) *mcp.CallToolResult {
	res := new(mcp.CallToolResult)
	res.SetError(err)
	return res
}
