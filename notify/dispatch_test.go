package notify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contextlite/cloud/tenancy"
)

// The control plane's store is a Store.
var _ Store = tenancy.Store(nil)

// fakeStore is an in-memory Store.
type fakeStore struct {
	mu        sync.Mutex
	notices   map[string]tenancy.Notice
	webhooks  map[string]tenancy.Webhook
	updateErr error         // returned by UpdateNotice when set
	polled    chan struct{} // if set, signalled after each DueNotices
	updated   chan string   // if set, gets the ID of each updated notice
}

func newFakeStore() *fakeStore {
	return &fakeStore{notices: map[string]tenancy.Notice{}, webhooks: map[string]tenancy.Webhook{}}
}

func (s *fakeStore) DueNotices(ctx context.Context, now time.Time, limit int) ([]tenancy.Notice, error) {
	s.mu.Lock()
	var due []tenancy.Notice
	for _, n := range s.notices {
		if n.Status == tenancy.NoticePending && !n.NextAttempt.After(now) {
			due = append(due, n)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(due, func(a, b tenancy.Notice) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	if len(due) > limit {
		due = due[:limit]
	}
	if s.polled != nil {
		select {
		case s.polled <- struct{}{}:
		default:
		}
	}
	return due, nil
}

func (s *fakeStore) UpdateNotice(ctx context.Context, n tenancy.Notice) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.updateErr != nil {
		return s.updateErr
	}
	if _, ok := s.notices[n.ID]; !ok {
		return tenancy.ErrNotFound
	}
	s.notices[n.ID] = n
	if s.updated != nil {
		s.updated <- n.ID
	}
	return nil
}

func (s *fakeStore) Webhook(ctx context.Context, tenantID string) (tenancy.Webhook, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	wh, ok := s.webhooks[tenantID]
	if !ok {
		return tenancy.Webhook{}, fmt.Errorf("webhook of %s: %w", tenantID, tenancy.ErrNotFound)
	}
	return wh, nil
}

// add records a new pending notice of tenant at threshold and returns its ID.
func (s *fakeStore) add(tenant string, threshold int, at time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := fmt.Sprintf("%s/tokens/2026-01-01/%d", tenant, threshold)
	s.notices[id] = tenancy.Notice{
		ID:          id,
		TenantID:    tenant,
		Meter:       "tokens",
		Threshold:   threshold,
		Payload:     fmt.Appendf(nil, `{"id":%q,"threshold":%d}`, id, threshold),
		Status:      tenancy.NoticePending,
		NextAttempt: at,
		CreatedAt:   at,
		UpdatedAt:   at,
	}
	return id
}

func (s *fakeStore) notice(id string) tenancy.Notice {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.notices[id]
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// receiver is a webhook endpoint that verifies signatures against the
// test's clock. Tenants' webhooks are at /<tenant>.
type receiver struct {
	t       *testing.T
	srv     *httptest.Server
	clock   *clock
	secrets map[string]string // tenant to secret

	mu        sync.Mutex
	fail      int // answer this many requests with status
	status    int
	requests  int
	got       []string    // notice ids of accepted requests, in order
	delivered chan string // and as they come
}

func newReceiver(t *testing.T, c *clock) *receiver {
	r := &receiver{t: t, clock: c, secrets: map[string]string{}, status: http.StatusInternalServerError, delivered: make(chan string, 16)}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		r.t.Errorf("receiver: %v", err)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	tenant := strings.TrimPrefix(req.URL.Path, "/")
	if err := Verify(r.secrets[tenant], req.Header.Get(SignatureHeader), body, time.Second, r.clock.Now()); err != nil {
		r.t.Errorf("receiver: %s: %v", req.Header.Get(NoticeIDHeader), err)
		http.Error(w, "bad signature", http.StatusBadRequest)
		return
	}
	for h, want := range map[string]string{"Content-Type": "application/json", "User-Agent": "ContextLite-Webhooks/1"} {
		if got := req.Header.Get(h); got != want {
			r.t.Errorf("receiver: %s = %q, want %q", h, got, want)
		}
	}
	if req.Method != http.MethodPost {
		r.t.Errorf("receiver: method %s, want POST", req.Method)
	}
	id := req.Header.Get(NoticeIDHeader)
	if !strings.Contains(string(body), fmt.Sprintf("%q", id)) {
		r.t.Errorf("receiver: body %s is not notice %s's", body, id)
	}
	if r.fail > 0 {
		r.fail--
		http.Error(w, "  receiver\nbroke  ", r.status)
		return
	}
	r.got = append(r.got, id)
	r.delivered <- id
	w.WriteHeader(http.StatusNoContent)
}

// hook registers a tenant's webhook with a fresh secret in s and r.
func (r *receiver) hook(s *fakeStore, tenant string) {
	secret := NewSecret()
	r.mu.Lock()
	r.secrets[tenant] = secret
	r.mu.Unlock()
	s.mu.Lock()
	s.webhooks[tenant] = tenancy.Webhook{TenantID: tenant, URL: r.srv.URL + "/" + tenant, Secret: secret}
	s.mu.Unlock()
}

func (r *receiver) stats() (requests int, got []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests, slices.Clone(r.got)
}

// setup returns a store, a clock, a receiver and a Dispatcher using them,
// with a backoff of attempt minutes.
func setup(t *testing.T) (*fakeStore, *clock, *receiver, *Dispatcher) {
	s := newFakeStore()
	c := &clock{t: time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)}
	r := newReceiver(t, c)
	d := &Dispatcher{
		Store:   s,
		Client:  NewClient(true, 5*time.Second),
		Now:     c.Now,
		Logger:  slog.New(slog.NewTextHandler(t.Output(), nil)),
		Backoff: func(attempt int) time.Duration { return time.Duration(attempt) * time.Minute },
	}
	return s, c, r, d
}

// deliver runs one pass of d and checks how many it delivered.
func deliver(t *testing.T, d *Dispatcher, want int) {
	t.Helper()
	n, err := d.DeliverDue(t.Context())
	if err != nil {
		t.Fatalf("DeliverDue: %v", err)
	}
	if n != want {
		t.Fatalf("DeliverDue delivered %d, want %d", n, want)
	}
}

func TestDeliverDue(t *testing.T) {
	s, c, r, d := setup(t)
	r.hook(s, "acme")
	r.hook(s, "globex")
	a80 := s.add("acme", 80, c.Now().Add(-time.Minute))
	a100 := s.add("acme", 100, c.Now())
	g80 := s.add("globex", 80, c.Now().Add(-time.Second))
	later := s.add("initech", 80, c.Now().Add(time.Second)) // not due yet

	deliver(t, d, 3)
	if _, got := r.stats(); !slices.Equal(got, []string{a80, g80, a100}) {
		t.Errorf("receiver got %q, want %q oldest first", got, []string{a80, g80, a100})
	}
	for _, id := range []string{a80, a100, g80} {
		n := s.notice(id)
		if n.Status != tenancy.NoticeDelivered || n.Attempts != 1 || n.LastError != "" || !n.UpdatedAt.Equal(c.Now()) {
			t.Errorf("%s: status %s, attempts %d, last error %q, updated %v; want delivered after 1 attempt, now",
				id, n.Status, n.Attempts, n.LastError, n.UpdatedAt)
		}
	}
	if n := s.notice(later); n.Status != tenancy.NoticePending || n.Attempts != 0 {
		t.Errorf("a notice not due yet: status %s, attempts %d", n.Status, n.Attempts)
	}
	deliver(t, d, 0) // delivered ones are not sent again
	if requests, _ := r.stats(); requests != 3 {
		t.Errorf("receiver had %d requests, want 3", requests)
	}
}

func TestDeliverDueRetries(t *testing.T) {
	s, c, r, d := setup(t)
	r.hook(s, "acme")
	id := s.add("acme", 80, c.Now())
	r.fail = 2
	start := c.Now()

	deliver(t, d, 0)
	n := s.notice(id)
	if n.Status != tenancy.NoticePending || n.Attempts != 1 || n.LastError != "HTTP 500: receiver broke" || !n.NextAttempt.Equal(start.Add(time.Minute)) {
		t.Fatalf("after a failure: status %s, attempts %d, last error %q, next attempt %v; want pending, 1, HTTP 500, %v",
			n.Status, n.Attempts, n.LastError, n.NextAttempt, start.Add(time.Minute))
	}

	c.Advance(59 * time.Second)
	deliver(t, d, 0) // not due yet
	if requests, _ := r.stats(); requests != 1 {
		t.Fatalf("receiver had %d requests before the notice was due again, want 1", requests)
	}

	c.Advance(time.Second)
	deliver(t, d, 0)
	if n := s.notice(id); n.Attempts != 2 || !n.NextAttempt.Equal(c.Now().Add(2*time.Minute)) {
		t.Fatalf("after a second failure: attempts %d, next attempt %v; want 2, %v", n.Attempts, n.NextAttempt, c.Now().Add(2*time.Minute))
	}

	c.Advance(2 * time.Minute)
	deliver(t, d, 1) // signed anew: the receiver allows 1s of skew only
	n = s.notice(id)
	if n.Status != tenancy.NoticeDelivered || n.Attempts != 3 || n.LastError != "" {
		t.Errorf("after success: status %s, attempts %d, last error %q; want delivered, 3, none", n.Status, n.Attempts, n.LastError)
	}
	if requests, got := r.stats(); requests != 3 || !slices.Equal(got, []string{id}) {
		t.Errorf("receiver had %d requests and got %q; want 3 and %q", requests, got, id)
	}
}

func TestDeliverDueGivesUp(t *testing.T) {
	s, c, r, d := setup(t)
	d.MaxAttempts = 3
	d.Backoff = func(int) time.Duration { return 0 } // due again at once
	r.hook(s, "acme")
	id := s.add("acme", 100, c.Now())
	r.fail = 100
	r.status = http.StatusServiceUnavailable

	for attempt := 1; attempt <= 3; attempt++ {
		deliver(t, d, 0) // one attempt per pass, though due again at once
		if n := s.notice(id); n.Attempts != attempt {
			t.Fatalf("pass %d: attempts %d", attempt, n.Attempts)
		}
	}
	n := s.notice(id)
	if n.Status != tenancy.NoticeFailed || n.LastError != "HTTP 503: receiver broke" {
		t.Errorf("after 3 attempts: status %s, last error %q; want failed, HTTP 503", n.Status, n.LastError)
	}
	deliver(t, d, 0)
	if requests, _ := r.stats(); requests != 3 {
		t.Errorf("receiver had %d requests, want 3", requests)
	}
}

func TestDeliverDueNoWebhook(t *testing.T) {
	s, c, r, d := setup(t)
	id := s.add("acme", 80, c.Now())
	deliver(t, d, 0)
	n := s.notice(id)
	if n.Status != tenancy.NoticeFailed || n.LastError != "no webhook configured" || n.Attempts != 0 {
		t.Errorf("status %s, attempts %d, last error %q; want failed, 0, no webhook configured", n.Status, n.Attempts, n.LastError)
	}
	if requests, _ := r.stats(); requests != 0 {
		t.Errorf("receiver had %d requests", requests)
	}
}

func TestDeliverDueNetworkErrors(t *testing.T) {
	t.Run("refused address", func(t *testing.T) {
		s, c, r, d := setup(t)
		d.Client = nil // the default client refuses loopback
		r.hook(s, "acme")
		id := s.add("acme", 80, c.Now())
		deliver(t, d, 0)
		n := s.notice(id)
		if n.Status != tenancy.NoticePending || n.Attempts != 1 || !strings.Contains(n.LastError, "not allowed") {
			t.Errorf("status %s, attempts %d, last error %q; want pending, 1, not allowed", n.Status, n.Attempts, n.LastError)
		}
		if requests, _ := r.stats(); requests != 0 {
			t.Errorf("receiver had %d requests", requests)
		}
	})
	t.Run("long error", func(t *testing.T) {
		s, c, _, d := setup(t)
		long := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadGateway)
			w.Write([]byte("x" + strings.Repeat("é", 100<<10)))
		}))
		defer long.Close()
		s.webhooks["acme"] = tenancy.Webhook{TenantID: "acme", URL: long.URL, Secret: "s"}
		id := s.add("acme", 80, c.Now())
		deliver(t, d, 0)
		// 11 bytes "HTTP 502: x", 94 runes é, and half of one left off
		if e := s.notice(id).LastError; len(e) != 199 || !strings.HasPrefix(e, "HTTP 502: xé") || !strings.HasSuffix(e, "é") {
			t.Errorf("last error of %d bytes %q, want HTTP 502 cut to 199 bytes, whole runes", len(e), e)
		}
	})
}

func TestDeliverDueStoreErrors(t *testing.T) {
	s, c, r, d := setup(t)
	r.hook(s, "acme")
	s.add("acme", 80, c.Now())
	s.add("acme", 100, c.Now())
	s.updateErr = errors.New("disk full")
	n, err := d.DeliverDue(t.Context())
	if !errors.Is(err, s.updateErr) || n != 2 {
		t.Errorf("DeliverDue = %d, %v; want 2 delivered and disk full", n, err)
	}
}

func TestRunPoke(t *testing.T) {
	s, c, r, d := setup(t)
	d.Interval = time.Hour // only Poke can wake Run
	s.polled = make(chan struct{}, 1)
	s.updated = make(chan string, 1)
	r.hook(s, "acme")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		d.Run(ctx)
		close(done)
	}()
	wait(t, s.polled, "the first pass")

	id := s.add("acme", 80, c.Now())
	d.Poke()
	d.Poke() // never blocks
	if got := wait(t, r.delivered, "a delivery"); got != id {
		t.Errorf("delivered %q, want %q", got, id)
	}
	wait(t, s.updated, "the notice to be updated")
	if n := s.notice(id); n.Status != tenancy.NoticeDelivered {
		t.Errorf("status %s, want delivered", n.Status)
	}
	cancel()
	wait(t, done, "Run to return")
}

func TestRunStopsDuringDelivery(t *testing.T) {
	s, c, _, d := setup(t)
	arrived, release := make(chan struct{}), make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		close(arrived)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer hang.Close()
	defer close(release)
	s.webhooks["acme"] = tenancy.Webhook{TenantID: "acme", URL: hang.URL, Secret: "s"}
	id := s.add("acme", 80, c.Now())

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		d.Run(ctx)
		close(done)
	}()
	wait(t, arrived, "the request")
	cancel()
	wait(t, done, "Run to return")
	if n := s.notice(id); n.Attempts != 0 || n.Status != tenancy.NoticePending {
		t.Errorf("an attempt cut short by shutdown was recorded: status %s, attempts %d", n.Status, n.Attempts)
	}
}

// wait returns the next value from ch, failing t if none comes soon.
func wait[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func TestDefaultBackoff(t *testing.T) {
	tests := []struct {
		attempt int
		base    time.Duration
	}{
		{-1, 10 * time.Second},
		{0, 10 * time.Second},
		{1, 10 * time.Second},
		{2, 20 * time.Second},
		{3, 40 * time.Second},
		{9, 2560 * time.Second},
		{10, time.Hour},
		{64, time.Hour},
		{1 << 30, time.Hour},
	}
	for _, tt := range tests {
		lo, hi := tt.base*8/10, tt.base*12/10
		seen := map[time.Duration]bool{}
		for range 50 {
			got := defaultBackoff(tt.attempt)
			if got < lo || got > hi {
				t.Fatalf("defaultBackoff(%d) = %v, want %v ± 20%%", tt.attempt, got, tt.base)
			}
			seen[got] = true
		}
		if len(seen) < 2 {
			t.Errorf("defaultBackoff(%d) has no jitter", tt.attempt)
		}
	}
}
