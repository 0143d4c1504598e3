package tenancy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// UsageEvent is one metered quantity of a tenant, shipped from its outbox.
type UsageEvent struct {
	TenantID       string
	Meter          string // queries, tokens, documents_added, documents_deleted, storage_bytes, ...
	Quantity       int64  // may be negative (storage_bytes deltas)
	IdempotencyKey string // unique across all tenants
	OccurredAt     time.Time
}

// check reports what is missing from e.
func (e UsageEvent) check() error {
	switch {
	case e.TenantID == "":
		return errors.New("usage event without a tenant")
	case e.Meter == "":
		return fmt.Errorf("usage event %q without a meter", e.IdempotencyKey)
	case e.IdempotencyKey == "":
		return fmt.Errorf("usage event of tenant %s without an idempotency key", e.TenantID)
	case e.OccurredAt.IsZero():
		return fmt.Errorf("usage event %q without a time", e.IdempotencyKey)
	}
	return nil
}

// UsageDay is what a tenant used of a meter on a UTC day.
type UsageDay struct {
	Day      time.Time // the day's midnight UTC
	Meter    string
	Quantity int64
}

// Notice statuses.
const (
	NoticePending   = "pending"
	NoticeDelivered = "delivered"
	NoticeFailed    = "failed" // gave up after the last attempt
)

// Notice is a usage-threshold notification for a tenant's webhook.
type Notice struct {
	ID          string // deterministic: tenant/meter/period/threshold
	TenantID    string
	Meter       string
	PeriodStart time.Time
	Threshold   int    // percent of the limit: 80 or 100
	Payload     []byte // the JSON body to deliver
	Status      string // NoticePending, NoticeDelivered, NoticeFailed
	Attempts    int
	NextAttempt time.Time
	LastError   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// NoticeID returns the ID of the notice of a tenant's meter crossing
// threshold in the period starting at periodStart (unix seconds).
func NoticeID(tenantID, meter string, periodStart time.Time, threshold int) string {
	return fmt.Sprintf("%s/%s/%d/%d", tenantID, meter, periodStart.Unix(), threshold)
}

// validNoticeStatus reports whether s is one of the notice statuses.
func validNoticeStatus(s string) bool {
	return s == NoticePending || s == NoticeDelivered || s == NoticeFailed
}

// Webhook is where a tenant's notices are delivered and the secret that signs them.
type Webhook struct {
	TenantID  string
	URL       string
	Secret    string // HMAC-SHA256 signing secret (server-side; it must be readable to sign)
	UpdatedAt time.Time
}

// usageChunk is the most events one INSERT carries (5 parameters each).
// SQLite looks numbered parameters up by name, in time quadratic in their
// number, so a 500-event batch goes in 5 statements, not 1.
const usageChunk = 100

func (s *sqlStore) AddUsage(ctx context.Context, events []UsageEvent) (int, error) {
	if len(events) == 0 {
		return 0, nil
	}
	for _, e := range events {
		if err := e.check(); err != nil {
			return 0, fmt.Errorf("add usage: %w", err)
		}
	}
	now := time.Now()
	var added int
	err := s.db.tx(ctx, func(q querier) error {
		added = 0
		days := make(map[dayKey]int64)
		for chunk := range slices.Chunk(events, usageChunk) {
			stored, err := insertUsage(ctx, q, chunk, now)
			if err != nil {
				return err
			}
			for _, e := range chunk {
				// A key twice in a chunk was stored once, the first time.
				if stored[e.IdempotencyKey] {
					delete(stored, e.IdempotencyKey)
					days[dayKey{e.TenantID, utcDay(e.OccurredAt), e.Meter}] += e.Quantity
					added++
				}
			}
		}
		return addDailyUsage(ctx, q, days)
	})
	if err != nil {
		return 0, fmt.Errorf("add %d usage events: %w", len(events), err)
	}
	return added, nil
}

// insertUsage stores events created at now, skipping the idempotency
// keys stored already, and returns the keys it stored.
func insertUsage(ctx context.Context, q querier, events []UsageEvent, now time.Time) (map[string]bool, error) {
	stmt, args := usageInsert(events, now)
	stored := make(map[string]bool, len(events))
	err := q.query(ctx, func(row scanner) error {
		var key string
		err := row.Scan(&key)
		stored[key] = true
		return err
	}, stmt+" RETURNING idempotency_key", args...)
	return stored, err
}

// dayKey is a row of usage_daily: a tenant's meter on a UTC day.
type dayKey struct {
	tenantID string
	day      time.Time
	meter    string
}

// addDailyUsage adds sums to usage_daily in the order of their keys, so
// concurrent transactions lock rows in one order.
func addDailyUsage(ctx context.Context, q querier, sums map[dayKey]int64) error {
	keys := slices.SortedFunc(maps.Keys(sums), func(a, b dayKey) int {
		return cmp.Or(strings.Compare(a.tenantID, b.tenantID), a.day.Compare(b.day), strings.Compare(a.meter, b.meter))
	})
	for chunk := range slices.Chunk(keys, usageChunk) {
		var b strings.Builder
		b.WriteString("INSERT INTO usage_daily (tenant_id, meter, day, quantity) VALUES ")
		args := make([]any, 0, 4*len(chunk))
		for i, k := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			n := len(args)
			fmt.Fprintf(&b, "($%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4)
			args = append(args, k.tenantID, k.meter, k.day, sums[k])
		}
		b.WriteString(" ON CONFLICT (tenant_id, day, meter) DO UPDATE SET quantity = usage_daily.quantity + excluded.quantity")
		if _, err := q.exec(ctx, b.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// utcDay returns the midnight UTC that starts t's day.
func utcDay(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }

// usageInsert builds one multi-row INSERT of events, created at now ($1),
// that skips the idempotency keys stored already.
func usageInsert(events []UsageEvent, now time.Time) (string, []any) {
	var b strings.Builder
	b.WriteString("INSERT INTO usage_events (tenant_id, meter, quantity, idempotency_key, occurred_at, created_at) VALUES ")
	args := make([]any, 1, 1+5*len(events))
	args[0] = now
	for i, e := range events {
		if i > 0 {
			b.WriteString(", ")
		}
		n := len(args)
		fmt.Fprintf(&b, "($%d, $%d, $%d, $%d, $%d, $1)", n+1, n+2, n+3, n+4, n+5)
		args = append(args, e.TenantID, e.Meter, e.Quantity, e.IdempotencyKey, e.OccurredAt)
	}
	b.WriteString(" ON CONFLICT (idempotency_key) DO NOTHING")
	return b.String(), args
}

func (s *sqlStore) UsageTotals(ctx context.Context, tenantID string, from, to time.Time) (map[string]int64, error) {
	totals := make(map[string]int64)
	err := s.db.query(ctx, func(row scanner) error {
		var meter string
		var sum int64
		err := row.Scan(&meter, &sum)
		totals[meter] = sum
		return err
	}, "SELECT meter, CAST(SUM(quantity) AS BIGINT) FROM usage_events WHERE tenant_id = $1 AND occurred_at >= $2 AND occurred_at < $3 GROUP BY meter",
		tenantID, from, to)
	if err != nil {
		return nil, fmt.Errorf("usage totals of tenant %s: %w", tenantID, err)
	}
	return totals, nil
}

func (s *sqlStore) DailyUsage(ctx context.Context, tenantID string, from, to time.Time) ([]UsageDay, error) {
	days := []UsageDay{}
	err := s.db.query(ctx, func(row scanner) error {
		var d UsageDay
		var day timeCol
		err := row.Scan(&day, &d.Meter, &d.Quantity)
		d.Day = day.T
		days = append(days, d)
		return err
	}, "SELECT day, meter, quantity FROM usage_daily WHERE tenant_id = $1 AND day >= $2 AND day <= $3 ORDER BY day, meter",
		tenantID, utcDay(from), utcDay(to))
	if err != nil {
		return nil, fmt.Errorf("daily usage of tenant %s: %w", tenantID, err)
	}
	return days, nil
}

const noticeColumns = "id, tenant_id, meter, period_start, threshold, payload, status, attempts, next_attempt, last_error, created_at, updated_at"

func scanNotice(row scanner) (Notice, error) {
	var n Notice
	var period, next, created, updated timeCol
	err := row.Scan(&n.ID, &n.TenantID, &n.Meter, &period, &n.Threshold, &n.Payload, &n.Status,
		&n.Attempts, &next, &n.LastError, &created, &updated)
	n.PeriodStart, n.NextAttempt, n.CreatedAt, n.UpdatedAt = period.T, next.T, created.T, updated.T
	return n, err
}

func (s *sqlStore) AddNotice(ctx context.Context, n Notice) (bool, error) {
	if n.ID == "" {
		n.ID = NoticeID(n.TenantID, n.Meter, n.PeriodStart, n.Threshold)
	}
	if n.CreatedAt.IsZero() {
		n.CreatedAt = time.Now()
	}
	if n.UpdatedAt.IsZero() {
		n.UpdatedAt = n.CreatedAt
	}
	if n.NextAttempt.IsZero() {
		n.NextAttempt = n.CreatedAt
	}
	if n.Payload == nil {
		n.Payload = []byte{}
	}
	added, err := s.db.exec(ctx, "INSERT INTO usage_notices ("+noticeColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING",
		n.ID, n.TenantID, n.Meter, n.PeriodStart, n.Threshold, n.Payload, NoticePending,
		n.Attempts, n.NextAttempt, n.LastError, n.CreatedAt, n.UpdatedAt)
	if err != nil {
		return false, fmt.Errorf("add notice %s: %w", n.ID, err)
	}
	return added > 0, nil
}

func (s *sqlStore) DueNotices(ctx context.Context, now time.Time, limit int) ([]Notice, error) {
	if limit <= 0 {
		return []Notice{}, nil
	}
	return s.notices(ctx, "due notices", "WHERE status = $1 AND next_attempt <= $2 ORDER BY created_at, id LIMIT $3",
		NoticePending, now, limit)
}

func (s *sqlStore) Notices(ctx context.Context, tenantID string, periodStart time.Time) ([]Notice, error) {
	return s.notices(ctx, "notices of tenant "+tenantID, "WHERE tenant_id = $1 AND period_start = $2 ORDER BY created_at, id",
		tenantID, periodStart)
}

// notices returns the notices that the clause (WHERE ... ORDER BY ...)
// selects; never nil.
func (s *sqlStore) notices(ctx context.Context, what, clause string, args ...any) ([]Notice, error) {
	ns := []Notice{}
	err := s.db.query(ctx, func(row scanner) error {
		n, err := scanNotice(row)
		ns = append(ns, n)
		return err
	}, "SELECT "+noticeColumns+" FROM usage_notices "+clause, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return ns, nil
}

func (s *sqlStore) UpdateNotice(ctx context.Context, n Notice) error {
	if !validNoticeStatus(n.Status) {
		return fmt.Errorf("update notice %s: unknown status %q", n.ID, n.Status)
	}
	now := time.Now()
	if n.Status == NoticePending && n.NextAttempt.IsZero() {
		n.NextAttempt = now
	}
	updated, err := s.db.exec(ctx, "UPDATE usage_notices SET status = $1, attempts = $2, next_attempt = $3, last_error = $4, updated_at = $5 WHERE id = $6",
		n.Status, n.Attempts, nullTime(n.NextAttempt), n.LastError, now, n.ID)
	if err != nil {
		return fmt.Errorf("update notice %s: %w", n.ID, err)
	}
	if updated == 0 {
		return fmt.Errorf("update notice %s: %w", n.ID, ErrNotFound)
	}
	return nil
}

func (s *sqlStore) SetWebhook(ctx context.Context, w Webhook) error {
	if w.UpdatedAt.IsZero() {
		w.UpdatedAt = time.Now()
	}
	// The WHERE makes an unknown tenant insert nothing, rather than fail
	// the foreign key in each dialect's own way.
	n, err := s.db.exec(ctx, `INSERT INTO tenant_webhooks (tenant_id, url, secret, updated_at)
		SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM tenants WHERE id = $1)
		ON CONFLICT (tenant_id) DO UPDATE SET url = excluded.url, secret = excluded.secret, updated_at = excluded.updated_at`,
		w.TenantID, w.URL, w.Secret, w.UpdatedAt)
	if err != nil {
		return fmt.Errorf("set webhook of tenant %s: %w", w.TenantID, err)
	}
	if n == 0 {
		return fmt.Errorf("set webhook of tenant %s: %w", w.TenantID, ErrNotFound)
	}
	return nil
}

func (s *sqlStore) Webhook(ctx context.Context, tenantID string) (Webhook, error) {
	var w Webhook
	var updated timeCol
	err := s.db.queryRow(ctx, "SELECT tenant_id, url, secret, updated_at FROM tenant_webhooks WHERE tenant_id = $1", tenantID).
		Scan(&w.TenantID, &w.URL, &w.Secret, &updated)
	if err != nil {
		return Webhook{}, fmt.Errorf("webhook of tenant %s: %w", tenantID, notFound(err))
	}
	w.UpdatedAt = updated.T
	return w, nil
}

func (s *sqlStore) DeleteWebhook(ctx context.Context, tenantID string) error {
	n, err := s.db.exec(ctx, "DELETE FROM tenant_webhooks WHERE tenant_id = $1", tenantID)
	if err != nil {
		return fmt.Errorf("delete webhook of tenant %s: %w", tenantID, err)
	}
	if n == 0 {
		return fmt.Errorf("delete webhook of tenant %s: %w", tenantID, ErrNotFound)
	}
	return nil
}

// PruneUsage deletes a tenant's usage events that occurred before before,
// and its notices and audit entries created before before, in one
// transaction; it returns how many rows went. The daily sums of the days
// before before's go too, uncounted: they are the events' summary. Stripe
// usage reports (the roll-ups) are kept.
func (s *sqlStore) PruneUsage(ctx context.Context, tenantID string, before time.Time) (int64, error) {
	var total int64
	err := s.db.tx(ctx, func(q querier) error {
		total = 0
		if _, err := q.exec(ctx, "DELETE FROM usage_daily WHERE tenant_id = $1 AND day < $2", tenantID, utcDay(before)); err != nil {
			return err
		}
		for _, stmt := range []string{
			"DELETE FROM usage_events WHERE tenant_id = $1 AND occurred_at < $2",
			"DELETE FROM usage_notices WHERE tenant_id = $1 AND created_at < $2",
			"DELETE FROM audit_events WHERE tenant_id = $1 AND created_at < $2",
		} {
			n, err := q.exec(ctx, stmt, tenantID, before)
			if err != nil {
				return err
			}
			total += n
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("prune usage of tenant %s: %w", tenantID, err)
	}
	return total, nil
}
