package mcpserver

import (
	"context"
	"net/url"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/contextlite/cloud/api"
	"github.com/contextlite/cloud/contextengine"
)

// resourcesPerPage is the page size of resources/list.
const resourcesPerPage = 100

// documentTemplate names the documents as resources.
var documentTemplate = &mcp.ResourceTemplate{
	URITemplate: "contextlite://{workspace}/{+path}",
	Name:        "document",
	Title:       "Stored document",
	Description: "A stored document, by workspace and path.",
	MIMEType:    "text/plain",
}

// documentURI is the resource URI of the document at path in workspace.
func documentURI(workspace, path string) string {
	return (&url.URL{Scheme: "contextlite", Host: workspace, Path: "/" + path}).String()
}

// parseDocumentURI returns the workspace and path a resource URI names.
func parseDocumentURI(uri string) (workspace, path string, ok bool) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "contextlite" || u.Host == "" || len(u.Path) < 2 {
		return "", "", false
	}
	return u.Host, strings.TrimPrefix(u.Path, "/"), true
}

// listResources answers resources/list with a page of the caller's documents.
func (h *Handler) listResources(ctx context.Context, req *mcp.ListResourcesRequest) (*mcp.ListResourcesResult, error) {
	res := &mcp.ListResourcesResult{Resources: []*mcp.Resource{}}
	cursor := ""
	if req.Params != nil {
		cursor = req.Params.Cursor
	}
	err := h.withTenant(ctx, api.ScopeRead, func(t *contextengine.Tenant, _ api.Principal) error {
		page, err := t.List(ctx, contextengine.ListOptions{Cursor: cursor, Limit: resourcesPerPage})
		if err != nil {
			return err
		}
		for _, d := range page.Documents {
			res.Resources = append(res.Resources, &mcp.Resource{URI: documentURI(d.Workspace, d.Path), Name: d.Path,
				Title: d.Workspace + "/" + d.Path, MIMEType: "text/plain", Size: d.SizeBytes})
		}
		res.NextCursor = page.NextCursor
		return nil
	})
	return res, err
}

// readResource answers resources/read of a document URI.
func (h *Handler) readResource(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	uri := req.Params.URI
	workspace, path, ok := parseDocumentURI(uri)
	if !ok {
		return nil, mcp.ResourceNotFoundError(uri)
	}
	var res *mcp.ReadResourceResult
	err := h.withTenant(ctx, api.ScopeRead, func(t *contextengine.Tenant, _ api.Principal) error {
		doc, err := t.GetByPath(ctx, workspace, path)
		if err != nil {
			return err
		}
		res = &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: uri, MIMEType: "text/plain", Text: doc.Content}}}
		return nil
	})
	if e, ok := err.(*api.Error); ok && e.Code == "not_found" {
		return nil, mcp.ResourceNotFoundError(uri)
	}
	return res, err
}
