package main

import (
	"fmt"
	"net/http"
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
