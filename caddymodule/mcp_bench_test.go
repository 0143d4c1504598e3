//go:build unix

package caddymodule

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/contextlite/cloud/internal/latency"
)

// mcpBenchPairs bounds the measured pairs of BenchmarkMCPAssembleHTTP;
// each query is asked once of each endpoint, so the MCP call, which
// cannot turn the result cache off, never finds its answer there.
const mcpBenchPairs = 400

// BenchmarkMCPAssembleHTTP compares an MCP assemble_context call with the
// REST assemble of the same request, through the root Caddyfile over
// HTTPS in the same run: one client on a keep-alive connection sends, for
// each judged godoc query, POST /api/v1/context/assemble (result cache
// off) and an MCP tools/call of assemble_context (protocol 2025-06-18,
// stateless, JSON answer), in alternating order, to an enterprise tenant
// of 10,000 ~2 KB pieces of GOROOT's Go sources, with a 4000-token budget.
// It reports the p50 and p95 of each and the ratio of the p50s. Run it
// with -benchtime 1x.
func BenchmarkMCPAssembleHTTP(b *testing.B) {
	queries := assembleQueries(b)
	if len(queries) < mcpBenchPairs+assembleWarmup {
		b.Fatalf("%d queries, want %d", len(queries), mcpBenchPairs+assembleWarmup)
	}
	pieces := benchPieces(b)
	tc := startBenchServer(b, b.TempDir())
	b.Cleanup(func() { tc.InitServer("{\n\tadmin "+testAdminAddr+"\n\tpersist_config off\n}\n", "caddyfile") })
	tenantID, key := enterpriseTenant(b)
	fillTenant(b, tenantID, pieces, 10_000)
	base := "https://bench.localhost:" + testHTTPSPort
	client := benchClient()
	b.Cleanup(client.CloseIdleConnections)

	for b.Loop() {
		var rest, viaMCP latency.Samples
		var restBytes, mcpBytes int
		for i, q := range queries[:mcpBenchPairs+assembleWarmup] {
			restBody, _ := json.Marshal(map[string]any{"query": q, "max_tokens": assembleMaxTokens, "use_cache": false})
			mcpBody, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": i + 1, "method": "tools/call",
				"params": map[string]any{"name": "assemble_context", "arguments": map[string]any{"query": q, "max_tokens": assembleMaxTokens}}})
			calls := []func() (time.Duration, int){
				func() (time.Duration, int) {
					return timedPost(b, client, base+"/api/v1/context/assemble", key, restBody, checkREST)
				},
				func() (time.Duration, int) { return timedPost(b, client, base+"/mcp", key, mcpBody, checkMCP) },
			}
			if i%2 == 1 {
				calls[0], calls[1] = calls[1], calls[0]
			}
			d0, n0 := calls[0]()
			d1, n1 := calls[1]()
			if i%2 == 1 {
				d0, d1, n0, n1 = d1, d0, n1, n0
			}
			if i < assembleWarmup {
				continue
			}
			rest, viaMCP = append(rest, d0), append(viaMCP, d1)
			restBytes, mcpBytes = restBytes+n0, mcpBytes+n1
		}
		rest.Report(b, "rest-", "ms")
		viaMCP.Report(b, "mcp-", "ms")
		b.ReportMetric(float64(viaMCP.Percentile(0.5))/float64(rest.Percentile(0.5)), "mcp/rest-p50")
		b.Logf("%d pairs; answers average %d bytes (REST) and %d bytes (MCP)", len(rest), restBytes/len(rest), mcpBytes/len(viaMCP))
	}
}

// timedPost posts body to url with key and returns the time to the whole
// answer, checked by check, and its size.
func timedPost(b *testing.B, client *http.Client, url, key string, body []byte, check func([]byte) error) (time.Duration, int) {
	b.Helper()
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-06-18")
	req.Header.Set("X-API-Key", key)
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	var out bytes.Buffer
	_, err = out.ReadFrom(resp.Body)
	resp.Body.Close()
	d := time.Since(t0)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %d", resp.StatusCode)
	}
	if err == nil {
		err = check(out.Bytes())
	}
	if err != nil {
		b.Fatalf("POST %s %s: %v: %s", url, body, err, out.Bytes())
	}
	return d, out.Len()
}

// checkREST checks a REST assemble answer: documents, not from the cache.
func checkREST(data []byte) error {
	var ans assembleAnswer
	if err := json.Unmarshal(data, &ans); err != nil {
		return err
	}
	if len(ans.Documents) == 0 || ans.CacheHit {
		return fmt.Errorf("%d documents, cache hit %v", len(ans.Documents), ans.CacheHit)
	}
	return nil
}

// checkMCP checks an MCP assemble_context answer: a result with items.
func checkMCP(data []byte) error {
	var ans struct {
		Result struct {
			IsError    bool `json:"isError"`
			Structured struct {
				Items []struct {
					Content string `json:"content"`
				} `json:"items"`
			} `json:"structuredContent"`
		} `json:"result"`
	}
	if err := json.Unmarshal(data, &ans); err != nil {
		return err
	}
	if ans.Result.IsError || len(ans.Result.Structured.Items) == 0 {
		return fmt.Errorf("error %v, %d items", ans.Result.IsError, len(ans.Result.Structured.Items))
	}
	return nil
}
