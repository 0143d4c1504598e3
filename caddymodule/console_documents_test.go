package caddymodule

import (
	"bytes"
	"fmt"
	"html"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"
)

// file is an uploaded file: its name and content.
type file struct{ name, content string }

// upload posts files to the console's upload form for workspace, with
// the CSRF token csrf (none when empty).
func (b *browser) upload(csrf, workspace string, files ...file) (*http.Response, string) {
	b.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if csrf != "" {
		mw.WriteField("csrf", csrf)
	}
	mw.WriteField("workspace", workspace)
	for _, f := range files {
		fw, err := mw.CreateFormFile("files", f.name)
		if err != nil {
			b.t.Fatal(err)
		}
		fw.Write([]byte(f.content))
	}
	mw.Close()
	req, _ := http.NewRequest("POST", testBase+"/console/documents/upload", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return b.do(req)
}

var (
	stylesheetLink = regexp.MustCompile(`<link rel="stylesheet" href="([^"]+)">`)
	scriptSrc      = regexp.MustCompile(`<script src="([^"]+)"`)
)

// checkPageWeight fails unless the page body, with the stylesheets and
// scripts it loads, weighs at most 100 KB.
func checkPageWeight(t *testing.T, b *browser, what, body string) {
	t.Helper()
	weight := len(body)
	for _, re := range []*regexp.Regexp{stylesheetLink, scriptSrc} {
		for _, m := range re.FindAllStringSubmatch(body, -1) {
			resp, asset := b.get(m[1])
			expectStatus(t, "GET "+m[1], resp, "", http.StatusOK)
			weight += len(asset)
		}
	}
	if weight > 100<<10 {
		t.Errorf("%s weighs %d bytes with its CSS and scripts, more than 100 KB", what, weight)
	}
}

var (
	uploadedRow = regexp.MustCompile(`<tr><td>([^<]+)</td>\s*<td>([^<]*)</td>\s*<td><code>(doc_[0-9a-f]+)</code>`)
	deleteForm  = regexp.MustCompile(`action="/console/documents/(doc_[0-9a-f]+)/delete"`)
	nextLink    = regexp.MustCompile(`<a href="([^"]+)" rel="next">`)
	totalTokens = regexp.MustCompile(`<p id="total">(\d+) of (\d+) tokens, in (\d+) items?`)
)

// uploadedIDs returns the document id of each file an upload page lists
// as stored, by file name, and checks each has status want.
func uploadedIDs(t *testing.T, body, want string) map[string]string {
	t.Helper()
	ids := make(map[string]string)
	for _, m := range uploadedRow.FindAllStringSubmatch(body, -1) {
		if m[2] != want {
			t.Errorf("%s: %q, want %q", m[1], m[2], want)
		}
		ids[html.UnescapeString(m[1])] = m[3]
	}
	return ids
}

// listedIDs returns the ids of the documents a page offers to delete.
func listedIDs(body string) []string {
	var ids []string
	for _, m := range deleteForm.FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// The files of the documents test.
var (
	invoiceFile = file{"invoice.go", "package billing\n\n// Invoice totals the lines of an order.\nfunc Invoice(lines []int) int {\n\tsum := 0\n\tfor _, l := range lines {\n\t\tsum += l\n\t}\n\treturn sum\n}\n"}
	notesFile   = file{"notes.md", "# Shipping\n\nParcels leave the warehouse on Mondays and Thursdays.\n"}
)

// TestConsoleDocuments runs the documents page and the playground through
// the server: a tenant works in the console, another makes the same calls
// through the REST API, and both are metered alike.
func TestConsoleDocuments(t *testing.T) {
	dir := t.TempDir()
	tc := startServer(t, dir, "")
	own, mirror := signup(t, tc, "DocsCo"), signup(t, tc, "MirrorCo")
	b := newBrowser(t, tc)
	b.mustLogin(own.APIKey)

	resp, body := b.get("/console/documents")
	expectStatus(t, "GET /console/documents", resp, body, http.StatusOK)
	for _, want := range []string{`href="/console/documents"`, `href="/console/playground"`, `<option value="default" selected>`,
		`enctype="multipart/form-data"`, `<input id="files" name="files" type="file" multiple required>`, "has no documents", "16 MiB"} {
		if !strings.Contains(body, want) {
			t.Errorf("the documents page lacks %q: %s", want, body)
		}
	}
	checkPageWeight(t, b, "the documents page", body)
	csrf := b.token("/console/documents")

	// Two files at once, then the same documents through the API.
	resp, body = b.upload(csrf, "default", invoiceFile, notesFile)
	expectStatus(t, "upload two files", resp, body, http.StatusCreated)
	ids := uploadedIDs(t, body, "created")
	if len(ids) != 2 || ids["invoice.go"] == "" || ids["notes.md"] == "" {
		t.Fatalf("upload page lists %v: %s", ids, body)
	}
	checkPageWeight(t, b, "the upload page", body)
	var mirrorIDs []string
	for _, f := range []file{invoiceFile, notesFile} {
		var created struct{ ID string }
		call(t, tc, "POST", testBase+"/api/v1/documents", mirror.APIKey, map[string]string{"path": f.name, "content": f.content}, http.StatusCreated, &created)
		mirrorIDs = append(mirrorIDs, created.ID)
	}
	_, body = b.get("/console/documents")
	if got := listedIDs(body); len(got) != 2 || !strings.Contains(body, "invoice.go") || !strings.Contains(body, "notes.md") {
		t.Fatalf("the list shows %v: %s", got, body)
	}

	// A search finds one file; the mirror searches as a REST client.
	resp, body = b.get("/console/documents?workspace=default&q=invoice")
	expectStatus(t, "search", resp, body, http.StatusOK)
	if got := listedIDs(body); len(got) != 1 || got[0] != ids["invoice.go"] || strings.Contains(body, "notes.md") {
		t.Fatalf("a search for invoice shows %v: %s", got, body)
	}
	call(t, tc, "GET", testBase+"/api/v1/documents/search?q=invoice&workspace=default&limit=20", mirror.APIKey, nil, http.StatusOK, nil)

	// The playground assembles as POST /api/v1/context/assemble does.
	resp, body = b.get("/console/playground")
	expectStatus(t, "GET /console/playground", resp, body, http.StatusOK)
	if !strings.Contains(body, `type="range" min="100" max="4000" step="100" value="4000"`) || !strings.Contains(body, `<output id="budget" for="max_tokens">4000</output>`) {
		t.Errorf("the playground has no budget slider at the free tier's 4000 tokens: %s", body)
	}
	resp, body = b.post("/console/playground", url.Values{"csrf": {csrf}, "query": {"invoice lines"}, "max_tokens": {"2000"}, "workspace": {""}})
	expectStatus(t, "assemble in the playground", resp, body, http.StatusOK)
	m := totalTokens.FindStringSubmatch(body)
	if m == nil || m[2] != "2000" || m[3] == "0" || !strings.Contains(body, "invoice.go") || !strings.Contains(body, "Why included") {
		t.Fatalf("the playground shows no items or total: %s", body)
	}
	checkPageWeight(t, b, "the playground", body)
	var assembled struct {
		TotalTokens    int `json:"total_tokens"`
		TotalDocuments int `json:"total_documents"`
	}
	call(t, tc, "POST", testBase+"/api/v1/context/assemble", mirror.APIKey, map[string]any{"query": "invoice lines", "max_tokens": 2000}, http.StatusOK, &assembled)
	if m[1] != strconv.Itoa(assembled.TotalTokens) || m[3] != strconv.Itoa(assembled.TotalDocuments) {
		t.Errorf("the playground shows %s tokens in %s items, the API %d in %d", m[1], m[3], assembled.TotalTokens, assembled.TotalDocuments)
	}

	// Metered alike: the uploads as documents and storage, the search
	// and the assembly as queries with their tokens.
	got, want := usageOf(t, tc, testBase+"/api/v1", own.APIKey), usageOf(t, tc, testBase+"/api/v1", mirror.APIKey)
	for _, meter := range []string{"documents", "storage_bytes", "queries", "tokens"} {
		if got[meter] != want[meter] || got[meter] == 0 {
			t.Errorf("%s: the console's tenant used %d, the API's %d", meter, got[meter], want[meter])
		}
	}
	if got["queries"] != 2 || got["documents"] != 2 {
		t.Errorf("usage after two uploads, a search and an assembly = %v", got)
	}
	shipped := map[string]int64{"documents_added": 2, "queries": 2, "tokens": want["tokens"], "storage_bytes": want["storage_bytes"]}
	waitForShippedUsage(t, dir, own.TenantID, shipped)
	waitForShippedUsage(t, dir, mirror.TenantID, shipped)

	t.Run("paging", func(t *testing.T) { consolePaging(t, b, csrf) })
	t.Run("refusals", func(t *testing.T) { consoleDocumentRefusals(t, b, tc, csrf, mirror.APIKey, mirrorIDs[0]) })
	t.Run("delete", func(t *testing.T) { consoleDelete(t, b, tc, own.APIKey, csrf, ids["notes.md"]) })
}

// consolePaging uploads more documents than a page holds and pages
// through the list and a search.
func consolePaging(t *testing.T, b *browser, csrf string) {
	var files []file
	for i := range 21 {
		files = append(files, file{fmt.Sprintf("page%02d.txt", i), fmt.Sprintf("Page %d of the paging test.\n", i)})
	}
	resp, body := b.upload(csrf, "default", files...)
	expectStatus(t, "upload 21 files", resp, body, http.StatusCreated)
	if n := len(uploadedIDs(t, body, "created")); n != 21 {
		t.Fatalf("the upload page lists %d files: %s", n, body)
	}
	for _, path := range []string{"/console/documents", "/console/documents?q=paging"} {
		seen, pages := make(map[string]bool), 0
		for next := path; next != ""; pages++ {
			resp, body := b.get(next)
			expectStatus(t, "GET "+next, resp, body, http.StatusOK)
			ids := listedIDs(body)
			if len(ids) == 0 || len(ids) > 20 {
				t.Fatalf("%s lists %d documents", next, len(ids))
			}
			for _, id := range ids {
				if seen[id] {
					t.Fatalf("%s lists %s again", next, id)
				}
				seen[id] = true
			}
			if pages > 0 && !strings.Contains(body, ">First page</a>") {
				t.Errorf("%s has no link to the first page", next)
			}
			next = ""
			if m := nextLink.FindStringSubmatch(body); m != nil {
				next = html.UnescapeString(m[1])
			}
		}
		want := 23 // the two files and 21 pages
		if strings.Contains(path, "q=") {
			want = 21
		}
		if pages != 2 || len(seen) != want {
			t.Errorf("%s: %d pages of %d documents, want 2 of %d", path, pages, len(seen), want)
		}
	}
}

// consoleDocumentRefusals checks the forms without a CSRF token, a file
// and an upload too large, an unknown workspace and another tenant's
// document.
func consoleDocumentRefusals(t *testing.T, b *browser, tc *caddytest.Tester, csrf, otherKey, otherID string) {
	resp, body := b.upload("", "default", file{"x.txt", "x"})
	expectStatus(t, "upload without a CSRF token", resp, body, http.StatusForbidden)
	resp, body = b.post("/console/documents/"+otherID+"/delete", url.Values{"workspace": {"default"}})
	expectStatus(t, "delete without a CSRF token", resp, body, http.StatusForbidden)
	resp, body = b.post("/console/playground", url.Values{"query": {"invoice"}, "max_tokens": {"100"}})
	expectStatus(t, "assemble without a CSRF token", resp, body, http.StatusForbidden)

	resp, body = b.upload(csrf, "default", file{"big.txt", strings.Repeat("a", 1<<20+1)})
	expectStatus(t, "upload a file over the document limit", resp, body, http.StatusRequestEntityTooLarge)
	if !strings.Contains(body, "big.txt was not stored: document is 1048577 bytes, limit is 1048576.") {
		t.Errorf("the page does not say which file is too large: %s", body)
	}
	resp, body = b.upload(csrf, "default", file{"huge.txt", strings.Repeat("a", 17<<20)})
	expectStatus(t, "upload over the body limit", resp, body, http.StatusRequestEntityTooLarge)
	if !strings.Contains(body, "The form is larger than 16 MiB") {
		t.Errorf("the page does not give the limit: %s", body)
	}
	resp, body = b.upload(csrf, "default")
	expectStatus(t, "upload no file", resp, body, http.StatusUnprocessableEntity)
	resp, body = b.upload(csrf, "default", file{"blob.bin", "\xff\xfe\x00"})
	expectStatus(t, "upload a file that is not text", resp, body, http.StatusUnprocessableEntity)
	if !strings.Contains(body, "blob.bin was not stored: content must be UTF-8 text") {
		t.Errorf("the page does not say the file is not text: %s", body)
	}
	resp, body = b.post("/console/playground", url.Values{"csrf": {csrf}, "query": {strings.Repeat("q", 20<<10)}, "max_tokens": {"100"}})
	expectStatus(t, "a form over 16 KiB", resp, body, http.StatusRequestEntityTooLarge)
	req, _ := http.NewRequest("GET", testBase+"/console/documents?q=invoice", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, body = b.do(req)
	expectStatus(t, "a search from another site", resp, body, http.StatusForbidden)

	resp, body = b.get("/console/documents?workspace=nope")
	expectStatus(t, "an unknown workspace", resp, body, http.StatusNotFound)
	resp, body = b.upload(csrf, "nope", file{"x.txt", "x"})
	expectStatus(t, "upload to an unknown workspace", resp, body, http.StatusNotFound)
	resp, body = b.post("/console/playground", url.Values{"csrf": {csrf}, "query": {"invoice"}, "max_tokens": {"lots"}})
	expectStatus(t, "assemble with a bad budget", resp, body, http.StatusUnprocessableEntity)

	resp, body = b.post("/console/documents/"+otherID+"/delete", url.Values{"csrf": {csrf}, "workspace": {"default"}})
	expectStatus(t, "delete another tenant's document", resp, body, http.StatusNotFound)
	call(t, tc, "GET", testBase+"/api/v1/documents/"+otherID, otherKey, nil, http.StatusOK, nil)
}

// consoleDelete deletes a document from the list.
func consoleDelete(t *testing.T, b *browser, tc *caddytest.Tester, key, csrf, id string) {
	resp, body := b.post("/console/documents/"+id+"/delete", url.Values{"csrf": {csrf}, "workspace": {"default"}})
	expectStatus(t, "delete a document", resp, body, http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); loc != "/console/documents?workspace=default" {
		t.Errorf("after a delete, the console goes to %q", loc)
	}
	call(t, tc, "GET", testBase+"/api/v1/documents/"+id, key, nil, http.StatusNotFound, nil)
	if _, body := b.get("/console/documents"); strings.Contains(body, id) {
		t.Error("the deleted document is still listed")
	}
	resp, body = b.post("/console/documents/"+id+"/delete", url.Values{"csrf": {csrf}})
	expectStatus(t, "delete it again", resp, body, http.StatusNotFound)
}

// TestConsoleDocumentsQuotas checks that the console's uploads and
// assemblies meet the tier's limits as the API's calls do.
func TestConsoleDocumentsQuotas(t *testing.T) {
	tc := startServer(t, t.TempDir(), smallFreeTier) // 3 documents, 5 queries
	s := signup(t, tc, "SmallCo")
	b := newBrowser(t, tc)
	b.mustLogin(s.APIKey)
	csrf := b.token("/console/documents")
	resp, body := b.upload(csrf, "default", file{"a.txt", "alpha"}, file{"b.txt", "beta"}, file{"c.txt", "gamma"}, file{"d.txt", "delta"})
	expectStatus(t, "upload past the document limit", resp, body, http.StatusForbidden)
	if n := len(uploadedIDs(t, body, "created")); n != 3 || !strings.Contains(body, "d.txt was not stored: the documents limit of 3 is reached") ||
		!strings.Contains(body, "starter") {
		t.Fatalf("the fourth file should fail on the limit, naming the next tier: %s", body)
	}
	for i := range 5 {
		resp, body := b.post("/console/playground", url.Values{"csrf": {csrf}, "query": {"alpha"}, "max_tokens": {"100"}})
		expectStatus(t, "assembly "+strconv.Itoa(i+1), resp, body, http.StatusOK)
	}
	resp, body = b.post("/console/playground", url.Values{"csrf": {csrf}, "query": {"alpha"}, "max_tokens": {"100"}})
	expectStatus(t, "an assembly past the quota", resp, body, http.StatusTooManyRequests)
	resp, body = b.get("/console/documents?q=alpha")
	expectStatus(t, "a search past the quota", resp, body, http.StatusTooManyRequests)
	rawResp, data := rawCall(t, tc, "POST", testBase+"/api/v1/context/assemble", s.APIKey, `{"query": "alpha"}`)
	if rawResp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("the API after the console used the quota: %d %s", rawResp.StatusCode, data)
	}
	if used := usageOf(t, tc, testBase+"/api/v1", s.APIKey); used["queries"] != 5 || used["documents"] != 3 {
		t.Errorf("usage = %v, want 5 queries and 3 documents", used)
	}
}
