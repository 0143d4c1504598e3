package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/contextlite/cloud/tenancy"
)

// Defaults and limits of deliveries.
const (
	defaultMaxAttempts = 8
	defaultInterval    = 5 * time.Second
	backoffBase        = 10 * time.Second
	backoffCap         = time.Hour
	batchSize          = 100     // notices fetched at a time
	maxResponseRead    = 4 << 10 // bytes of a response read
	maxLastError       = 200     // bytes of LastError kept
	userAgent          = "ContextLite-Webhooks/1"
	errNoWebhook       = "no webhook configured"
)

// Store is what a Dispatcher needs of the control plane.
type Store interface {
	// DueNotices returns up to limit pending notices whose NextAttempt is
	// not after now.
	DueNotices(ctx context.Context, now time.Time, limit int) ([]tenancy.Notice, error)
	// UpdateNotice saves n's status, attempts, next attempt and last error.
	UpdateNotice(ctx context.Context, n tenancy.Notice) error
	// Webhook returns a tenant's webhook; tenancy.ErrNotFound if it has none.
	Webhook(ctx context.Context, tenantID string) (tenancy.Webhook, error)
}

// Dispatcher delivers due notices to their tenants' webhooks, signed, and
// retries failed deliveries with backoff. Delivery is at least once:
// receivers dedupe on NoticeIDHeader. Only one Dispatcher should run per
// Store. Set the fields before first use and do not copy a Dispatcher
// after; its methods are safe for concurrent use.
type Dispatcher struct {
	Store       Store
	Client      *http.Client                    // nil: NewClient(false, 10*time.Second); no Timeout: 10s
	Now         func() time.Time                // nil: time.Now
	Logger      *slog.Logger                    // nil: discard
	MaxAttempts int                             // attempts before a notice fails; 0: 8
	Backoff     func(attempt int) time.Duration // wait after a failed attempt (1, 2, ...); nil: 10s doubling up to 1h, ±20%
	Interval    time.Duration                   // time between polls of Run; 0: 5s

	once   sync.Once
	client *http.Client  // Client or the default one
	log    *slog.Logger  // Logger or a discarding one
	wake   chan struct{} // Poke's signal to Run, buffered 1
	sem    chan struct{} // held during a pass, buffered 1
}

// init sets the defaults that need state.
func (d *Dispatcher) init() {
	d.once.Do(func() {
		d.client = d.Client
		if d.client == nil {
			d.client = NewClient(false, defaultTimeout)
		}
		d.log = d.Logger
		if d.log == nil {
			d.log = slog.New(slog.DiscardHandler)
		}
		d.wake = make(chan struct{}, 1)
		d.sem = make(chan struct{}, 1)
	})
}

// Run delivers due notices every Interval, and soon after Poke, until ctx
// is done.
func (d *Dispatcher) Run(ctx context.Context) {
	d.init()
	interval := d.Interval
	if interval <= 0 {
		interval = defaultInterval
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		if _, err := d.DeliverDue(ctx); err != nil && ctx.Err() == nil {
			d.log.Error("webhook delivery pass", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-d.wake:
		}
	}
}

// Poke makes Run deliver due notices soon, for instance right after a
// notice was recorded. It never blocks.
func (d *Dispatcher) Poke() {
	d.init()
	select {
	case d.wake <- struct{}{}:
	default: // a wake-up is pending already
	}
}

// DeliverDue attempts every notice due now once and records the outcome,
// and returns how many were delivered. Failed deliveries are recorded, not
// returned; the error is about the Store, or ctx. Passes do not overlap.
func (d *Dispatcher) DeliverDue(ctx context.Context) (int, error) {
	d.init()
	select {
	case d.sem <- struct{}{}:
		defer func() { <-d.sem }()
	case <-ctx.Done():
		return 0, ctx.Err()
	}

	now := d.now()
	delivered := 0
	var errs []error
	seen := make(map[string]bool)
	for {
		batch, err := d.Store.DueNotices(ctx, now, batchSize)
		if err != nil {
			return delivered, fmt.Errorf("due notices: %w", err)
		}
		fresh := 0
		for _, n := range batch {
			if seen[n.ID] {
				continue // attempted in this pass already, yet still due
			}
			seen[n.ID] = true
			fresh++
			if err := ctx.Err(); err != nil {
				return delivered, err
			}
			ok, err := d.attempt(ctx, n)
			if ok {
				delivered++
			}
			if err != nil {
				if ctxErr := ctx.Err(); ctxErr != nil {
					return delivered, ctxErr
				}
				errs = append(errs, err)
			}
		}
		if len(batch) < batchSize || fresh == 0 {
			return delivered, errors.Join(errs...)
		}
	}
}

// attempt delivers n once and records the outcome. It reports whether n
// was delivered; the error is about the Store, or ctx.
func (d *Dispatcher) attempt(ctx context.Context, n tenancy.Notice) (bool, error) {
	log := d.log.With("notice", n.ID, "tenant", n.TenantID)
	wh, err := d.Store.Webhook(ctx, n.TenantID)
	switch {
	case errors.Is(err, tenancy.ErrNotFound):
		n.Status = tenancy.NoticeFailed
		n.LastError = errNoWebhook
		n.UpdatedAt = d.now()
		log.Info("webhook notice dropped: " + errNoWebhook)
		return false, d.update(ctx, n)
	case err != nil:
		return false, fmt.Errorf("notice %s: webhook of tenant %s: %w", n.ID, n.TenantID, err)
	}

	now := d.now()
	deliveryErr := d.post(ctx, wh, n, now)
	if deliveryErr != nil && ctx.Err() != nil {
		return false, ctx.Err() // our shutdown, not the receiver's failure
	}
	n.Attempts++
	n.UpdatedAt = now
	if deliveryErr == nil {
		n.Status = tenancy.NoticeDelivered
		n.LastError = ""
		log.Info("webhook notice delivered", "attempts", n.Attempts)
		return true, d.update(ctx, n)
	}
	n.LastError = truncate(deliveryErr.Error(), maxLastError)
	if n.Attempts >= d.maxAttempts() {
		n.Status = tenancy.NoticeFailed
		log.Warn("webhook notice failed; giving up", "attempts", n.Attempts, "error", n.LastError)
	} else {
		n.NextAttempt = now.Add(d.backoff(n.Attempts))
		log.Info("webhook notice not delivered; will retry", "attempts", n.Attempts, "next_attempt", n.NextAttempt, "error", n.LastError)
	}
	return false, d.update(ctx, n)
}

// post sends n's payload to wh, signed at now. A nil error means a 2xx
// response.
func (d *Dispatcher) post(ctx context.Context, wh tenancy.Webhook, n tenancy.Notice, now time.Time) error {
	if d.client.Timeout <= 0 { // a Client without a timeout could hang a pass
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultTimeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, wh.URL, bytes.NewReader(n.Payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(SignatureHeader, Sign(wh.Secret, now, n.Payload))
	req.Header.Set(NoticeIDHeader, n.ID)
	resp, err := d.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	head, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseRead))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil // the answer counts, even if its body broke off
	}
	msg := "HTTP " + strconv.Itoa(resp.StatusCode)
	if s := oneLine(head); s != "" {
		msg += ": " + s
	} else if err != nil {
		msg += ": " + err.Error()
	}
	return errors.New(msg)
}

// update saves n.
func (d *Dispatcher) update(ctx context.Context, n tenancy.Notice) error {
	if err := d.Store.UpdateNotice(ctx, n); err != nil {
		return fmt.Errorf("update notice %s: %w", n.ID, err)
	}
	return nil
}

func (d *Dispatcher) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Dispatcher) maxAttempts() int {
	if d.MaxAttempts > 0 {
		return d.MaxAttempts
	}
	return defaultMaxAttempts
}

func (d *Dispatcher) backoff(attempt int) time.Duration {
	if d.Backoff != nil {
		return d.Backoff(attempt)
	}
	return defaultBackoff(attempt)
}

// defaultBackoff returns 10s doubled for each attempt after the first,
// capped at 1h, ±20% at random so that receivers coming back from an
// outage are not hit by every retry at once.
func defaultBackoff(attempt int) time.Duration {
	d := backoffCap
	if shift := attempt - 1; shift < 16 { // 10s<<16 is past the cap
		d = min(backoffBase<<max(shift, 0), backoffCap)
	}
	jitter := (rand.Float64()*0.4 - 0.2) * float64(d)
	return d + time.Duration(jitter)
}

// oneLine returns b as valid UTF-8 on one line, spaces collapsed.
func oneLine(b []byte) string {
	return strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "\uFFFD")), " ")
}

// truncate returns s cut to at most n bytes, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
