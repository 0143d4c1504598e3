package caddymodule

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// uploaded are the files the browser test uploads: name, then content.
var uploaded = [][2]string{
	{"ledger.md", "# Ledger\n\nThe nightly reconciliation matches\neach payout to its ledger entry.\n"},
	{"runbook.txt", "Pager rotation\n\nWho is on call this week,\nand how to hand over the pager.\n"},
}

// lineRange is how the console shows an item's lines.
var lineRange = regexp.MustCompile(`^[1-9][0-9]*–[1-9][0-9]*$`)

// statusWatch records the texts the upload form's status shows and
// whether its progress bar was shown, as upload.js changes them.
const statusWatch = `(() => {
  window.uploadSeen = {statuses: [], bar: false};
  const status = document.getElementById("upload-status"), bar = document.getElementById("upload-progress");
  new MutationObserver(() => window.uploadSeen.statuses.push(status.textContent))
    .observe(status, {childList: true, characterData: true, subtree: true});
  new MutationObserver(() => { window.uploadSeen.bar = window.uploadSeen.bar || !bar.hidden; })
    .observe(bar, {attributes: true});
})()`

// uploadFiles chooses the files of uploaded, written under a temporary
// directory, in the documents page's file input and submits the form:
// upload.js sends it, shows its progress and puts the outcome in the page
// it stays on. The documents list then shows both.
func (c *chrome) uploadFiles() {
	c.t.Helper()
	dir := c.t.TempDir()
	var files []string
	for _, f := range uploaded {
		p := filepath.Join(dir, f[0])
		if err := os.WriteFile(p, []byte(f[1]), 0o644); err != nil {
			c.t.Fatal(err)
		}
		files = append(files, p)
	}
	c.visit("/console/documents", http.StatusOK, "documents-empty")
	// The hint is hidden until upload.js shows it: visible means it ran.
	c.do("upload.js ran", chromedp.WaitVisible(chromedp.ID("drop-hint")))
	c.do("choose the files", chromedp.SetUploadFiles(chromedp.ID("files"), files))
	c.do("watch the upload", chromedp.Evaluate[chromedp.Void](statusWatch))
	c.do("click Upload", chromedp.Click(chromedp.CSS(`#upload button[type=submit]`), chromedp.NodeVisible))
	inTab(c, "the upload's outcome", chromedp.Poll[bool](
		`document.querySelector("main a[href^='/console/documents']") !== null && document.querySelectorAll("main tbody tr").length === 2`,
		chromedp.WithPollingTimeout(10*time.Second)))
	c.check("upload two files")
	c.screenshot("uploaded")
	seen := inTab(c, "what the upload showed", chromedp.Evaluate[struct {
		Statuses []string
		Bar      bool
	}](`window.uploadSeen`))
	if !seen.Bar || !slices.ContainsFunc(seen.Statuses, func(s string) bool { return strings.HasPrefix(s, "Uploading") }) {
		c.t.Fatalf("upload.js showed no progress: bar shown %v, statuses %q", seen.Bar, seen.Statuses)
	}
	if got := c.location(); got != testBase+"/console/documents" {
		c.t.Fatalf("the upload left the page for %s: upload.js did not send it", got)
	}
	outcome := inTab(c, "the upload's outcome", chromedp.Evaluate[[]string](
		`[...document.querySelectorAll("main tbody tr")].map(r => r.cells[0].textContent + " " + r.cells[1].textContent)`))
	for _, f := range uploaded {
		if !slices.Contains(outcome, f[0]+" created") {
			c.t.Fatalf("the upload's outcome does not say %s was created: %q", f[0], outcome)
		}
	}
	c.visit("/console/documents", http.StatusOK, "documents")
	list := c.text("main table")
	for _, f := range uploaded {
		if !strings.Contains(list, f[0]) {
			c.t.Fatalf("the documents list lacks %s: %s", f[0], list)
		}
	}
}

// searchDocuments searches the documents for a word of one uploaded file
// only: it alone is listed.
func (c *chrome) searchDocuments() {
	c.t.Helper()
	c.do("type the search", chromedp.SendKeys(chromedp.ID("q"), "reconciliation"))
	c.submit(`form[action="/console/documents"] button[type=submit]`, http.StatusOK, "documents-search")
	hits := c.text("main table")
	if !strings.Contains(hits, uploaded[0][0]) || strings.Contains(hits, uploaded[1][0]) {
		c.t.Fatalf("the search for reconciliation found: %s", hits)
	}
}

// playground sets the budget with the keyboard on the slider, whose
// number follows (budget.js), assembles a query and checks the items
// shown and their total against the budget.
func (c *chrome) playground() {
	c.t.Helper()
	c.visit("/console/playground", http.StatusOK, "")
	c.do("type the query", chromedp.SendKeys(chromedp.ID("query"), "ledger reconciliation"))
	c.do("focus the slider", chromedp.Focus(chromedp.ID("max_tokens")))
	c.do("slide to the start", chromedp.KeyEvent(kb.Home))
	for range 2 {
		c.do("slide up", chromedp.KeyEvent(kb.ArrowRight))
	}
	const maxTokens = 300 // the slider's start, 100, and two steps of 100
	budget := strconv.Itoa(maxTokens)
	if v := inTab(c, "the slider", chromedp.Value(chromedp.ID("max_tokens"))); v != budget {
		c.t.Fatalf("the slider is at %s, want %s", v, budget)
	}
	if shown := c.text("#budget"); shown != budget {
		c.t.Fatalf("the slider is at %s but its number says %q: budget.js did not run", budget, shown)
	}
	c.screenshot("playground-budget")
	c.submit(`form[action="/console/playground"] button[type=submit]`, http.StatusOK, "playground")
	total := c.text("#total")
	if !strings.Contains(total, " of "+budget+" tokens") {
		c.t.Fatalf("the total says %q, want a total of the %s-token budget", total, budget)
	}
	used, err := strconv.Atoi(strings.ReplaceAll(strings.Fields(total)[0], ",", ""))
	if err != nil || used < 1 || used > maxTokens {
		c.t.Fatalf("the total says %q: not within the budget", total)
	}
	rows := inTab(c, "the items", chromedp.Evaluate[[][]string](
		`[...document.querySelectorAll("main tbody tr")].filter(r => r.cells.length === 7).map(r => [...r.cells].map(td => td.textContent))`))
	if len(rows) == 0 {
		c.t.Fatalf("the playground assembled no items: %s", c.text("main"))
	}
	sum := 0
	for _, r := range rows {
		tokens, err := strconv.Atoi(r[2])
		if !strings.HasPrefix(r[0], uploaded[0][0]) || !lineRange.MatchString(r[1]) || err != nil || tokens < 1 {
			c.t.Fatalf("an item shows path %q, lines %q, tokens %q", r[0], r[1], r[2])
		}
		sum += tokens
	}
	if sum != used {
		c.t.Fatalf("the items' tokens sum to %d, the total says %q", sum, total)
	}
}

// otherPages visits billing, settings and the audit log, which the free
// tier is refused with a way to change the tier.
func (c *chrome) otherPages() {
	c.t.Helper()
	for _, p := range []struct {
		path, title string
		status      int
	}{
		{"/console/billing", "Billing", http.StatusOK},
		{"/console/settings", "Settings", http.StatusOK},
		{"/console/audit", "Audit log", http.StatusForbidden},
	} {
		c.visit(p.path, p.status, strings.TrimPrefix(p.path, "/console/"))
		if h := c.text("main h1"); h != p.title {
			c.t.Fatalf("%s is headed %q", p.path, h)
		}
	}
	if link := inTab(c, "the audit log's link", chromedp.Evaluate[bool](`document.querySelector('main a[href="/console/billing"]') !== null`)); !link {
		c.t.Fatalf("the audit log refused the free tier without a link to billing: %s", c.text("main"))
	}
}
