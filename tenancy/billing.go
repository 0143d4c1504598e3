package tenancy

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Usage report statuses.
const (
	ReportPending = "pending"
	ReportSent    = "sent"
	ReportSkipped = "skipped" // too old for Stripe (over 35 days); logged, never sent
)

// UsageReport is one hourly roll-up of a tenant's meter reported to Stripe.
type UsageReport struct {
	Identifier string // <tenant_id>:<meter>:<hour_start unix seconds>; unique; the Stripe meter event identifier
	TenantID   string
	Meter      string
	HourStart  time.Time
	Value      int64 // fixed when the row is made, so a resend sends the same value
	Status     string
	Attempts   int
	LastError  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// validReportStatus reports whether s is one of the report statuses.
func validReportStatus(s string) bool {
	return s == ReportPending || s == ReportSent || s == ReportSkipped
}

func (s *sqlStore) RecordBillingEvent(ctx context.Context, id, typ string, payload []byte, receivedAt time.Time) (bool, error) {
	switch {
	case id == "" || typ == "":
		return false, fmt.Errorf("record billing event %q: without id or type", id)
	case !json.Valid(payload):
		// Checked here so both dialects agree (SQLite stores TEXT).
		return false, fmt.Errorf("record billing event %s: payload is not JSON", id)
	}
	if receivedAt.IsZero() {
		receivedAt = time.Now()
	}
	var processed bool
	err := s.db.tx(ctx, func(q querier) error {
		// The payload goes as a string: TEXT in SQLite, raw JSON to pgx.
		_, err := q.exec(ctx, "INSERT INTO billing_events (stripe_event_id, type, payload, received_at) VALUES ($1, $2, $3, $4) ON CONFLICT (stripe_event_id) DO NOTHING",
			id, typ, string(payload), receivedAt)
		if err != nil {
			return err
		}
		var at timeCol
		if err := q.queryRow(ctx, "SELECT processed_at FROM billing_events WHERE stripe_event_id = $1", id).Scan(&at); err != nil {
			return err
		}
		processed = at.Valid
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("record billing event %s: %w", id, err)
	}
	return processed, nil
}

func (s *sqlStore) MarkBillingEventProcessed(ctx context.Context, id string, at time.Time) error {
	if at.IsZero() {
		at = time.Now()
	}
	n, err := s.db.exec(ctx, "UPDATE billing_events SET processed_at = $1 WHERE stripe_event_id = $2", at, id)
	if err != nil {
		return fmt.Errorf("mark billing event %s processed: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("mark billing event %s processed: %w", id, ErrNotFound)
	}
	return nil
}

func (s *sqlStore) UsageReceived(ctx context.Context, tenantID, meter string, from, to time.Time) (int64, error) {
	var sum int64
	err := s.db.queryRow(ctx, "SELECT COALESCE(CAST(SUM(quantity) AS BIGINT), 0) FROM usage_events WHERE tenant_id = $1 AND meter = $2 AND created_at >= $3 AND created_at < $4",
		tenantID, meter, from, to).Scan(&sum)
	if err != nil {
		return 0, fmt.Errorf("%s usage received of tenant %s: %w", meter, tenantID, err)
	}
	return sum, nil
}

const reportColumns = "identifier, tenant_id, meter, hour_start, value, status, attempts, last_error, created_at, updated_at"

func scanReport(row scanner) (UsageReport, error) {
	var r UsageReport
	var hour, created, updated timeCol
	err := row.Scan(&r.Identifier, &r.TenantID, &r.Meter, &hour, &r.Value, &r.Status, &r.Attempts, &r.LastError, &created, &updated)
	r.HourStart, r.CreatedAt, r.UpdatedAt = hour.T, created.T, updated.T
	return r, err
}

func (s *sqlStore) AddUsageReport(ctx context.Context, r UsageReport) (bool, error) {
	if r.Status == "" {
		r.Status = ReportPending
	}
	switch {
	case r.Identifier == "" || r.TenantID == "" || r.Meter == "" || r.HourStart.IsZero():
		return false, fmt.Errorf("add usage report %q: without identifier, tenant, meter or hour", r.Identifier)
	case !validReportStatus(r.Status):
		return false, fmt.Errorf("add usage report %s: unknown status %q", r.Identifier, r.Status)
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = time.Now()
	}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = r.CreatedAt
	}
	added, err := s.db.exec(ctx, "INSERT INTO usage_reports ("+reportColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (identifier) DO NOTHING",
		r.Identifier, r.TenantID, r.Meter, r.HourStart, r.Value, r.Status, r.Attempts, r.LastError, r.CreatedAt, r.UpdatedAt)
	if err != nil {
		return false, fmt.Errorf("add usage report %s: %w", r.Identifier, err)
	}
	return added > 0, nil
}

func (s *sqlStore) LastUsageReport(ctx context.Context, tenantID, meter string) (UsageReport, error) {
	r, err := scanReport(s.db.queryRow(ctx, "SELECT "+reportColumns+" FROM usage_reports WHERE tenant_id = $1 AND meter = $2 ORDER BY hour_start DESC LIMIT 1",
		tenantID, meter))
	if err != nil {
		return UsageReport{}, fmt.Errorf("last %s usage report of tenant %s: %w", meter, tenantID, notFound(err))
	}
	return r, nil
}

func (s *sqlStore) PendingUsageReports(ctx context.Context, limit int) ([]UsageReport, error) {
	rs := []UsageReport{}
	if limit <= 0 {
		return rs, nil
	}
	err := s.db.query(ctx, func(row scanner) error {
		r, err := scanReport(row)
		rs = append(rs, r)
		return err
	}, "SELECT "+reportColumns+" FROM usage_reports WHERE status = $1 ORDER BY hour_start, identifier LIMIT $2", ReportPending, limit)
	if err != nil {
		return nil, fmt.Errorf("pending usage reports: %w", err)
	}
	return rs, nil
}

func (s *sqlStore) UpdateUsageReport(ctx context.Context, r UsageReport) error {
	if !validReportStatus(r.Status) {
		return fmt.Errorf("update usage report %s: unknown status %q", r.Identifier, r.Status)
	}
	n, err := s.db.exec(ctx, "UPDATE usage_reports SET status = $1, attempts = $2, last_error = $3, updated_at = $4 WHERE identifier = $5",
		r.Status, r.Attempts, r.LastError, time.Now(), r.Identifier)
	if err != nil {
		return fmt.Errorf("update usage report %s: %w", r.Identifier, err)
	}
	if n == 0 {
		return fmt.Errorf("update usage report %s: %w", r.Identifier, ErrNotFound)
	}
	return nil
}
