package api

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// QuickstartParams fill in the guide shown at signup.
type QuickstartParams struct {
	URL     string // the tenant's own base URL
	CallURL string // the base URL the examples call; URL when empty
	Key     string // the tenant's API key
	CARoot  string // the local CA's root certificate file; empty: publicly trusted
}

// Quickstart returns a filled-in guide to a tenant's API: curl commands
// and a Python snippet that work as pasted.
func Quickstart(p QuickstartParams) string {
	call := p.CallURL
	if call == "" {
		call = p.URL
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Your API: %s (keep the key secret; it is shown only once)\n", p.URL)
	if call != p.URL {
		fmt.Fprintf(&b, "The key decides the tenant, so the examples call %s: *.localhost names resolve only in browsers and curl.\n", call)
	}
	curl, verify := "curl", ""
	if p.CARoot != "" {
		fmt.Fprintf(&b, "The certificates come from the server's local CA, whose root is %s.\n", p.CARoot)
		curl += " --cacert " + shellQuote(p.CARoot)
		verify = ",\n    verify=" + strconv.Quote(p.CARoot)
	}
	fmt.Fprintf(&b, "\n# Add a document\n%s -X POST %s/api/v1/documents \\\n  -H 'X-API-Key: %s' -H 'Content-Type: application/json' \\\n  -d '{\"path\": \"notes/hello.md\", \"content\": \"# Hello\\nContextLite keeps context for LLM prompts.\"}'\n", curl, call, p.Key)
	fmt.Fprintf(&b, "\n# Assemble context for a prompt\n%s -X POST %s/api/v1/context/assemble \\\n  -H 'X-API-Key: %s' -H 'Content-Type: application/json' \\\n  -d '{\"query\": \"what does ContextLite keep\", \"max_tokens\": 2000}'\n", curl, call, p.Key)
	fmt.Fprintf(&b, "\n# Python (pip install requests)\nimport requests\nr = requests.post(%s,\n    headers={\"X-API-Key\": %s},\n    json={\"query\": \"what does ContextLite keep\", \"max_tokens\": 2000}%s)\nr.raise_for_status()\nfor d in r.json()[\"documents\"]:\n    print(d[\"path\"], d[\"start_line\"], d[\"end_line\"])\n",
		strconv.Quote(call+"/api/v1/context/assemble"), strconv.Quote(p.Key), verify)
	return b.String()
}

// callURL returns the base URL for examples of a tenant at url, for a
// signup that came in as r: the apex itself when tenants live under
// localhost, whose subdomains only browsers and curl resolve.
func callURL(r *http.Request, url string) string {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host != "localhost" && !strings.HasSuffix(host, ".localhost") {
		return url
	}
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	return scheme + "://" + r.Host
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
