package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/contextlite/cloud/internal/latency"
)

// BenchmarkForwardedAssemble measures the cost of forwarding: the p50 of
// an assembly sent to a node that is not the tenant's home (forwarded to
// it) and sent to the home node directly, interleaved in one run on two
// node processes, and their difference.
func BenchmarkForwardedAssemble(b *testing.B) {
	nodes, dsn := startCluster(b, 2, benchPortBase)
	tenant := signupAt(b, nodes[0], "Bench", "enterprise")
	home, other := nodes[0], nodes[1]
	if homeOf(b, dsn, tenant.TenantID) == other.id {
		home, other = other, home
	}
	for i := range 20 {
		home.must(b, http.StatusCreated, "POST", tenant.Slug, "/api/v1/documents", tenant.APIKey, map[string]string{
			"workspace": "default", "path": fmt.Sprintf("bench/%d.md", i),
			"content": fmt.Sprintf("Document %d of the forwarding benchmark: nodes, homes, tenants and assembly.", i)}, nil)
	}
	query := map[string]any{"query": "which node is the home of a tenant", "max_tokens": 1000, "use_cache": false}
	assemble := func(n *clusterNode) time.Duration {
		start := time.Now()
		status, body, _ := n.call("POST", tenant.Slug, "/api/v1/context/assemble", tenant.APIKey, query)
		d := time.Since(start)
		if status != http.StatusOK {
			b.Fatalf("%s: assemble = %d %s", n.id, status, body)
		}
		return d
	}
	for range 50 { // connections and caches warm on both paths
		assemble(home)
		assemble(other)
	}
	direct, forwarded := make(latency.Samples, 0, b.N), make(latency.Samples, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		direct = append(direct, assemble(home))
		forwarded = append(forwarded, assemble(other))
	}
	b.StopTimer()
	direct.Report(b, "direct-", "ms")
	forwarded.Report(b, "forwarded-", "ms")
	b.ReportMetric(float64(forwarded.Percentile(0.5)-direct.Percentile(0.5))/float64(time.Millisecond), "forwarding-p50-ms")
}

// BenchmarkMoveTenant moves a tenant of 10,000 documents from node to
// node, once per iteration, while eight clients write and four assemble
// through all three nodes, honouring Retry-After. It reports the move's
// duration and how long the tenant was fenced (as the home node measured
// them), the p99 and maximum latency of the requests in flight during a
// move, from first attempt to answer, against those before the moves,
// and the 503s the clients retried.
func BenchmarkMoveTenant(b *testing.B) {
	nodes, _ := startCluster(b, 3, moveBenchPortBase)
	tenant := signupAt(b, nodes[0], "MoveBench", "enterprise")
	const docs, batch = 10_000, 500
	for i := 0; i < docs; i += batch {
		bulk := make([]map[string]string, batch)
		for j := range bulk {
			n := i + j
			bulk[j] = map[string]string{"path": fmt.Sprintf("corpus/%05d.md", n), "content": fmt.Sprintf(
				"Document %d of the move benchmark. Node %d holds tenant data for workspace %d; moving a tenant fences it, "+
					"copies its database and switches its home, while clients retry after %d ms. Words: %s.",
				n, n%3, n%7, n%1000, strings.Repeat(fmt.Sprintf("term%d ", n%97), 20))}
		}
		nodes[0].must(b, http.StatusOK, "POST", tenant.Slug, "/api/v1/documents/bulk", tenant.APIKey, map[string]any{"documents": bulk}, nil)
	}
	load := newMoveLoad(nodes, tenant)
	stop := load.run(moveWriters, 4)
	defer stop()
	time.Sleep(2 * time.Second)
	calm := load.during(time.Now().Add(-time.Second), time.Now())
	var took, fenced time.Duration
	var during latency.Samples
	home := 0
	b.ResetTimer()
	for b.Loop() {
		to := (home + 1) % len(nodes)
		var res moveResult
		start := time.Now()
		nodes[to].must(b, http.StatusOK, "POST", "", "/admin/v1/tenants/"+tenant.TenantID+"/move", operatorToken,
			map[string]string{"node": nodes[to].id}, &res)
		end := time.Now()
		home = to
		took += time.Duration(res.TotalMS) * time.Millisecond
		fenced += time.Duration(res.FencedMS) * time.Millisecond
		time.Sleep(1500 * time.Millisecond) // requests that began during the move finish
		during = append(during, load.during(start, end)...)
	}
	b.StopTimer()
	stop()
	for _, f := range load.failures {
		b.Error(f)
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(took)/float64(b.N), "move-ms")
	b.ReportMetric(ms(fenced)/float64(b.N), "fenced-ms")
	b.ReportMetric(ms(during.Percentile(0.99)), "during-p99-ms")
	b.ReportMetric(ms(during.Percentile(1)), "during-max-ms")
	b.ReportMetric(ms(calm.Percentile(0.99)), "before-p99-ms")
	b.ReportMetric(float64(load.unavailable.Load())/float64(b.N), "503s/move")
	b.Logf("%d moves; %d requests in flight during them, %d in the second before; %d documents written, %d assemblies",
		b.N, len(during), len(calm), len(load.acked), load.queries)
}
