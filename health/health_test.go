package health

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestHealthStatusesAndCache(t *testing.T) {
	clock := &fakeClock{time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	var dbErr, stripeErr error
	runs := 0
	h := &Handler{
		Version: "v1.2.3",
		Started: clock.t.Add(-90 * time.Second),
		Checks: []Check{
			{Name: "database", Required: true, Run: func(context.Context) error { runs++; return dbErr }},
			{Name: "storage", Required: true, Run: Storage(t.TempDir(), 1)},
			{Name: "stripe", Run: func(context.Context) error { return stripeErr }},
		},
		TenantCount: func(context.Context) (int, error) { return 7, nil },
		OpenTenants: func() int { return 2 },
		TTL:         5 * time.Second,
		Now:         clock.now,
	}
	get := func() (Report, int) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/health", nil))
		var r Report
		if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		return r, rec.Code
	}

	r, code := get()
	if code != http.StatusOK || r.Status != "ok" || r.Version != "v1.2.3" || r.Uptime != 90 || r.TenantCount != 7 ||
		r.OpenTenants != 2 || r.Checks["database"] != "ok" || r.Checks["storage"] != "ok" || r.Checks["stripe"] != "ok" {
		t.Fatalf("healthy: %d %+v", code, r)
	}
	if r.Jobs != nil {
		t.Fatalf("jobs %#v reported without a Jobs func", r.Jobs)
	}

	// The jobs held are read at each request, not cached; none is [].
	jobs := []string{"notices"}
	h.Jobs = func() []string { return jobs }
	if r, _ := get(); !slices.Equal(r.Jobs, []string{"notices"}) {
		t.Fatalf("jobs %#v, want [notices]", r.Jobs)
	}
	jobs = []string{}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/health", nil))
	if !strings.Contains(rec.Body.String(), `"jobs":[]`) {
		t.Fatalf("no job held: %s, want \"jobs\":[]", rec.Body)
	}
	h.Jobs = nil

	// Failures within the TTL are not seen: the report is cached.
	dbErr = errors.New("connection refused")
	if _, code := get(); code != http.StatusOK || runs != 1 {
		t.Fatalf("within the TTL: %d after %d runs", code, runs)
	}
	clock.t = clock.t.Add(5 * time.Second)
	if r, code := get(); code != http.StatusServiceUnavailable || r.Status != "unhealthy" || r.Checks["database"] != "connection refused" {
		t.Fatalf("database down: %d %+v", code, r)
	}

	// An optional check failing degrades but keeps 200.
	dbErr, stripeErr = nil, errors.New("stripe: timeout")
	clock.t = clock.t.Add(5 * time.Second)
	if r, code := get(); code != http.StatusOK || r.Status != "degraded" || r.Checks["stripe"] != "stripe: timeout" {
		t.Fatalf("stripe down: %d %+v", code, r)
	}
	stripeErr = ErrDisabled
	clock.t = clock.t.Add(5 * time.Second)
	if r, code := get(); code != http.StatusOK || r.Status != "ok" || r.Checks["stripe"] != "disabled" {
		t.Fatalf("stripe off: %d %+v", code, r)
	}
}

func TestStorageCheck(t *testing.T) {
	dir := t.TempDir()
	if err := Storage(dir, 1)(context.Background()); err != nil {
		t.Fatalf("writable dir: %v", err)
	}
	if err := Storage(dir, math.MaxUint64)(context.Background()); err == nil {
		t.Fatal("free space below the threshold passed")
	}
	if err := Storage(dir+"/missing", 1)(context.Background()); err == nil {
		t.Fatal("missing dir passed")
	}
}

// TestVersionFrom: /health reports the module's version, the VCS revision
// of a build from a checkout, never "(devel)" or xcaddy's local v0.0.0.
func TestVersionFrom(t *testing.T) {
	const path = "github.com/contextlite/cloud"
	vcs := []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"}}
	for _, tc := range []struct {
		name string
		info debug.BuildInfo
		want string
	}{
		{"main module at a version", debug.BuildInfo{Main: debug.Module{Path: path, Version: "v1.4.0"}}, "v1.4.0"},
		{"main module stamped by go build", debug.BuildInfo{Main: debug.Module{Path: path, Version: "v0.0.0-20261201223834-0123456789ab+dirty"}}, "v0.0.0-20261201223834-0123456789ab+dirty"},
		{"main module from a checkout", debug.BuildInfo{Main: debug.Module{Path: path, Version: "(devel)"}, Settings: vcs}, "devel-0123456789ab-dirty"},
		{"dependency at a version", debug.BuildInfo{Main: debug.Module{Path: "caddy"}, Deps: []*debug.Module{{Path: path, Version: "v1.4.0"}}}, "v1.4.0"},
		{"local replacement (xcaddy)", debug.BuildInfo{Main: debug.Module{Path: "caddy"}, Deps: []*debug.Module{{Path: path, Version: "v0.0.0", Replace: &debug.Module{Path: "/src"}}}}, "devel"},
		{"nothing known", debug.BuildInfo{Main: debug.Module{Path: path, Version: "(devel)"}}, "devel"},
	} {
		if got := versionFrom(&tc.info, path); got != tc.want {
			t.Errorf("%s: version = %q, want %q", tc.name, got, tc.want)
		}
	}
}
