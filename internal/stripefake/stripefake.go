// Package stripefake is a stateful, in-memory fake of the parts of the
// Stripe API that our billing code uses, served over HTTP so that tests can
// point the real stripe-go client at it.
//
// It models customers, subscriptions, invoices (read only; tests add them),
// billing portal sessions and billing meter events; answers with
// Stripe-shaped JSON objects and errors; requires a test-mode secret key;
// implements Stripe's idempotency layer; and can inject failures and
// timeouts. Parameters it does not model are accepted and ignored, and
// prices are not checked against a catalogue.
package stripefake

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// TestKey is a secret key the fake accepts; any key starting sk_test_ does.
const TestKey = "sk_test_stripefake"

// clientTimeout is the HTTP timeout of the clients made by BackendConfig.
const clientTimeout = 2 * time.Second

// Server is a running fake of the Stripe API.
type Server struct {
	// URL is the base URL of the fake, for stripe.BackendConfig.URL.
	URL string

	t       testing.TB
	srv     *httptest.Server
	closing chan struct{} // closed when the test ends, to release hung requests
	clock   func() time.Time

	mu          sync.Mutex
	ids         map[string]int // last id issued, per prefix
	customers   table[*customer]
	subs        table[*subscription]
	invoices    table[*invoice]
	meterEvents []MeterEvent
	meterIDs    map[string]bool // meter event identifiers already used
	idem        map[string]stored
	requests    []Request
	failNext    int
	failStatus  int
	timeoutNext int
}

// Request is one HTTP request received by the fake.
type Request struct {
	Method         string
	Path           string
	IdempotencyKey string
	// Params holds the form parameters of the body and query string.
	Params url.Values
	// Status is the status the fake answered, or would have answered for
	// a request held by TimeoutNext; it is 0 while the request is served.
	Status int
	// Replayed reports whether the answer was replayed from an earlier
	// request with the same idempotency key.
	Replayed bool
}

// MeterEvent is a billing meter event recorded by the fake.
type MeterEvent struct {
	EventName  string
	Identifier string
	Customer   string // payload[stripe_customer_id]
	Value      int64  // payload[value]
	Timestamp  int64
}

// New starts a fake Stripe API that is shut down when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		t:         t,
		closing:   make(chan struct{}),
		clock:     time.Now,
		ids:       make(map[string]int),
		customers: newTable[*customer](),
		subs:      newTable[*subscription](),
		invoices:  newTable[*invoice](),
		meterIDs:  make(map[string]bool),
		idem:      make(map[string]stored),
	}
	s.srv = httptest.NewServer(s.routes())
	s.URL = s.srv.URL
	t.Cleanup(func() {
		close(s.closing)
		s.srv.Close()
	})
	return s
}

// BackendConfig returns a stripe-go backend configuration aimed at the fake,
// with a short HTTP timeout, no network retries, no logging and no telemetry.
func (s *Server) BackendConfig() *stripe.BackendConfig {
	return &stripe.BackendConfig{
		URL:               stripe.String(s.URL),
		HTTPClient:        &http.Client{Timeout: clientTimeout},
		MaxNetworkRetries: stripe.Int64(0),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
		EnableTelemetry:   stripe.Bool(false),
	}
}

// Client returns a stripe-go client using TestKey and BackendConfig.
func (s *Server) Client() *client.API {
	backend := stripe.GetBackendWithConfig(stripe.APIBackend, s.BackendConfig())
	return client.New(TestKey, &stripe.Backends{API: backend})
}

// Customers returns every customer created, deleted ones included, oldest first.
func (s *Server) Customers() []*stripe.Customer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return convertAll[stripe.Customer](s.customers.all())
}

// Subscriptions returns every subscription created, oldest first.
func (s *Server) Subscriptions() []*stripe.Subscription {
	s.mu.Lock()
	defer s.mu.Unlock()
	return convertAll[stripe.Subscription](s.subs.all())
}

// MeterEvents returns the meter events recorded, in the order received.
func (s *Server) MeterEvents() []MeterEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.meterEvents)
}

// Requests returns the requests received so far, in the order received.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.requests)
	for i := range out {
		out[i].Params = cloneValues(out[i].Params)
	}
	return out
}

// IdempotencyKeys returns the distinct idempotency keys seen, in first-seen order.
func (s *Server) IdempotencyKeys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for _, r := range s.requests {
		if r.IdempotencyKey != "" && !slices.Contains(keys, r.IdempotencyKey) {
			keys = append(keys, r.IdempotencyKey)
		}
	}
	return keys
}

// FailNext makes the next n requests answer status with a Stripe error body
// without doing anything; these answers are not saved for idempotent replay,
// as when a request fails before reaching Stripe's API.
func (s *Server) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext, s.failStatus = n, status
}

// TimeoutNext makes the next n requests do their work, and save their answer
// for idempotent replay, but then hold the answer until the client gives up:
// a timeout after Stripe committed. Requests failed by FailNext come first.
func (s *Server) TimeoutNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.timeoutNext = n
}

// SetSubscriptionStatus sets the status of subscription id, as Stripe's
// billing would (e.g. "past_due", "unpaid", "canceled"); it fails the test
// if there is no such subscription or status. Call it from the test goroutine.
func (s *Server) SetSubscriptionStatus(id, status string) {
	s.t.Helper()
	if !subscriptionStatuses[status] {
		s.t.Fatalf("stripefake: unknown subscription status %q", status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.subs.get(id)
	if !ok {
		s.t.Fatalf("stripefake: no such subscription %q", id)
	}
	sub.Status = status
	if status == statusCanceled && sub.EndedAt == nil {
		now := s.clock().Unix()
		sub.CanceledAt, sub.EndedAt = &now, &now
	}
}

// newID returns the next id with the given prefix, such as cus_1.
func (s *Server) newID(prefix string) string {
	s.ids[prefix]++
	return prefix + "_" + strconv.Itoa(s.ids[prefix])
}

// table is a map of objects by id that remembers the order of insertion.
type table[T any] struct {
	order []string
	byID  map[string]T
}

func newTable[T any]() table[T] {
	return table[T]{byID: make(map[string]T)}
}

func (t *table[T]) add(id string, v T) {
	t.order = append(t.order, id)
	t.byID[id] = v
}

func (t *table[T]) get(id string) (T, bool) {
	v, ok := t.byID[id]
	return v, ok
}

// all returns the objects, oldest first.
func (t *table[T]) all() []T {
	out := make([]T, len(t.order))
	for i, id := range t.order {
		out[i] = t.byID[id]
	}
	return out
}

// convertAll turns fake objects into stripe-go ones through their JSON form,
// so tests see exactly what a stripe-go client would decode.
func convertAll[T any, S any](objs []S) []*T {
	out := make([]*T, len(objs))
	for i, o := range objs {
		b, err := json.Marshal(o)
		if err != nil {
			panic("stripefake: encode object: " + err.Error())
		}
		out[i] = new(T)
		if err := json.Unmarshal(b, out[i]); err != nil {
			panic("stripefake: decode object: " + err.Error())
		}
	}
	return out
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}
