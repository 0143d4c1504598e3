package billing

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/contextlite/cloud/tenancy"
)

const (
	// stripeMaxAge is how old a meter event's timestamp may be: Stripe
	// refuses timestamps more than 35 days in the past.
	stripeMaxAge = 35 * 24 * time.Hour
	// settleDelay is how long after an hour ends it is rolled up, so that
	// usage batches whose receipt time falls in the hour but whose
	// transaction commits a little later are counted in it.
	settleDelay = 5 * time.Minute
	// maxRollupHours caps the hours one ReportUsage call rolls up per
	// tenant and meter: Stripe's whole window, and one more.
	maxRollupHours = 35*24 + 1
	// reportBatch is how many pending reports are read at a time.
	reportBatch = 100
	// maxSendsPerPass caps the meter events one ReportUsage call sends.
	maxSendsPerPass = 10_000
)

// ReportUsage reports the tenants' usage to Stripe as Billing Meter
// events, one per tenant, meter and UTC hour. It is meant to be called
// about once a minute (Run does).
//
// It first rolls up every hour that has ended since a tenant's last report
// of a meter into a ledger row (tenancy.UsageReport) whose value is the
// usage the control plane received in that hour: events shipped late fall
// in a later hour, so none is lost or counted twice, and the value is
// fixed before anything is sent. It then sends the pending rows, oldest
// first, with the row's identifier as meter-event identifier and
// idempotency key, and marks them sent. A sent row is never sent again,
// which keeps usage from being reported twice even past Stripe's 24-hour
// deduplication. Rows older than Stripe's 35-day window are skipped.
// Tenants without a Stripe customer are left out until they have one.
func (b *Billing) ReportUsage(ctx context.Context) error {
	tenants, err := b.store.Tenants(ctx)
	if err != nil {
		return fmt.Errorf("report usage: list tenants: %w", err)
	}
	rollErr := b.rollUp(ctx, tenants)
	sendErr := b.sendPending(ctx, customersOf(tenants))
	return errors.Join(rollErr, sendErr)
}

// customersOf maps the tenants that have a Stripe customer to it.
func customersOf(tenants []tenancy.Tenant) map[string]string {
	customers := make(map[string]string, len(tenants))
	for _, t := range tenants {
		if t.StripeCustomerID != "" {
			customers[t.ID] = t.StripeCustomerID
		}
	}
	return customers
}

// ReportIdentifier returns the identifier of a tenant's report of meter
// for the hour starting at hourStart: the ledger's key, and the meter
// event's identifier and idempotency key at Stripe.
func ReportIdentifier(tenantID, meter string, hourStart time.Time) string {
	return tenantID + ":" + meter + ":" + strconv.FormatInt(hourStart.Unix(), 10)
}

// rollUp adds the ledger rows of every tenant with a Stripe customer and
// every configured meter. A failing tenant does not stop the others.
func (b *Billing) rollUp(ctx context.Context, tenants []tenancy.Tenant) error {
	now := b.now().UTC()
	meters := slices.Sorted(maps.Keys(b.cfg.MeterEvents))
	var errs []error
	for _, t := range tenants {
		if t.StripeCustomerID == "" || t.Status == tenancy.StatusDeleted {
			continue // deleted tenants' pending rows are still sent
		}
		for _, meter := range meters {
			if err := b.rollUpMeter(ctx, t, meter, now); err != nil {
				if ctx.Err() != nil {
					return err
				}
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// rollUpMeter adds a ledger row for each hour of a tenant's meter that
// has ended (and settled) since the last row, at most maxRollupHours.
// Hours without usage are recorded as sent: nothing to tell Stripe, but
// the ledger stays contiguous.
func (b *Billing) rollUpMeter(ctx context.Context, t tenancy.Tenant, meter string, now time.Time) error {
	start, err := b.firstUnreportedHour(ctx, t, meter, now)
	if err != nil {
		return err
	}
	end := now.Add(-settleDelay).Truncate(time.Hour) // hours starting before it have ended
	for h, n := start, 0; h.Before(end) && n < maxRollupHours; h, n = h.Add(time.Hour), n+1 {
		if err := b.addHourReport(ctx, t.ID, meter, h, now); err != nil {
			return err
		}
	}
	return nil
}

// firstUnreportedHour returns the hour after a tenant's last report of
// meter or, without one, the hour the tenant was created in; never an
// hour older than Stripe accepts.
func (b *Billing) firstUnreportedHour(ctx context.Context, t tenancy.Tenant, meter string, now time.Time) (time.Time, error) {
	oldest := now.Add(-stripeMaxAge)
	if h := oldest.Truncate(time.Hour); h.Before(oldest) {
		oldest = h.Add(time.Hour)
	}
	start := t.CreatedAt.UTC().Truncate(time.Hour)
	last, err := b.store.LastUsageReport(ctx, t.ID, meter)
	switch {
	case err == nil:
		start = last.HourStart.UTC().Add(time.Hour)
		if start.Before(oldest) {
			b.log.Warn("billing: usage older than Stripe's 35-day window is not reported",
				"tenant", t.ID, "meter", meter, "from", start, "to", oldest)
		}
	case !errors.Is(err, tenancy.ErrNotFound):
		return time.Time{}, fmt.Errorf("last %s report of tenant %s: %w", meter, t.ID, err)
	}
	if start.Before(oldest) {
		start = oldest
	}
	return start, nil
}

// addHourReport records the usage of a tenant's meter received in the
// hour starting at h, unless it is recorded already.
func (b *Billing) addHourReport(ctx context.Context, tenantID, meter string, h, now time.Time) error {
	value, err := b.store.UsageReceived(ctx, tenantID, meter, h, h.Add(time.Hour))
	if err != nil {
		return fmt.Errorf("%s usage of tenant %s in hour %s: %w", meter, tenantID, h.Format(time.RFC3339), err)
	}
	r := tenancy.UsageReport{
		Identifier: ReportIdentifier(tenantID, meter, h),
		TenantID:   tenantID,
		Meter:      meter,
		HourStart:  h,
		Value:      value,
		Status:     tenancy.ReportPending,
		CreatedAt:  now,
		UpdatedAt:  now,
	}
	if value == 0 {
		r.Status = tenancy.ReportSent
	}
	if _, err := b.store.AddUsageReport(ctx, r); err != nil {
		return fmt.Errorf("record usage report %s: %w", r.Identifier, err)
	}
	return nil
}

// sendPending sends the pending ledger rows, oldest first, until none is
// left, a failure says Stripe is unavailable, or maxSendsPerPass rows
// were tried. customers maps tenant ids to Stripe customers.
func (b *Billing) sendPending(ctx context.Context, customers map[string]string) error {
	tried := make(map[string]bool) // rows dealt with in this pass, sent or not
	stuck := 0                     // of them, the ones still pending
	for len(tried) < maxSendsPerPass {
		rows, err := b.store.PendingUsageReports(ctx, stuck+reportBatch)
		if err != nil {
			return fmt.Errorf("pending usage reports: %w", err)
		}
		progressed := false
		for _, r := range rows {
			if tried[r.Identifier] {
				continue
			}
			tried[r.Identifier], progressed = true, true
			pending, err := b.settle(ctx, r, customers[r.TenantID])
			if pending {
				stuck++
			}
			if err != nil {
				return err
			}
		}
		if !progressed || len(rows) < stuck+reportBatch {
			return nil
		}
	}
	return nil
}

// settle sends one pending row, or skips it if it is too old, and
// records the outcome. It reports whether the row is still pending, and
// returns an error only when the pass should stop: Stripe is unavailable
// or the ledger cannot be written.
func (b *Billing) settle(ctx context.Context, r tenancy.UsageReport, customer string) (pending bool, err error) {
	now := b.now()
	switch {
	case now.Sub(r.HourStart) > stripeMaxAge:
		b.log.Warn("billing: usage report older than Stripe's 35-day window skipped",
			"report", r.Identifier, "value", r.Value, "attempts", r.Attempts)
		r.Status, r.LastError = tenancy.ReportSkipped, "older than 35 days"
	case customer == "":
		// Rows are made only for tenants with a customer; this one lost it.
		b.log.Warn("billing: usage report of a tenant without a Stripe customer held back", "report", r.Identifier)
		return true, nil
	default:
		err = b.sendReport(ctx, r, customer)
		switch {
		case err == nil:
			r.Status, r.LastError = tenancy.ReportSent, ""
		case isDuplicate(err):
			b.log.Info("billing: Stripe has the usage report already", "report", r.Identifier)
			r.Status, r.LastError = tenancy.ReportSent, ""
		default:
			r.Attempts++
			r.LastError = err.Error()
		}
	}
	r.UpdatedAt = now
	b.cfg.observeReport(r.Status)
	if uerr := b.store.UpdateUsageReport(ctx, r); uerr != nil {
		return r.Status == tenancy.ReportPending, fmt.Errorf("record usage report %s: %w", r.Identifier, uerr)
	}
	if r.Status != tenancy.ReportPending {
		return false, nil
	}
	b.log.Warn("billing: usage report failed; retrying next round", "report", r.Identifier, "attempts", r.Attempts, "error", err)
	if stopsPass(err) {
		return true, err
	}
	return true, nil
}

// sendReport sends r to Stripe as a meter event of customer. The row's
// identifier is both the event's identifier and the request's
// idempotency key, so a retry, by stripe-go or by the next pass, is
// recognized as the same event.
func (b *Billing) sendReport(ctx context.Context, r tenancy.UsageReport, customer string) error {
	name, ok := b.cfg.MeterEvents[r.Meter]
	if !ok {
		return fmt.Errorf("send usage report %s: %w: %s", r.Identifier, errNoMeterEvent, r.Meter)
	}
	params := &stripe.BillingMeterEventParams{
		EventName:  stripe.String(name),
		Identifier: stripe.String(r.Identifier),
		Payload: map[string]string{
			"stripe_customer_id": customer,
			"value":              strconv.FormatInt(r.Value, 10),
		},
		Timestamp: stripe.Int64(r.HourStart.Unix()),
	}
	params.SetIdempotencyKey(r.Identifier)
	params.Context = ctx
	if _, err := b.sc.BillingMeterEvents.New(params); err != nil {
		return fmt.Errorf("send usage report %s: %w", r.Identifier, err)
	}
	return nil
}

// errNoMeterEvent refuses a report of a meter that Config.MeterEvents
// does not name (any longer): a problem of the row, not of Stripe.
var errNoMeterEvent = errors.New("no Stripe meter event is configured for the meter")

// isDuplicate reports whether Stripe refused a meter event because an
// event with its identifier exists already: it was sent before. Stripe
// documents no error code for it; it answers a 400 saying that an event
// with the identifier "already exists".
func isDuplicate(err error) bool {
	var se *stripe.Error
	if !errors.As(err, &se) || se.HTTPStatusCode < 400 || se.HTTPStatusCode >= 500 {
		return false
	}
	if se.Code == stripe.ErrorCodeResourceAlreadyExists {
		return true
	}
	msg := strings.ToLower(se.Msg)
	return strings.Contains(msg, "already exists") && strings.Contains(msg, "identifier")
}

// stopsPass reports whether a failed send means Stripe cannot take any
// report now (network error, timeout, 5xx, rate limit, bad key), so the
// pass stops instead of trying the next rows. Other 4xx concern one row.
func stopsPass(err error) bool {
	if errors.Is(err, errNoMeterEvent) {
		return false
	}
	var se *stripe.Error
	if !errors.As(err, &se) || se.HTTPStatusCode == 0 {
		return true
	}
	switch se.HTTPStatusCode {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests:
		return true
	}
	return se.HTTPStatusCode >= 500
}
