// Package health answers GET /health: the service's version and uptime,
// its tenants, and checks of what it depends on, cached briefly so the
// endpoint stays cheap.
package health

import (
	"context"
	"encoding/json"
	"net/http"
	"runtime/debug"
	"sync"
	"time"
)

// Check reports a dependency's trouble, or nil when it is fine.
type Check struct {
	Name     string
	Required bool // a failure makes the service unhealthy (503)
	Run      func(ctx context.Context) error
}

// Report is the answer of GET /health.
type Report struct {
	Object      string            `json:"object"` // always "health"
	Status      string            `json:"status"` // ok, degraded (an optional check failed) or unhealthy
	Version     string            `json:"version"`
	Uptime      int64             `json:"uptime_seconds"`
	TenantCount int               `json:"tenant_count"`
	OpenTenants int               `json:"open_tenants"`
	Jobs        []string          `json:"jobs,omitzero"` // the singleton jobs this node holds; absent when not reported
	Checks      map[string]string `json:"checks"`        // "ok", "disabled" or the failure
}

// Handler serves GET /health. Set its fields before the first request.
type Handler struct {
	Version     string
	Started     time.Time
	Checks      []Check
	TenantCount func(ctx context.Context) (int, error)
	OpenTenants func() int
	Jobs        func() []string  // the singleton jobs held now (non-nil); nil: not reported
	TTL         time.Duration    // how long a report is reused (default 5s)
	Now         func() time.Time // default time.Now

	mu     sync.Mutex
	last   Report
	status int
	at     time.Time
}

// checkTimeout bounds each check.
const checkTimeout = 3 * time.Second

// ServeHTTP answers 200 with the report when every required check passes,
// else 503.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	report, status := h.Report(r.Context())
	body, _ := json.Marshal(report) // strings and ints always marshal
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// Report returns the current report and its HTTP status, running the
// checks when the last report is older than the TTL.
func (h *Handler) Report(ctx context.Context) (Report, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	ttl := h.TTL
	if ttl <= 0 {
		ttl = 5 * time.Second
	}
	if h.at.IsZero() || now.Sub(h.at) >= ttl {
		h.last, h.status = h.run(ctx, now)
		h.at = now
	}
	report := h.last
	report.Object = "health"
	report.Uptime = int64(now.Sub(h.Started) / time.Second)
	report.OpenTenants = h.OpenTenants()
	if h.Jobs != nil {
		report.Jobs = h.Jobs()
	}
	return report, h.status
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// run runs every check, each bounded by checkTimeout, in parallel.
func (h *Handler) run(ctx context.Context, now time.Time) (Report, int) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), checkTimeout)
	defer cancel()
	report := Report{Status: "ok", Version: h.Version, Checks: make(map[string]string, len(h.Checks))}
	errs := make([]error, len(h.Checks))
	var wg sync.WaitGroup
	for i, c := range h.Checks {
		wg.Go(func() { errs[i] = c.Run(ctx) })
	}
	count, countErr := h.TenantCount(ctx)
	wg.Wait()
	report.TenantCount = count
	status := http.StatusOK
	for i, c := range h.Checks {
		switch {
		case errs[i] == nil:
			report.Checks[c.Name] = "ok"
		case errs[i] == ErrDisabled:
			report.Checks[c.Name] = "disabled"
		case c.Required:
			report.Checks[c.Name] = errs[i].Error()
			report.Status, status = "unhealthy", http.StatusServiceUnavailable
		default:
			report.Checks[c.Name] = errs[i].Error()
			if status == http.StatusOK {
				report.Status = "degraded"
			}
		}
	}
	if countErr != nil && status == http.StatusOK {
		report.Status = "degraded"
	}
	return report, status
}

// version is this binary's version when set at link time:
// -ldflags "-X github.com/contextlite/cloud/health.version=v1.2.3".
var version string

// Version returns this binary's version of module path: the one set at
// link time, else the module's version in the build information, else
// the VCS revision the binary was built from, else "devel".
func Version(path string) string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	return versionFrom(info, path)
}

// versionFrom reads the version of module path from info. A local
// replacement (xcaddy's path@v0.0.0=./) and "(devel)" carry none.
func versionFrom(info *debug.BuildInfo, path string) string {
	if info.Main.Path == path && isVersion(info.Main.Version) {
		return info.Main.Version
	}
	for _, dep := range info.Deps {
		if dep.Path == path && dep.Replace == nil && isVersion(dep.Version) {
			return dep.Version
		}
	}
	var revision, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if revision == "" {
		return "devel"
	}
	v := "devel-" + revision[:min(12, len(revision))]
	if modified == "true" {
		v += "-dirty"
	}
	return v
}

// isVersion reports whether v names a version.
func isVersion(v string) bool {
	return v != "" && v != "(devel)"
}
