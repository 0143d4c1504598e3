package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/contextlite/cloud/notify"
)

// Settings of the singleton jobs test.
const (
	jobsPortBase = 29200
	// takeoverTimeout bounds a lease's move after its holder dies: the
	// next acquire round (5 s) and the start delay (5 s), with margin.
	takeoverTimeout = 15 * time.Second
	// dispatchRound is longer than the notice dispatcher's poll interval
	// (5 s): a second dispatcher running would deliver within it.
	dispatchRound = 6 * time.Second
)

// singletonJobs are the jobs that run on one node of a cluster.
var singletonJobs = []string{"notices", "billing", "retention"}

// jobsOf returns the singleton jobs node n reports holding in /health.
func (n *clusterNode) jobsOf() ([]string, bool) {
	status, body, _ := n.call("GET", "", "/health", "", nil)
	var h struct {
		Jobs []string `json:"jobs"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &h) != nil || h.Jobs == nil {
		return nil, false
	}
	return h.Jobs, true
}

// holdersNow returns the node holding each job, as the nodes' /health
// report it, failing the test if two nodes hold one.
func holdersNow(t *testing.T, nodes []*clusterNode) map[string]*clusterNode {
	t.Helper()
	holders := make(map[string]*clusterNode)
	for _, n := range nodes {
		jobs, ok := n.jobsOf()
		if !ok {
			t.Fatalf("%s reports no jobs in /health", n.id)
		}
		for _, job := range jobs {
			if other := holders[job]; other != nil {
				t.Fatalf("%s and %s both hold %s", other.id, n.id, job)
			}
			holders[job] = n
		}
	}
	return holders
}

// watchHolders polls the nodes' holders for d and fails the test if two
// nodes hold a job at once, or if no node holds a job at the end. It
// returns the holder of each job.
func watchHolders(t *testing.T, nodes []*clusterNode, d time.Duration) map[string]*clusterNode {
	t.Helper()
	holders := holdersNow(t, nodes)
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		holders = holdersNow(t, nodes)
	}
	for _, job := range singletonJobs {
		if holders[job] == nil {
			t.Fatalf("no node of %d holds %s", len(nodes), job)
		}
	}
	return holders
}

// noticeSink is a tenant's webhook receiver: it verifies each delivery,
// counts the deliveries of each notice, and answers after dispatchRound,
// so a notice stays pending while another dispatcher, if one ran, would
// deliver it again.
type noticeSink struct {
	*httptest.Server
	secret string // set before the first delivery

	mu         sync.Mutex
	deliveries map[string]int // by notice id
	thresholds map[int]string // notice id by threshold (queries)
	arrived    chan struct{}  // signalled at each delivery
}

func newNoticeSink(t *testing.T) *noticeSink {
	s := &noticeSink{deliveries: make(map[string]int), thresholds: make(map[int]string), arrived: make(chan struct{}, 16)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		defer time.Sleep(dispatchRound) // after the count, before the answer
		s.mu.Lock()
		defer s.mu.Unlock()
		if err := notify.Verify(s.secret, r.Header.Get(notify.SignatureHeader), body, time.Minute, time.Now()); err != nil {
			t.Errorf("a delivery that does not verify: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var n struct {
			ID        string `json:"id"`
			Meter     string `json:"meter"`
			Threshold int    `json:"threshold"`
		}
		if err := json.Unmarshal(body, &n); err != nil || n.ID != r.Header.Get(notify.NoticeIDHeader) {
			t.Errorf("delivery %s of notice %q: %v", body, r.Header.Get(notify.NoticeIDHeader), err)
		}
		s.deliveries[n.ID]++
		if n.Meter == "queries" {
			s.thresholds[n.Threshold] = n.ID
		}
		select {
		case s.arrived <- struct{}{}:
		default:
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// wait waits up to timeout for the notice of threshold and returns its id.
func (s *noticeSink) wait(t *testing.T, threshold int, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		id := s.thresholds[threshold]
		s.mu.Unlock()
		if id != "" {
			return id
		}
		select {
		case <-s.arrived:
		case <-deadline:
			t.Fatalf("the %d%% queries notice not delivered within %v", threshold, timeout)
		}
	}
}

// count returns how many times notice id was delivered.
func (s *noticeSink) count(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deliveries[id]
}

// TestSingletonJobs runs three node processes and shows that each
// singleton job is held by exactly one node, as /health reports, that a
// usage notice is delivered once (not once per node), and that when the
// holder is killed another node takes the jobs over and delivers the
// next notice, once.
func TestSingletonJobs(t *testing.T) {
	if testing.Short() {
		t.Skip("the jobs test builds and runs the binary three times; skipped in -short mode")
	}
	sink := newNoticeSink(t)
	nodes, dsn := startCluster(t, 3, jobsPortBase, "CONTEXTLITE_WEBHOOKS_ALLOW_PRIVATE=true")

	holders := watchHolders(t, nodes, 3*time.Second)
	holder := holders["notices"]
	// The tenant is homed on another node, which records its notices and
	// outlives the holder: signups go to the least-loaded node, so the
	// second one lands elsewhere if the first lands on the holder.
	var tenant clusterTenant
	var home *clusterNode
	for i := 0; home == nil || home == holder; i++ {
		tenant = signupAt(t, nodes[0], fmt.Sprintf("Jobs%d", i), "tiny")
		id := homeOf(t, dsn, tenant.TenantID)
		home = nodes[slices.IndexFunc(nodes, func(n *clusterNode) bool { return n.id == id })]
	}
	var wh struct {
		Secret string `json:"secret"`
	}
	home.must(t, http.StatusOK, "PUT", tenant.Slug, "/api/v1/notifications", tenant.APIKey, map[string]string{"url": sink.URL}, &wh)
	sink.mu.Lock()
	sink.secret = wh.Secret // before the first query, so the first notice
	sink.mu.Unlock()
	query := func(from, to int, through []*clusterNode) {
		for i := from; i < to; i++ {
			n := through[i%len(through)]
			n.must(t, http.StatusOK, "POST", tenant.Slug, "/api/v1/context/assemble", tenant.APIKey, map[string]any{"query": "anything"}, nil)
		}
	}

	// 8 of the tiny tier's 10 queries, through every node: one 80 % notice.
	query(0, tinyQuota*8/10, nodes)
	first := sink.wait(t, 80, 2*dispatchRound)
	watchHolders(t, nodes, dispatchRound) // while the delivery is pending
	if n := sink.count(first); n != 1 {
		t.Fatalf("the 80%% notice was delivered %d times with three nodes up, want once", n)
	}

	// The holder dies: another node takes both jobs over.
	holder.kill()
	killed := time.Now()
	rest := slices.DeleteFunc(slices.Clone(nodes), func(n *clusterNode) bool { return n == holder })
	for holdersNow(t, rest)["notices"] == nil {
		if time.Since(killed) > takeoverTimeout {
			t.Fatalf("no node took the notices lease within %v of %s's death", takeoverTimeout, holder.id)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("the notices lease moved %v after %s was killed", time.Since(killed).Round(100*time.Millisecond), holder.id)
	// The last 2 queries: the 100 % notice, delivered by the new holder.
	query(8, tinyQuota, rest)
	second := sink.wait(t, 100, takeoverTimeout)
	t.Logf("the 100%% notice was delivered %v after %s was killed", time.Since(killed).Round(100*time.Millisecond), holder.id)
	watchHolders(t, rest, dispatchRound)
	if n, m := sink.count(first), sink.count(second); n != 1 || m != 1 {
		t.Fatalf("after the takeover the 80%% notice was delivered %d times and the 100%% one %d; want once each", n, m)
	}
}
