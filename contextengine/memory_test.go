package contextengine

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
)

// memoryTenantDocs is the size of each tenant of TestManyOpenTenantsMemory.
const memoryTenantDocs = 1000

// memoryCeiling is the most resident memory TestManyOpenTenantsMemory
// accepts with 100 open tenants.
const memoryCeiling = 300 << 20

// TestManyOpenTenantsMemory creates CONTEXTLITE_MEMORY_TENANTS tenants of
// memoryTenantDocs GOROOT pieces each, opens them all at once, assembles
// once on each and logs the process's resident set. With 100 tenants or
// fewer it fails above memoryCeiling.
func TestManyOpenTenantsMemory(t *testing.T) {
	s := os.Getenv("CONTEXTLITE_MEMORY_TENANTS")
	if s == "" {
		t.Skip("set CONTEXTLITE_MEMORY_TENANTS=100 to measure the memory of many open tenants")
	}
	if runtime.GOOS != "linux" {
		t.Skip("reads VmRSS from /proc/self/status")
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("CONTEXTLITE_MEMORY_TENANTS=%q: want a positive number", s)
	}
	pieces := srcPieces(t)
	queries := benchQueries(t)
	dir := t.TempDir()
	ctx := context.Background()
	t.Logf("VmRSS %d MiB at the start", residentAfterGC(t)>>20)

	build := newTestManager(t, Options{DataDir: dir, MaxOpen: 1})
	for i := range n {
		buildMemoryTenant(t, build, fmt.Sprintf("m%d", i), pieces, i*memoryTenantDocs)
	}
	build.Close()
	base := residentAfterGC(t)

	m := newTestManager(t, Options{DataDir: dir, MaxOpen: max(n, 100)})
	var tenants []*Tenant
	for i := range n {
		tn, err := m.Open(ctx, fmt.Sprintf("m%d", i))
		if err != nil {
			t.Fatal(err)
		}
		defer tn.Close()
		tenants = append(tenants, tn)
	}
	for i, tn := range tenants {
		if _, err := tn.Assemble(ctx, Request{Query: queries[i%len(queries)]}); err != nil {
			t.Fatal(err)
		}
	}
	rss := residentAfterGC(t)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("%d open tenants of %d documents: VmRSS %d MiB (%d MiB before opening, %.1f MiB per tenant); Go heap in use %d MiB",
		n, memoryTenantDocs, rss>>20, base>>20, float64(rss-base)/float64(n)/(1<<20), ms.HeapInuse>>20)
	if n <= 100 && rss > memoryCeiling {
		t.Errorf("VmRSS %d MiB, want at most %d MiB", rss>>20, memoryCeiling>>20)
	}
}

// buildMemoryTenant creates tenant id holding memoryTenantDocs documents
// of the corpus from document from on.
func buildMemoryTenant(t *testing.T, m *Manager, id string, pieces []srcPiece, from int) {
	t.Helper()
	ctx := context.Background()
	if err := m.Create(ctx, id); err != nil {
		t.Fatal(err)
	}
	tn, err := m.Open(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer tn.Close()
	for i := 0; i < memoryTenantDocs; i += ingestBatch {
		mustAdd(t, tn, corpusBatch(pieces, from+i, min(ingestBatch, memoryTenantDocs-i))...)
	}
}

// residentAfterGC collects garbage, returns free memory to the system and
// returns the resident set size in bytes.
func residentAfterGC(t *testing.T) int64 {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for l := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS: %v", err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}
