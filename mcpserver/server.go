// Package mcpserver serves a tenant's context engine to AI tools over the
// Model Context Protocol, on streamable HTTP: tools to assemble context,
// search, read, add and delete documents and list workspaces, and the
// documents as resources (contextlite://<workspace>/<path>).
//
// Authentication happens before it, as for the REST API: every request
// carries its caller as an api.Principal, and every call acts for the
// caller of its own request. The server is stateless (no Mcp-Session-Id),
// so nothing ties a call to an earlier request's tenant, and a config
// reload loses nothing. Calls count and fail as the REST calls they
// mirror: one query per assemble_context or search, with the tokens of
// the answer, checked against the query quota per call; quota, scope and
// not-found errors are tool results with isError set, whose text starts
// with the REST error code.
package mcpserver

import (
	"context"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/contextlite/cloud/api"
	"github.com/contextlite/cloud/contextengine"
	"github.com/contextlite/cloud/metering"
)

// instructions tell a model what the server is for.
const instructions = `ContextLite holds this account's documents (code, docs, notes), grouped in workspaces, and assembles the parts relevant to a question.
Use assemble_context first to gather context for a task within a token budget; use search to find specific passages; get_document to read a document or some of its lines.
Use add_document to store or replace a document at a path and delete_document to remove one (write access only). Errors start with a code such as quota_exceeded, not_found or insufficient_scope.`

// Handler serves MCP over streamable HTTP. Set its fields before the first
// request and leave them unchanged afterwards.
type Handler struct {
	Engine *contextengine.Manager
	Meter  *metering.Meter // query quota and usage
	Plans  metering.Plans  // quotas and limits of the tiers
	Audit  api.AuditLog    // nil: nothing is recorded
	Logger *slog.Logger    // nil: discard

	once      sync.Once
	transport http.Handler // the SDK's streamable HTTP handler
	log       *slog.Logger
}

// requestKey is the context key of the HTTP request a call came in.
type requestKey struct{}

// ServeHTTP answers an MCP request of an authenticated caller.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.once.Do(h.init)
	p, ok := api.PrincipalFrom(r.Context())
	if !ok {
		api.WriteError(w, http.StatusUnauthorized, "unauthorized", "the request is not authenticated")
		return
	}
	if !p.Can(api.ScopeRead) {
		api.WriteError(w, http.StatusForbidden, "insufficient_scope", `MCP needs the "read" scope`)
		return
	}
	if e := checkRequest(r); e != nil {
		if e.Status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", http.MethodPost)
		}
		api.WriteError(w, e.Status, e.Code, e.Message)
		return
	}
	// Stateless sessions run the calls of a request in its context.
	h.transport.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestKey{}, r)))
}

// checkRequest refuses, with the JSON errors of the REST API, the
// methods and bodies the stateless transport does not take, which the
// SDK would answer in plain text.
func checkRequest(r *http.Request) *api.Error {
	if r.Method != http.MethodPost {
		return &api.Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
			Message: "the MCP endpoint takes POST requests (streamable HTTP without sessions)"}
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return &api.Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
			Message: "send JSON-RPC messages as application/json"}
	}
	if !accepts(r.Header.Values("Accept"), "application/json") || !accepts(r.Header.Values("Accept"), "text/event-stream") {
		return &api.Error{Status: http.StatusNotAcceptable, Code: "not_acceptable",
			Message: "Accept must name both application/json and text/event-stream, as streamable HTTP requires"}
	}
	return nil
}

// accepts reports whether the Accept header values admit media type mt
// (as "type/sub", "type/*" or "*/*"), as the SDK matches them.
func accepts(values []string, mt string) bool {
	kind, _, _ := strings.Cut(mt, "/")
	for _, v := range values {
		for _, raw := range strings.Split(v, ",") {
			base, _, _ := strings.Cut(raw, ";")
			switch strings.ToLower(strings.TrimSpace(base)) {
			case mt, kind + "/*", "*/*":
				return true
			}
		}
	}
	return false
}

func (h *Handler) init() {
	h.log = h.Logger
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	// The SDK logs each stateless request's session at Info: four lines a
	// call, which cost more than the call's own JSON.
	sdkLog := slog.New(warnings{h.log.Handler()})
	srv := mcp.NewServer(&mcp.Implementation{Name: "contextlite", Title: "ContextLite"},
		&mcp.ServerOptions{Instructions: instructions, Logger: sdkLog})
	h.addTools(srv)
	srv.AddResourceTemplate(documentTemplate, h.readResource)
	srv.AddReceivingMiddleware(h.perCaller)
	h.transport = mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, &mcp.StreamableHTTPOptions{
		Stateless:    true,
		JSONResponse: true,
		// Every request carries its own credential in a header, which a
		// page on another origin cannot send: neither DNS rebinding nor
		// cross-origin requests reach anything without it.
		DisableLocalhostProtection: true,
		MaxRequestBodyBytes:        api.MaxBodyBytes,
		Logger:                     sdkLog,
	})
}

// perCaller answers the methods whose results depend on the caller:
// tools/list without the tools its scopes do not allow, resources/list
// with its documents.
func (h *Handler) perCaller(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		switch method {
		case "resources/list":
			return h.listResources(ctx, req.(*mcp.ListResourcesRequest))
		case "tools/list":
			res, err := next(ctx, method, req)
			if err != nil {
				return res, err
			}
			return allowedTools(ctx, res.(*mcp.ListToolsResult)), nil
		}
		return next(ctx, method, req)
	}
}

// allowedTools returns res without the tools the caller of ctx may not call.
func allowedTools(ctx context.Context, res *mcp.ListToolsResult) *mcp.ListToolsResult {
	p, _ := api.PrincipalFrom(ctx)
	out := *res
	out.Tools = make([]*mcp.Tool, 0, len(res.Tools))
	for _, t := range res.Tools {
		if p.Can(toolScopes[t.Name]) {
			out.Tools = append(out.Tools, t)
		}
	}
	return &out
}

// withTenant runs fn for the caller of ctx, who must hold scope, on its
// open tenant with its tier's limits, as the REST API does. Its error is
// the tool error the caller reads.
func (h *Handler) withTenant(ctx context.Context, scope string, fn func(*contextengine.Tenant, api.Principal) error) error {
	p, ok := api.PrincipalFrom(ctx)
	if !ok {
		return &api.Error{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "the request is not authenticated"}
	}
	if !p.Can(scope) {
		return &api.Error{Status: http.StatusForbidden, Code: "insufficient_scope", Message: `this call needs the "` + scope + `" scope`}
	}
	t, err := h.Engine.Open(ctx, p.TenantID)
	if err != nil {
		return h.toolError(ctx, p, err)
	}
	defer t.Close()
	t.SetLimits(h.Plans.Quota(p.Tier).Limits())
	return h.toolError(ctx, p, fn(t, p))
}

// query runs a metered query of p on t, as the REST query endpoints are
// metered: admitted under the query quota, and recorded as one query
// with the tokens run returns.
func (h *Handler) query(ctx context.Context, t *contextengine.Tenant, p api.Principal, run func() (tokens int, err error)) error {
	adm, err := h.Meter.Admit(ctx, p.TenantID, p.PeriodAnchor, h.Plans.Quota(p.Tier), true)
	if err != nil {
		return err
	}
	defer adm.Release()
	tokens, err := run()
	if err != nil {
		return err
	}
	_, err = t.RecordQuery(ctx, "", tokens)
	return err
}

// toolError maps err to the *api.Error a REST client would get, whose
// text (code: message) the tool result carries; server errors are logged
// and say nothing more.
func (h *Handler) toolError(ctx context.Context, p api.Principal, err error) error {
	if err == nil {
		return nil
	}
	if qe, ok := errors.AsType[*metering.QuotaError](err); ok {
		return &api.Error{Status: http.StatusTooManyRequests, Code: "quota_exceeded", Message: qe.Error()}
	}
	e := api.ErrorFor(err, h.Plans.Quota(p.Tier).NextTier)
	if e.Status >= http.StatusInternalServerError {
		h.log.ErrorContext(ctx, "mcp call failed", "tenant", p.TenantID, "status", e.Status, "error", err)
	}
	return e
}

// audit records a change of p, made by the call of ctx, in its audit log.
func (h *Handler) audit(ctx context.Context, p api.Principal, action, target string) {
	r, ok := ctx.Value(requestKey{}).(*http.Request)
	if h.Audit == nil || !ok {
		return
	}
	// The change is made; record it even if the client has gone.
	if err := h.Audit.AddAudit(context.WithoutCancel(ctx), api.NewAuditEvent(r, p, action, target)); err != nil {
		h.log.ErrorContext(ctx, "audit event not recorded", "tenant", p.TenantID, "action", action, "target", target, "error", err)
	}
}

// warnings passes on the records of Warn level and above.
type warnings struct{ slog.Handler }

func (w warnings) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && w.Handler.Enabled(ctx, l)
}

func (w warnings) WithAttrs(attrs []slog.Attr) slog.Handler {
	return warnings{w.Handler.WithAttrs(attrs)}
}

func (w warnings) WithGroup(name string) slog.Handler { return warnings{w.Handler.WithGroup(name)} }
