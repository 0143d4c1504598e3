package caddymodule

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/contextlite/cloud/tenancy"
)

// overheadConfig serves, from one Caddy over plain HTTP: a bare respond
// on :9081; the gateway chain of the root Caddyfile's API route (per-IP
// limit, tenant and key, meter, tier limit) ending in the same respond on
// :9083; and that chain ending in the API on :9082. The limits are high
// enough never to refuse the load.
const overheadConfig = `{
	admin %[3]s
	http_port %[4]s
	auto_https off
	contextlite {
		domain localhost
		data_dir %[1]s
		tier free {
			rate_per_second 100000
			burst 100000
		}
	}
}
http://:9081 {
	respond "ok" 200
}
http://:9082 {
	route /api/v1/* {
%[2]s		contextlite_api
	}
}
http://:9083 {
	route /api/v1/* {
%[2]s		respond "ok" 200
	}
}
`

// overheadChain is the gateway chain of the root Caddyfile's API route.
const overheadChain = `		contextlite_request_id
		rate_limit {
			zone bench_ip {
				key {client_ip}
				events 200000
				window 1s
			}
		}
		contextlite_auth
		contextlite_meter
		contextlite_tier_limits
`

// load is the outcome of one timed run of a load generator.
type load struct {
	rps float64
	p99 time.Duration
}

// runLoad sends GETs to url from conns keep-alive connections for d and
// measures the rate of 200 answers and their 99th percentile latency.
func runLoad(b *testing.B, url, key string, conns int, d time.Duration) load {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}}
	defer client.CloseIdleConnections()
	var mu sync.Mutex
	var lats []time.Duration
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	var failed error
	for range conns {
		wg.Go(func() {
			var mine []time.Duration
			for ctx.Err() == nil {
				start := time.Now()
				err := get(client, url, key)
				if err != nil {
					mu.Lock()
					failed = err
					mu.Unlock()
					return
				}
				mine = append(mine, time.Since(start))
			}
			mu.Lock()
			lats = append(lats, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	if failed != nil {
		b.Fatal(failed)
	}
	slices.Sort(lats)
	return load{rps: float64(len(lats)) / d.Seconds(), p99: lats[len(lats)*99/100]}
}

func get(client *http.Client, url, key string) error {
	req, _ := http.NewRequest("GET", url, nil)
	req.Host = "bench.localhost"
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d", url, resp.StatusCode)
	}
	return nil
}

// BenchmarkGatewayOverhead compares requests per second through the
// gateway chain, ending in a respond or in the API's cheap authenticated
// GET /api/v1/usage, with the same Caddy answering a bare respond; every
// request is the same (host, API key). It alternates the three in 1-second
// runs for several rounds and reports the median rates and p99 latencies
// and the median of each round's ratio to the bare respond next to it,
// which cancels the machine's drifts in load. Run it with -benchtime 1x.
func BenchmarkGatewayOverhead(b *testing.B) {
	dir := b.TempDir()
	tc := caddytest.NewTester(b)
	tc.InitServer(fmt.Sprintf(overheadConfig, dir, overheadChain, testAdminAddr, testHTTPPort), "caddyfile")
	b.Cleanup(func() { resetZones(tc) })
	key := benchTenant(b)

	const rounds, conns, length = 9, 16, time.Second
	for b.Loop() {
		var bare, gate, usage []load
		var gateRatio, usageRatio []float64
		for range rounds {
			bare = append(bare, runLoad(b, "http://127.0.0.1:9081/", key, conns, length))
			gate = append(gate, runLoad(b, "http://127.0.0.1:9083/api/v1/usage", key, conns, length))
			usage = append(usage, runLoad(b, "http://127.0.0.1:9082/api/v1/usage", key, conns, length))
			last := len(bare) - 1
			gateRatio = append(gateRatio, gate[last].rps/bare[last].rps*100)
			usageRatio = append(usageRatio, usage[last].rps/bare[last].rps*100)
		}
		mb, mg, mu := median(bare), median(gate), median(usage)
		b.ReportMetric(mb.rps, "bare-req/s")
		b.ReportMetric(mg.rps, "chain-req/s")
		b.ReportMetric(mu.rps, "usage-req/s")
		b.ReportMetric(medianOf(gateRatio), "chain-%")
		b.ReportMetric(medianOf(usageRatio), "usage-%")
		b.ReportMetric(float64(mb.p99.Microseconds()), "bare-p99-µs")
		b.ReportMetric(float64(mg.p99.Microseconds()), "chain-p99-µs")
		b.ReportMetric(float64(mu.p99.Microseconds()), "usage-p99-µs")
	}
}

// medianOf returns the median of xs.
func medianOf(xs []float64) float64 {
	xs = slices.Clone(xs)
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// benchTenant signs up the tenant "bench" in the running app's control
// plane and returns its API key.
func benchTenant(b *testing.B) string {
	b.Helper()
	states := sharedStates()
	if len(states) != 1 {
		b.Fatalf("%d shared states, want 1", len(states))
	}
	s := states[0]
	svc := &tenancy.Service{Store: s.store, Storage: s.engine, Tiers: tenancy.DefaultTiers(), Now: time.Now}
	res, err := svc.Signup(context.Background(), "ops@bench.test", "Bench")
	if err != nil {
		b.Fatal(err)
	}
	return res.APIKey
}

// median returns the run with the median rate.
func median(runs []load) load {
	runs = slices.Clone(runs)
	slices.SortFunc(runs, func(a, b load) int {
		switch {
		case a.rps < b.rps:
			return -1
		case a.rps > b.rps:
			return 1
		}
		return 0
	})
	return runs[len(runs)/2]
}
