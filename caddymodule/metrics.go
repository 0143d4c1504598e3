package caddymodule

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/contextlite/cloud/tenancy"
)

// metricsNamespace prefixes every metric of the service.
const metricsNamespace = "contextlite"

// Request outcomes, the outcome label of the request metrics.
const (
	outcomeOK            = "ok"
	outcomeClientError   = "client_error"
	outcomeQuotaExceeded = "quota_exceeded"
	outcomeRateLimited   = "rate_limited"
	outcomeError         = "error"
)

// Cache and timeout of the tenants gauge, which reads the control plane.
const (
	tenantsCacheTTL = 30 * time.Second
	tenantsTimeout  = 2 * time.Second
)

// metrics are the service's Prometheus collectors. They are created once
// with the shared state and registered with each config's registry, so
// they keep counting across reloads. No label ever holds a tenant id.
type metrics struct {
	requests   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	assemble   *prometheus.HistogramVec
	auth       *prometheus.CounterVec
	authOK     prometheus.Counter
	rejections *prometheus.CounterVec
	webhooks   *prometheus.CounterVec
	reports    *prometheus.CounterVec
	all        []prometheus.Collector
	children   sync.Map // requestLabels to *requestChildren, so a request does no label lookup
}

// requestLabels are the labels of the request metrics.
type requestLabels struct{ tier, outcome string }

// requestChildren are the request metrics of one tier and outcome.
type requestChildren struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

// newMetrics creates the collectors of s.
func newMetrics(s *shared) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metricsNamespace, Name: "requests_total",
			Help: "Authenticated API requests by tier and outcome."}, []string{"tier", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: metricsNamespace, Name: "request_duration_seconds",
			Help: "Duration of authenticated API requests after authentication, by tier and outcome.", Buckets: prometheus.DefBuckets},
			[]string{"tier", "outcome"}),
		assemble: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: metricsNamespace, Name: "assemble_duration_seconds",
			Help: "Duration of POST /api/v1/context/assemble by tier and outcome.", Buckets: prometheus.DefBuckets}, []string{"tier", "outcome"}),
		auth: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metricsNamespace, Name: "auth_total",
			Help: "Authentication attempts by outcome: ok or the error code of the rejection."}, []string{"outcome"}),
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metricsNamespace, Name: "rejections_total",
			Help: "Requests refused by reason: quota or rate_limit."}, []string{"reason"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metricsNamespace, Name: "stripe_webhooks_total",
			Help: "Stripe webhook deliveries by outcome: ok, invalid, disabled or error."}, []string{"outcome"}),
		reports: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metricsNamespace, Name: "stripe_usage_reports_total",
			Help: "Hourly usage reports to Stripe by outcome: sent, skipped or pending (failed, retried)."}, []string{"outcome"}),
	}
	m.authOK = m.auth.WithLabelValues(outcomeOK)
	m.all = []prometheus.Collector{m.requests, m.duration, m.assemble, m.auth, m.rejections, m.webhooks, m.reports,
		newTenantsCollector(s.store),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: metricsNamespace, Name: "open_tenant_databases",
			Help: "Tenant databases open in the engine."}, func() float64 { return float64(s.engine.OpenCount()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: metricsNamespace, Name: "usage_outbox_tenants",
			Help: "Tenants with usage waiting to ship to the control plane."}, func() float64 { return float64(s.shipper.Backlog()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: metricsNamespace, Name: "usage_last_shipped_timestamp_seconds",
			Help: "When a usage shipping pass last completed without error (0: never)."}, func() float64 {
			if t := s.shipper.LastShipped(); !t.IsZero() {
				return float64(t.UnixNano()) / 1e9
			}
			return 0
		}),
	}
	if s.coord != nil {
		for _, job := range []string{jobNotices, jobBilling, jobRetention} {
			m.all = append(m.all, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: metricsNamespace, Name: "job_leader",
				Help: "Whether this node holds the lease of a singleton job (1) or not (0).", ConstLabels: prometheus.Labels{"job": job}},
				func() float64 { return boolFloat(slices.Contains(s.coord.Leases.Held(), job)) }))
		}
	}
	return m
}

// boolFloat is 1 for true, 0 for false.
func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// register registers the collectors with reg; a registry that has them
// already is fine.
func (m *metrics) register(reg prometheus.Registerer) error {
	for _, c := range m.all {
		if err := reg.Register(c); err != nil {
			if _, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); !ok {
				return err
			}
		}
	}
	return nil
}

// observeAuth counts an authentication: ok, or the code of its rejection.
func (m *metrics) observeAuth(code string) {
	if code == "" {
		m.authOK.Inc()
		return
	}
	m.auth.WithLabelValues(code).Inc()
}

// observeRequest records an authenticated request that started at start.
func (m *metrics) observeRequest(tier, outcome string, start time.Time, assemble bool) {
	d := time.Since(start).Seconds()
	key := requestLabels{tier, outcome}
	c, ok := m.children.Load(key)
	if !ok {
		c, _ = m.children.LoadOrStore(key, &requestChildren{m.requests.WithLabelValues(tier, outcome), m.duration.WithLabelValues(tier, outcome)})
	}
	rc := c.(*requestChildren)
	rc.count.Inc()
	rc.duration.Observe(d)
	if assemble {
		m.assemble.WithLabelValues(tier, outcome).Observe(d)
	}
}

// observeReport counts a usage report's outcome.
func (m *metrics) observeReport(outcome string) {
	m.reports.WithLabelValues(outcome).Inc()
}

// reject counts a refused request: quota or rate_limit.
func (m *metrics) reject(reason string) {
	m.rejections.WithLabelValues(reason).Inc()
}

// isAssemble reports whether r is POST /api/v1/context/assemble.
func isAssemble(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Path == "/api/v1/context/assemble"
}

// outcome classifies a response by its status and the handler's error.
func outcome(status int, err error) string {
	if err != nil {
		status = http.StatusInternalServerError
		if he, ok := errors.AsType[caddyhttp.HandlerError](err); ok && he.StatusCode != 0 {
			status = he.StatusCode
		}
	}
	switch {
	case status == http.StatusTooManyRequests:
		return outcomeRateLimited
	case status >= 500:
		return outcomeError
	case status >= 400:
		return outcomeClientError
	}
	return outcomeOK
}

// statusWriter records the status of the response written through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

// WriteHeader records the final status and writes it.
func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write writes the body; without a status first it is 200.
func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush flushes the wrapped writer if it can.
func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// code returns the recorded status; none written means 200.
func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// countWebhooks counts the Stripe webhook deliveries h answers.
func (m *metrics) countWebhooks(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		outcome := outcomeError
		switch sw.code() {
		case http.StatusOK:
			outcome = outcomeOK
		case http.StatusBadRequest:
			outcome = "invalid"
		case http.StatusNotFound:
			outcome = "disabled"
		}
		m.webhooks.WithLabelValues(outcome).Inc()
	})
}

// tenantsCollector is contextlite_tenants{tier,status}, read from the
// control plane at scrape time and cached for a while.
type tenantsCollector struct {
	store tenancy.Store
	desc  *prometheus.Desc

	mu      sync.Mutex
	counts  map[[2]string]int
	fetched time.Time
}

func newTenantsCollector(store tenancy.Store) *tenantsCollector {
	return &tenantsCollector{store: store, desc: prometheus.NewDesc(metricsNamespace+"_tenants",
		"Tenants in the control plane by tier and status.", []string{"tier", "status"}, nil)}
}

// Describe sends the descriptor of the gauge.
func (c *tenantsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect sends the tenant counts, refreshed when older than the cache
// TTL; on a control-plane error it sends the last counts it has.
func (c *tenantsCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.fetched) > tenantsCacheTTL {
		ctx, cancel := context.WithTimeout(context.Background(), tenantsTimeout)
		ts, err := c.store.Tenants(ctx)
		cancel()
		if err == nil {
			c.counts = make(map[[2]string]int)
			for _, t := range ts {
				c.counts[[2]string{t.Tier, string(t.Status)}]++
			}
			c.fetched = time.Now()
		}
	}
	for k, n := range c.counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), k[0], k[1])
	}
}
