package stripefake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// endpoint serves one API operation with the server lock held, returning
// the object to answer or a Stripe error.
type endpoint func(c *call) (any, *apiError)

// call is the parsed input of an endpoint.
type call struct {
	method string
	path   string
	id     string // the {id} path segment, if any
	form   url.Values
	now    time.Time
}

// reply is a complete answer, kept for idempotent replay.
type reply struct {
	status   int
	body     []byte
	noRetry  bool // send Stripe-Should-Retry: false
	replayed bool
}

// stored is the answer saved for an idempotency key.
type stored struct {
	fingerprint string // method, path and parameters of the first request
	reply       reply
}

// fault is what fault injection decided for one request.
type fault struct {
	failStatus int // answer this status without doing anything, if not 0
	hang       bool
}

// routes returns the handler of the API.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	for pattern, ep := range map[string]endpoint{
		"POST /v1/customers":               s.createCustomer,
		"GET /v1/customers/{id}":           s.getCustomer,
		"POST /v1/customers/{id}":          s.updateCustomer,
		"DELETE /v1/customers/{id}":        s.deleteCustomer,
		"POST /v1/subscriptions":           s.createSubscription,
		"GET /v1/subscriptions":            s.listSubscriptions,
		"GET /v1/subscriptions/{id}":       s.getSubscription,
		"POST /v1/subscriptions/{id}":      s.updateSubscription,
		"DELETE /v1/subscriptions/{id}":    s.cancelSubscription,
		"GET /v1/invoices/{id}":            s.getInvoice,
		"POST /v1/billing_portal/sessions": s.createPortalSession,
		"POST /v1/billing/meter_events":    s.createMeterEvent,
		"/":                                unknownRoute,
	} {
		mux.Handle(pattern, s.handler(ep))
	}
	return mux
}

// handler adapts an endpoint to HTTP, adding logging, fault injection,
// authentication and idempotency.
func (s *Server) handler(ep endpoint) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		form, formErr := readForm(r)
		key := r.Header.Get("Idempotency-Key")
		n, f := s.begin(r, key, form)
		var rep reply
		switch {
		case f.failStatus != 0:
			rep = injectedFailure(f.failStatus).reply()
		case formErr != nil:
			rep = invalidParam("", "Invalid request body: %v", formErr).reply()
		default:
			rep = s.execute(r, key, form, ep)
		}
		s.finish(n, rep)
		if f.hang {
			s.hang(r)
			return
		}
		rep.write(w, key, "req_"+strconv.Itoa(n+1))
	}
}

// readForm parses the form-encoded body, whatever the method, and the query.
func readForm(r *http.Request) (url.Values, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, err
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	for k, vs := range query {
		form[k] = append(form[k], vs...)
	}
	return form, nil
}

// begin logs the request and takes the fault, if any, injected for it.
func (s *Server) begin(r *http.Request, key string, form url.Values) (int, fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{
		Method:         r.Method,
		Path:           r.URL.Path,
		IdempotencyKey: key,
		Params:         cloneValues(form),
	})
	var f fault
	switch {
	case s.failNext > 0:
		s.failNext--
		f.failStatus = s.failStatus
	case s.timeoutNext > 0:
		s.timeoutNext--
		f.hang = true
	}
	return len(s.requests) - 1, f
}

// finish records the answer to request n in the log.
func (s *Server) finish(n int, rep reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[n].Status = rep.status
	s.requests[n].Replayed = rep.replayed
}

// hang waits until the client gives up on r or the test ends.
func (s *Server) hang(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-s.closing:
	}
}

// execute authenticates the request and runs the endpoint through the
// idempotency layer.
//
// Like Stripe, it saves the answer of the first POST with a given key once
// the endpoint has started (validation failures are not saved), replays it
// for later requests with the same key and parameters, and refuses the key
// with other parameters. Stripe ignores keys on GET and DELETE, and so does
// this: a repeated DELETE runs again.
func (s *Server) execute(r *http.Request, key string, form url.Values, ep endpoint) reply {
	if err := authenticate(r); err != nil {
		return err.reply()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	idempotent := key != "" && r.Method == http.MethodPost
	fp := r.Method + " " + r.URL.Path + "?" + form.Encode()
	if idempotent {
		if st, ok := s.idem[key]; ok {
			if st.fingerprint != fp {
				return idempotencyMismatch(key).reply()
			}
			rep := st.reply
			rep.replayed = true
			return rep
		}
	}
	c := &call{method: r.Method, path: r.URL.Path, id: r.PathValue("id"), form: form, now: s.clock()}
	obj, apiErr := ep(c)
	if apiErr != nil {
		rep := apiErr.reply()
		if idempotent && !apiErr.validation {
			s.idem[key] = stored{fingerprint: fp, reply: rep}
		}
		return rep
	}
	rep := reply{status: http.StatusOK, body: mustJSON(obj)}
	if idempotent {
		s.idem[key] = stored{fingerprint: fp, reply: rep}
	}
	return rep
}

// authenticate requires a test-mode secret key, by Bearer or Basic auth.
func authenticate(r *http.Request) *apiError {
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		key, _, _ = r.BasicAuth()
	}
	if key == "" {
		return &apiError{status: http.StatusUnauthorized, Type: typeInvalidRequest,
			Message: "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."}
	}
	if !strings.HasPrefix(key, "sk_test_") {
		return &apiError{status: http.StatusUnauthorized, Type: typeInvalidRequest,
			Message: "Invalid API Key provided: " + redact(key)}
	}
	return nil
}

// redact hides the middle of a key, as Stripe does in its error messages.
func redact(key string) string {
	if len(key) <= 12 {
		return strings.Repeat("*", len(key))
	}
	return key[:8] + strings.Repeat("*", len(key)-12) + key[len(key)-4:]
}

// write sends the reply with Stripe's response headers.
func (rep reply) write(w http.ResponseWriter, key, requestID string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Request-Id", requestID)
	if key != "" {
		h.Set("Idempotency-Key", key)
	}
	if rep.replayed {
		h.Set("Idempotent-Replayed", "true")
	}
	if rep.noRetry {
		h.Set("Stripe-Should-Retry", "false")
	}
	w.WriteHeader(rep.status)
	w.Write(rep.body)
}

// unknownRoute answers requests that match no endpoint.
func unknownRoute(c *call) (any, *apiError) {
	e := &apiError{status: http.StatusNotFound, Type: typeInvalidRequest, validation: true,
		Message: fmt.Sprintf("Unrecognized request URL (%s: %s). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.", c.method, c.path)}
	return nil, e
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("stripefake: encode answer: " + err.Error())
	}
	return b
}
