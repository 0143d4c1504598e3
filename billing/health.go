package billing

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/stripe/stripe-go/v76"
)

// healthTTL is how long a reachability check is reused.
const healthTTL = 30 * time.Second

// healthCache keeps the last reachability check.
type healthCache struct {
	mu      sync.Mutex
	err     error
	checked time.Time
}

// Health reports whether Stripe answers with the configured key, from a
// check at most 30 s old; it is kept off the request path by Run, which
// refreshes it.
func (b *Billing) Health() error {
	b.health.mu.Lock()
	defer b.health.mu.Unlock()
	if b.health.checked.IsZero() {
		return errors.New("stripe: not checked yet")
	}
	return b.health.err
}

// checkHealth asks Stripe for a customer that does not exist: "no such
// customer" proves the API answers and the key is accepted.
func (b *Billing) checkHealth(ctx context.Context) {
	b.health.mu.Lock()
	fresh := b.now().Sub(b.health.checked) < healthTTL
	b.health.mu.Unlock()
	if fresh {
		return
	}
	params := &stripe.CustomerParams{}
	params.Context = ctx
	_, err := b.sc.Customers.Get("cus_contextlite_health_probe", params)
	var se *stripe.Error
	if errors.As(err, &se) && se.HTTPStatusCode == http.StatusNotFound {
		err = nil
	}
	b.health.mu.Lock()
	b.health.err, b.health.checked = err, b.now()
	b.health.mu.Unlock()
}
