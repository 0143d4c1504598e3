package console

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contextlite/cloud/access"
	"github.com/contextlite/cloud/tenancy"
)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// noStorage makes no document storage.
type noStorage struct{}

func (noStorage) Create(context.Context, string) error { return nil }

// fixture is a console on a real SQLite control plane, its clock and an admin key.
type fixture struct {
	srv   *httptest.Server
	clock *clock
	key   string
}

// controlPlane returns a service on a real SQLite control plane with a
// settable clock.
func controlPlane(t *testing.T) (*tenancy.Service, *clock) {
	t.Helper()
	store, err := tenancy.Open(context.Background(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	clk := &clock{t: time.Now().UTC()}
	return &tenancy.Service{Store: store, Storage: noStorage{}, Tiers: tenancy.DefaultTiers(), Now: clk.Now}, clk
}

func newFixture(t *testing.T, logins int) fixture {
	ctx := context.Background()
	svc, clk := controlPlane(t)
	store, hasher := svc.Store, svc.Hasher
	res, err := svc.Signup(ctx, "ops@acme.test", "Acme")
	if err != nil {
		t.Fatal(err)
	}
	keys := tenancy.NewAuthenticator(store, hasher, tenancy.AuthOptions{Now: clk.Now})
	c, err := New(Config{Callers: &access.Resolver{Keys: keys, Tiers: tenancy.DefaultTiers()}, Store: store,
		Hasher: hasher, Now: clk.Now, LoginsPerTenant: logins})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(c)
	t.Cleanup(srv.Close)
	return fixture{srv: srv, clock: clk, key: res.APIKey}
}

// client returns a client of f with a cookie jar that does not follow redirects.
func (f fixture) client(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := *f.srv.Client() // a copy: the server's client is shared
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// login posts the login form with key and returns the status.
func (f fixture) login(t *testing.T, c *http.Client, key string) int {
	resp, err := c.Get(f.srv.URL + "/console/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfInput.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token in %s", body)
	}
	resp, err = c.PostForm(f.srv.URL+"/console/login", url.Values{"csrf": {string(m[1])}, "api_key": {key}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// home returns where GET /console/ sends c.
func (f fixture) home(t *testing.T, c *http.Client) string {
	resp, err := c.Get(f.srv.URL + "/console/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get("Location")
}

func TestSessionIdleExpiry(t *testing.T) {
	f := newFixture(t, 0)
	c := f.client(t)
	if got := f.login(t, c, f.key); got != http.StatusSeeOther {
		t.Fatalf("login = %d", got)
	}
	f.clock.Add(IdleTimeout - time.Minute)
	if got := f.home(t, c); got != "/console/overview" {
		t.Fatalf("a session used within 12 h goes to %q", got)
	}
	f.clock.Add(IdleTimeout - time.Minute) // 12 h less a minute after its last use
	if got := f.home(t, c); got != "/console/overview" {
		t.Fatalf("a session used again within 12 h goes to %q", got)
	}
	f.clock.Add(IdleTimeout)
	if got := f.home(t, c); got != "/console/login" {
		t.Fatalf("a session idle for 12 h goes to %q, want the login", got)
	}
}

func TestLoginsLimitedPerTenant(t *testing.T) {
	f := newFixture(t, 2)
	for i, want := range []int{http.StatusSeeOther, http.StatusSeeOther, http.StatusTooManyRequests} {
		if got := f.login(t, f.client(t), f.key); got != want {
			t.Fatalf("login %d = %d, want %d", i+1, got, want)
		}
	}
	f.clock.Add(time.Minute)
	if got := f.login(t, f.client(t), f.key); got != http.StatusSeeOther {
		t.Fatalf("login a minute later = %d", got)
	}
}

func TestPagesHaveNoInlineScript(t *testing.T) {
	f := newFixture(t, 0)
	c := f.client(t)
	for _, path := range []string{"/console/login", "/console/signup", "/console/nope"} {
		resp, err := c.Get(f.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(strings.ToLower(string(body)), "<script") || resp.Header.Get("Content-Security-Policy") != contentSecurityPolicy {
			t.Errorf("%s: script or no CSP: %s", path, body)
		}
	}
}
