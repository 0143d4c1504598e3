package caddymodule

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/golang-jwt/jwt/v5"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/contextlite/cloud/tenancy"
)

// keyTransport sends requests with an API key, which a test may change
// between calls of one session.
type keyTransport struct {
	base   http.RoundTripper
	key    *string
	bearer bool // Authorization: Bearer instead of X-API-Key
}

func (k keyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if k.bearer {
		r.Header.Set("Authorization", "Bearer "+*k.key)
	} else {
		r.Header.Set("X-API-Key", *k.key)
	}
	return k.base.RoundTrip(r)
}

// mcpConnect opens an MCP session with the go-sdk client on the endpoint
// of the tenant at baseURL, with the key *key holds at each request, in
// protocol version (empty: the client's latest).
func mcpConnect(t *testing.T, tc *caddytest.Tester, baseURL string, key *string, bearer bool, version string) *mcp.ClientSession {
	t.Helper()
	client := mcp.NewClient(&mcp.Implementation{Name: "contextlite-test", Version: "1"}, nil)
	transport := &mcp.StreamableClientTransport{
		Endpoint:   baseURL + "/mcp",
		HTTPClient: &http.Client{Transport: keyTransport{base: tc.Client.Transport, key: key, bearer: bearer}},
		MaxRetries: -1,
	}
	cs, err := client.Connect(context.Background(), transport, &mcp.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		t.Fatalf("connect %s: %v", baseURL, err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// callTool calls a tool and returns its result, failing on transport and
// protocol errors.
func callTool(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return res
}

// toolText is the text content of a tool result.
func toolText(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// wantToolOK fails unless res succeeded, and decodes its structured content into out.
func wantToolOK(t *testing.T, name string, res *mcp.CallToolResult, out any) {
	t.Helper()
	if res.IsError {
		t.Fatalf("%s failed: %s", name, toolText(res))
	}
	raw, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("%s structured content %s: %v", name, raw, err)
	}
}

// wantToolError fails unless res is a tool error whose text starts with code.
func wantToolError(t *testing.T, name string, res *mcp.CallToolResult, code string) string {
	t.Helper()
	text := toolText(res)
	if !res.IsError || !strings.HasPrefix(text, code+": ") {
		t.Fatalf("%s = error %v %q, want a tool error %s", name, res.IsError, text, code)
	}
	return text
}

// meters returns the queries, tokens and documents used by s's tenant.
func meters(t *testing.T, tc *caddytest.Tester, s signedUp) (queries, tokens, documents int64) {
	t.Helper()
	u := usageOf(t, tc, s.URL+"/api/v1", s.APIKey)
	return u["queries"], u["tokens"], u["documents"]
}

const invoiceGo = "package billing\n\n// SendInvoice mails an invoice to the customer.\nfunc SendInvoice(id string) error { return nil }\n"

// TestMCPTools calls every tool with the go-sdk client through the real
// server, in the client's latest protocol and in 2025-06-18, which
// today's editors speak, and checks that each query tool counts as the
// REST call it mirrors.
func TestMCPTools(t *testing.T) {
	tc := startServer(t, t.TempDir(), roomyFreeTier)
	for _, version := range []string{"", "2025-06-18"} {
		t.Run("protocol "+version, func(t *testing.T) {
			acme := signup(t, tc, "Acme"+strings.ReplaceAll(version, "-", ""))
			mcpToolsFlow(t, tc, acme, version)
		})
	}
}

func mcpToolsFlow(t *testing.T, tc *caddytest.Tester, acme signedUp, version string) {
	base := acme.URL + "/api/v1"
	var doc struct {
		ID string `json:"id"`
	}
	call(t, tc, "POST", base+"/documents", acme.APIKey, map[string]string{"path": "billing/invoice.go", "content": invoiceGo}, http.StatusCreated, &doc)
	key := acme.APIKey
	cs := mcpConnect(t, tc, acme.URL, &key, true, version)

	q0, _, _ := meters(t, tc, acme)
	tools, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range tools.Tools {
		names = append(names, tool.Name)
		if len(tool.Description) < 40 || tool.InputSchema == nil || tool.OutputSchema == nil {
			t.Errorf("tool %s: description %q, schemas %v %v", tool.Name, tool.Description, tool.InputSchema, tool.OutputSchema)
		}
		if tool.Name == "assemble_context" {
			schema, _ := json.Marshal(tool.InputSchema)
			if !strings.Contains(string(schema), `"required":["query","max_tokens"]`) {
				t.Errorf("assemble_context input schema %s", schema)
			}
		}
	}
	slices.Sort(names)
	if want := []string{"add_document", "assemble_context", "delete_document", "get_document", "list_workspaces", "search"}; !slices.Equal(names, want) {
		t.Fatalf("tools = %v, want %v", names, want)
	}
	if q, _, _ := meters(t, tc, acme); q != q0 {
		t.Fatalf("initialize and tools/list cost %d queries", q-q0)
	}

	// assemble_context counts the query and tokens the REST assemble of
	// the same request counts.
	req := map[string]any{"query": "send invoice to customer", "max_tokens": 500}
	call(t, tc, "POST", base+"/context/assemble", acme.APIKey, req, http.StatusOK, nil)
	q1, tok1, _ := meters(t, tc, acme)
	var assembled struct {
		Items []struct {
			Path      string  `json:"path"`
			StartLine int     `json:"start_line"`
			EndLine   int     `json:"end_line"`
			Content   *string `json:"content"` // the text answer carries it
		} `json:"items"`
		TotalTokens int `json:"total_tokens"`
	}
	res := callTool(t, cs, "assemble_context", req)
	wantToolOK(t, "assemble_context", res, &assembled)
	if len(assembled.Items) == 0 || assembled.Items[0].Path != "billing/invoice.go" || assembled.Items[0].StartLine != 1 ||
		assembled.Items[0].Content != nil {
		t.Fatalf("assemble_context = %+v", assembled)
	}
	if text := toolText(res); !strings.Contains(text, "billing/invoice.go") || !strings.Contains(text, "func SendInvoice") {
		t.Fatalf("assemble_context text = %q", text)
	}
	q2, tok2, _ := meters(t, tc, acme)
	if q1-q0 != 1 || q2-q1 != 1 || tok2-tok1 != tok1-0 || tok2-tok1 != int64(assembled.TotalTokens) {
		t.Fatalf("usage: REST assemble %d queries %d tokens, MCP %d queries %d tokens (%d assembled)",
			q1-q0, tok1, q2-q1, tok2-tok1, assembled.TotalTokens)
	}

	var found struct {
		Results []struct {
			ID     string `json:"id"`
			Path   string `json:"path"`
			Tokens int    `json:"tokens"`
		} `json:"results"`
	}
	wantToolOK(t, "search", callTool(t, cs, "search", map[string]any{"query": "SendInvoice", "limit": 5}), &found)
	if len(found.Results) == 0 || found.Results[0].ID != doc.ID {
		t.Fatalf("search = %+v", found)
	}
	if q3, tok3, _ := meters(t, tc, acme); q3-q2 != 1 || tok3-tok2 != int64(found.Results[0].Tokens) {
		t.Fatalf("search counted %d queries, %d tokens", q3-q2, tok3-tok2)
	}
	wantToolError(t, "search limit 101", callTool(t, cs, "search", map[string]any{"query": "x", "limit": 101}), "invalid_request")
	wantToolError(t, "search with a typo", callTool(t, cs, "search", map[string]any{"query": "x", "limti": 5}), "unknown_field")
	wantToolError(t, "search for a number", callTool(t, cs, "search", map[string]any{"query": 5}), "invalid_request")

	var got struct {
		ID         string `json:"id"`
		StartLine  int    `json:"start_line"`
		EndLine    int    `json:"end_line"`
		TotalLines int    `json:"total_lines"`
		Content    string `json:"content"`
	}
	wantToolOK(t, "get_document", callTool(t, cs, "get_document", map[string]any{"id": doc.ID}), &got)
	if got.Content != invoiceGo || got.TotalLines != 4 {
		t.Fatalf("get_document by id = %+v", got)
	}
	wantToolOK(t, "get_document", callTool(t, cs, "get_document", map[string]any{"path": "billing/invoice.go", "start_line": 3, "end_line": 3}), &got)
	if got.ID != doc.ID || got.Content != "// SendInvoice mails an invoice to the customer.\n" || got.StartLine != 3 || got.EndLine != 3 {
		t.Fatalf("get_document lines 3-3 = %+v", got)
	}
	wantToolError(t, "get_document missing", callTool(t, cs, "get_document", map[string]any{"path": "nope.go"}), "not_found")
	wantToolError(t, "get_document neither", callTool(t, cs, "get_document", map[string]any{}), "invalid_request")

	var added struct {
		ID, Workspace, Status string
	}
	wantToolOK(t, "add_document", callTool(t, cs, "add_document", map[string]any{"path": "notes/to do.md", "content": "# Todo\n\nship the MCP endpoint\n"}), &added)
	if added.Status != "created" || added.Workspace != "default" {
		t.Fatalf("add_document = %+v", added)
	}
	if _, _, docs := meters(t, tc, acme); docs != 2 {
		t.Fatalf("documents after add_document = %d, want 2", docs)
	}
	var spaces struct {
		Workspaces []struct {
			Name      string `json:"name"`
			Documents int64  `json:"documents"`
		} `json:"workspaces"`
	}
	wantToolOK(t, "list_workspaces", callTool(t, cs, "list_workspaces", nil), &spaces)
	if len(spaces.Workspaces) != 1 || spaces.Workspaces[0].Name != "default" || spaces.Workspaces[0].Documents != 2 {
		t.Fatalf("list_workspaces = %+v", spaces)
	}

	// Documents are resources too.
	list, err := cs.ListResources(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var uris []string
	for _, r := range list.Resources {
		uris = append(uris, r.URI)
	}
	if !slices.Equal(uris, []string{"contextlite://default/billing/invoice.go", "contextlite://default/notes/to%20do.md"}) {
		t.Fatalf("resources = %v", uris)
	}
	read, err := cs.ReadResource(context.Background(), &mcp.ReadResourceParams{URI: "contextlite://default/billing/invoice.go"})
	if err != nil || len(read.Contents) != 1 || read.Contents[0].Text != invoiceGo {
		t.Fatalf("read resource = %+v, %v", read, err)
	}
	read, err = cs.ReadResource(context.Background(), &mcp.ReadResourceParams{URI: uris[1]})
	if err != nil || len(read.Contents) != 1 || !strings.HasPrefix(read.Contents[0].Text, "# Todo") {
		t.Fatalf("read %s = %+v, %v", uris[1], read, err)
	}
	if _, err := cs.ReadResource(context.Background(), &mcp.ReadResourceParams{URI: "contextlite://default/none.md"}); err == nil {
		t.Fatal("reading a missing document succeeded")
	}

	var deleted struct{ ID string }
	wantToolOK(t, "delete_document", callTool(t, cs, "delete_document", map[string]any{"path": "notes/to do.md"}), &deleted)
	if deleted.ID != added.ID {
		t.Fatalf("delete_document = %+v, want id %s", deleted, added.ID)
	}
	wantToolError(t, "delete_document again", callTool(t, cs, "delete_document", map[string]any{"id": added.ID}), "not_found")
	if _, _, docs := meters(t, tc, acme); docs != 1 {
		t.Fatalf("documents after delete_document = %d, want 1", docs)
	}
	events, err := sharedStates()[0].store.AuditEvents(context.Background(), acme.TenantID, 0, 100, nil)
	if err != nil || !slices.ContainsFunc(events, func(e tenancy.AuditEvent) bool {
		return e.Action == tenancy.AuditDocumentDelete && e.Target == added.ID
	}) {
		t.Fatalf("audit log has no delete of %s: %+v, %v", added.ID, events, err)
	}
}

// mcpRaw posts one JSON-RPC message to the MCP endpoint of baseURL with
// key and extra headers, in protocol 2025-06-18, and returns the status
// and body.
func mcpRaw(t *testing.T, tc *caddytest.Tester, baseURL, key, body string, headers map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", baseURL+"/mcp", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-06-18")
	req.Header.Set("X-API-Key", key)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := tc.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	if _, err := io.Copy(&b, resp.Body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b.String()
}

// tightFreeTier is a free tier of 3 queries a month and 2 documents,
// with a roomy rate limit.
const tightFreeTier = "\t\ttier free {\n\t\t\tqueries_per_month 3\n\t\t\tdocuments 2\n\t\t\trate_per_second 500\n\t\t\tburst 1000\n\t\t}\n"

// TestMCPScopesAndQuota checks that a read key neither sees nor runs the
// write tools, and that a used-up query quota fails tool calls as tool
// errors while the rest of the session works.
func TestMCPScopesAndQuota(t *testing.T) {
	tc := startServer(t, t.TempDir(), tightFreeTier)
	acme := signup(t, tc, "Acme")
	base := acme.URL + "/api/v1"
	call(t, tc, "POST", base+"/documents", acme.APIKey, map[string]string{"path": "billing/invoice.go", "content": invoiceGo}, http.StatusCreated, nil)
	var made struct {
		Key string `json:"key"`
	}
	call(t, tc, "POST", base+"/keys", acme.APIKey, map[string]any{"name": "reader", "scopes": []string{"read"}}, http.StatusCreated, &made)

	reader := mcpConnect(t, tc, acme.URL, &made.Key, false, "")
	tools, err := reader.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range tools.Tools {
		names = append(names, tool.Name)
	}
	slices.Sort(names)
	if want := []string{"assemble_context", "get_document", "list_workspaces", "search"}; !slices.Equal(names, want) {
		t.Fatalf("a read key's tools = %v, want %v", names, want)
	}
	for name, args := range map[string]map[string]any{
		"add_document":    {"path": "x.md", "content": "x"},
		"delete_document": {"path": "billing/invoice.go"},
	} {
		if text := wantToolError(t, name, callTool(t, reader, name, args), "insufficient_scope"); !strings.Contains(text, `"write"`) {
			t.Errorf("%s by a read key: %q names no scope", name, text)
		}
	}

	admin := acme.APIKey
	cs := mcpConnect(t, tc, acme.URL, &admin, true, "2025-06-18")
	query := map[string]any{"query": "invoice", "max_tokens": 200}
	wantToolOK(t, "search", callTool(t, reader, "search", map[string]any{"query": "invoice"}), &struct{}{})
	for range 2 {
		wantToolOK(t, "assemble_context", callTool(t, cs, "assemble_context", query), &struct{}{})
	}
	text := wantToolError(t, "assemble_context over quota", callTool(t, cs, "assemble_context", query), "quota_exceeded")
	if !strings.Contains(text, "starter") {
		t.Errorf("quota error names no upgrade: %q", text)
	}
	wantToolError(t, "search over quota", callTool(t, reader, "search", map[string]any{"query": "invoice"}), "quota_exceeded")
	// Stored-data limits are tool errors too.
	wantToolOK(t, "add_document", callTool(t, cs, "add_document", map[string]any{"path": "a.md", "content": "a"}), &struct{}{})
	wantToolError(t, "add_document past the limit", callTool(t, cs, "add_document", map[string]any{"path": "b.md", "content": "b"}), "document_limit_reached")
	// What is not a query still works, and costs nothing.
	wantToolOK(t, "get_document", callTool(t, cs, "get_document", map[string]any{"path": "billing/invoice.go"}), &struct{}{})
	var usage struct {
		Meters map[string]struct {
			Used int64 `json:"used"`
		} `json:"meters"`
		Rejected map[string]int64 `json:"rejected"`
	}
	call(t, tc, "GET", base+"/usage", acme.APIKey, nil, http.StatusOK, &usage)
	if usage.Meters["queries"].Used != 3 || usage.Rejected["quota"] != 2 {
		t.Fatalf("usage = %+v, want 3 queries and 2 refused", usage)
	}
}

// TestMCPKeysAndTenants checks that every request of a session is
// authenticated on its own: a key revoked mid-session stops it, another
// tenant's key is refused on this tenant's host as by the REST API, and a
// session id sent with another tenant's key reaches that tenant's data
// only.
func TestMCPKeysAndTenants(t *testing.T) {
	tc := startServer(t, t.TempDir(), roomyFreeTier)
	acme, beta := signup(t, tc, "Acme"), signup(t, tc, "Beta")
	call(t, tc, "POST", acme.URL+"/api/v1/documents", acme.APIKey, map[string]string{"path": "billing/invoice.go", "content": invoiceGo}, http.StatusCreated, nil)
	var made struct {
		ID  string `json:"id"`
		Key string `json:"key"`
	}
	call(t, tc, "POST", acme.URL+"/api/v1/keys", acme.APIKey, map[string]any{"name": "agent"}, http.StatusCreated, &made)

	key := made.Key
	cs := mcpConnect(t, tc, acme.URL, &key, true, "2025-06-18")
	if cs.ID() != "" {
		t.Fatalf("the server kept a session %q; calls must stand on their own credentials", cs.ID())
	}
	wantToolOK(t, "list_workspaces", callTool(t, cs, "list_workspaces", nil), &struct{}{})

	// Another tenant's key on this host: refused as the REST API refuses it.
	key = beta.APIKey
	rest, _ := rawCall(t, tc, "GET", acme.URL+"/api/v1/workspaces", beta.APIKey, "")
	_, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "search", Arguments: map[string]any{"query": "SendInvoice"}})
	if rest.StatusCode < 400 || err == nil || !strings.Contains(err.Error(), http.StatusText(rest.StatusCode)) {
		t.Fatalf("beta's key on acme's host: REST %d, MCP %v", rest.StatusCode, err)
	}

	// The session replayed with beta's key on beta's host reads beta's
	// documents, not acme's.
	search := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search","arguments":{"query":"SendInvoice"}}}`
	status, body := mcpRaw(t, tc, beta.URL, beta.APIKey, search, map[string]string{"Mcp-Session-Id": "acme-session"})
	if status != http.StatusOK || !strings.Contains(body, `"total":0`) || strings.Contains(body, "invoice") {
		t.Fatalf("beta's search with acme's session: %d %s", status, body)
	}

	// A key revoked mid-session stops the session at its next call.
	cs = mcpConnect(t, tc, acme.URL, &made.Key, false, "")
	wantToolOK(t, "list_workspaces", callTool(t, cs, "list_workspaces", nil), &struct{}{})
	call(t, tc, "DELETE", acme.URL+"/api/v1/keys/"+made.ID, acme.APIKey, nil, http.StatusNoContent, nil)
	if _, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "list_workspaces"}); err == nil || !strings.Contains(err.Error(), "Unauthorized") {
		t.Fatalf("call with a revoked key: %v, want 401", err)
	}
}

// TestMCPSessionSurvivesReload checks that a session goes on working
// across a config reload.
func TestMCPSessionSurvivesReload(t *testing.T) {
	dir := t.TempDir()
	tc := startServer(t, dir, roomyFreeTier)
	acme := signup(t, tc, "Acme")
	call(t, tc, "POST", acme.URL+"/api/v1/documents", acme.APIKey, map[string]string{"path": "billing/invoice.go", "content": invoiceGo}, http.StatusCreated, nil)
	key := acme.APIKey
	cs := mcpConnect(t, tc, acme.URL, &key, true, "2025-06-18")
	query := map[string]any{"query": "SendInvoice", "max_tokens": 300}
	wantToolOK(t, "assemble_context", callTool(t, cs, "assemble_context", query), &struct{}{})

	startServer(t, dir, roomyFreeTier+"\t\tstorage_limit 2GiB\n")
	var out struct {
		Items []struct{ Path string } `json:"items"`
	}
	wantToolOK(t, "assemble_context after reload", callTool(t, cs, "assemble_context", query), &out)
	if len(out.Items) == 0 || out.Items[0].Path != "billing/invoice.go" {
		t.Fatalf("assemble_context after reload = %+v", out)
	}
	if q, _, _ := meters(t, tc, acme); q != 2 {
		t.Fatalf("queries = %d, want 2", q)
	}
}

// TestMCPBadRequestsAreJSON checks that requests the endpoint does not
// take get the REST API's JSON errors, and unauthenticated ones its 401.
func TestMCPBadRequestsAreJSON(t *testing.T) {
	tc := startServer(t, t.TempDir(), roomyFreeTier)
	acme := signup(t, tc, "Acme")
	for _, c := range []struct {
		name, method, key, contentType, accept string
		status                                 int
		code                                   string
	}{
		{"no key", "POST", "", "application/json", "", http.StatusUnauthorized, "missing_credentials"},
		{"GET", "GET", acme.APIKey, "", "", http.StatusMethodNotAllowed, "method_not_allowed"},
		{"form body", "POST", acme.APIKey, "application/x-www-form-urlencoded", "", http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{"JSON only", "POST", acme.APIKey, "application/json", "application/json", http.StatusNotAcceptable, "not_acceptable"},
		{"no Accept", "POST", acme.APIKey, "application/json", "-", http.StatusNotAcceptable, "not_acceptable"},
	} {
		req, _ := http.NewRequest(c.method, acme.URL+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
		switch c.accept {
		case "":
			req.Header.Set("Accept", "application/json, text/event-stream")
		case "-":
		default:
			req.Header.Set("Accept", c.accept)
		}
		if c.contentType != "" {
			req.Header.Set("Content-Type", c.contentType)
		}
		if c.key != "" {
			req.Header.Set("X-API-Key", c.key)
		}
		resp, err := tc.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e errorCode
		err = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != c.status || err != nil || e.Error.Code != c.code {
			t.Errorf("%s: %d %+v (%v), want %d %s", c.name, resp.StatusCode, e, err, c.status, c.code)
		}
		if c.status == http.StatusMethodNotAllowed && resp.Header.Get("Allow") != "POST" {
			t.Errorf("%s: Allow %q", c.name, resp.Header.Get("Allow"))
		}
	}
}

// headerTransport sends requests with fixed headers.
type headerTransport struct {
	base    http.RoundTripper
	headers map[string]string
}

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range h.headers {
		r.Header.Set(k, v)
	}
	return h.base.RoundTrip(r)
}

// readmeMCPConfigs returns the MCP server URL and headers of each client
// setup in the README: Claude Code's command, Cursor's and VS Code's mcp.json.
func readmeMCPConfigs(t *testing.T) map[string]struct {
	URL     string
	Headers map[string]string
} {
	t.Helper()
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	type server = struct {
		URL     string
		Headers map[string]string
	}
	configs := map[string]server{}
	claude := regexp.MustCompile(`claude mcp add --transport http contextlite (\S+) --header "([^:"]+): ([^"]+)"`).FindStringSubmatch(readme)
	if claude == nil {
		t.Fatal("README has no claude mcp add command")
	}
	configs["claude"] = server{URL: claude[1], Headers: map[string]string{claude[2]: claude[3]}}
	for _, block := range regexp.MustCompile("(?s)```json\n(.*?)```").FindAllStringSubmatch(readme, -1) {
		var file struct {
			Inputs []struct {
				ID string `json:"id"`
			} `json:"inputs"`
			MCPServers map[string]server `json:"mcpServers"` // Cursor
			Servers    map[string]struct {
				Type string `json:"type"`
				server
			} `json:"servers"` // VS Code
		}
		if err := json.Unmarshal([]byte(block[1]), &file); err != nil {
			t.Fatalf("README JSON block: %v\n%s", err, block[1])
		}
		if s, ok := file.MCPServers["contextlite"]; ok {
			configs["cursor"] = s
		}
		if s, ok := file.Servers["contextlite"]; ok {
			if s.Type != "http" || len(file.Inputs) != 1 || !strings.Contains(s.Headers["Authorization"], "${input:"+file.Inputs[0].ID+"}") {
				t.Fatalf("VS Code config: type %q, inputs %+v, headers %v", s.Type, file.Inputs, s.Headers)
			}
			configs["vscode"] = s.server
		}
	}
	return configs
}

// TestMCPReadmeConfigs connects with the URL and header of each client
// setup the README shows, its placeholders filled in.
func TestMCPReadmeConfigs(t *testing.T) {
	tc := startServer(t, t.TempDir(), roomyFreeTier)
	acme := signup(t, tc, "Acme")
	configs := readmeMCPConfigs(t)
	if len(configs) != 3 {
		t.Fatalf("README client configs = %v, want claude, cursor and vscode", configs)
	}
	fill := strings.NewReplacer("https://acme.example.com", acme.URL, "clc_live_...", acme.APIKey,
		"${env:CONTEXTLITE_API_KEY}", acme.APIKey, "${input:contextlite-key}", acme.APIKey)
	for name, c := range configs {
		headers := map[string]string{}
		for k, v := range c.Headers {
			headers[k] = fill.Replace(v)
		}
		if !strings.HasSuffix(c.URL, "/mcp") || headers["Authorization"] != "Bearer "+acme.APIKey {
			t.Fatalf("%s: url %q, headers %v", name, c.URL, c.Headers)
		}
		client := mcp.NewClient(&mcp.Implementation{Name: name, Version: "1"}, nil)
		cs, err := client.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: fill.Replace(c.URL),
			HTTPClient: &http.Client{Transport: headerTransport{tc.Client.Transport, headers}}, MaxRetries: -1}, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		wantToolOK(t, name, callTool(t, cs, "list_workspaces", nil), &struct{}{})
		cs.Close()
	}
}

// TestMCPJWT checks that a JWT caller uses the endpoint like a key does,
// its deletes audited as a JWT's.
func TestMCPJWT(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwks := writeJWKS(t, key, "k1")
	tc := startServer(t, t.TempDir(), roomyFreeTier+"\t\tjwt_issuer https://issuer.test/ {\n\t\t\tjwks_file "+jwks+"\n\t\t\taudience contextlite\n\t\t\ttenant_claim tenant\n\t\t}\n")
	acme := signup(t, tc, "Acme")
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": "https://issuer.test/", "aud": "contextlite", "sub": "user-1",
		"tenant": "acme", "exp": time.Now().Add(time.Hour).Unix()})
	tok.Header["kid"] = "k1"
	token, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	cs := mcpConnect(t, tc, acme.URL, &token, true, "")
	var added struct{ ID string }
	wantToolOK(t, "add_document", callTool(t, cs, "add_document", map[string]any{"path": "a.md", "content": "alpha beta"}), &added)
	wantToolOK(t, "delete_document", callTool(t, cs, "delete_document", map[string]any{"id": added.ID}), &struct{}{})
	events, err := sharedStates()[0].store.AuditEvents(context.Background(), acme.TenantID, 0, 100, nil)
	if err != nil || !slices.ContainsFunc(events, func(e tenancy.AuditEvent) bool {
		return e.Action == tenancy.AuditDocumentDelete && e.Target == added.ID && e.Actor == tenancy.ActorJWT
	}) {
		t.Fatalf("audit log has no JWT delete of %s: %+v, %v", added.ID, events, err)
	}
}
