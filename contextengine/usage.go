package contextengine

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Meters the engine records in a tenant's usage outbox.
const (
	MeterQueries          = "queries"           // search and assemble calls
	MeterTokens           = "tokens"            // tokens returned by them
	MeterDocumentsAdded   = "documents_added"   // documents created
	MeterDocumentsDeleted = "documents_deleted" // documents removed, workspaces' included
	MeterStorageBytes     = "storage_bytes"     // change in stored bytes
)

// UsageEvent is one metered quantity in a tenant's outbox.
type UsageEvent struct {
	Seq      int64 // outbox position
	ID       string
	Meter    string
	Quantity int64
	At       time.Time
}

// Totals are what a tenant stores now.
type Totals struct {
	Documents    int64 `json:"documents"`
	Workspaces   int64 `json:"workspaces"`
	StorageBytes int64 `json:"storage_bytes"`
}

// Limits bound what a tenant may store; zero fields are unlimited.
type Limits struct {
	Documents    int64
	Workspaces   int64
	StorageBytes int64
}

// Limit names, as LimitError reports them.
const (
	LimitDocuments    = "documents"
	LimitWorkspaces   = "workspaces"
	LimitStorageBytes = "storage_bytes"
)

// ErrLimitReached matches every LimitError.
var ErrLimitReached = errors.New("limit reached")

// LimitError reports a write refused because it would take the tenant
// past one of its Limits.
type LimitError struct {
	Limit string // LimitDocuments, LimitWorkspaces or LimitStorageBytes
	Max   int64
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("the %s limit of %d is reached", e.Limit, e.Max)
}

// Is makes errors.Is(err, ErrLimitReached) true.
func (e *LimitError) Is(target error) bool { return target == ErrLimitReached }

// UsageHook receives the events of each committed write, in commit order,
// with the tenant's totals after it. It runs while the tenant's writes
// wait, so it must be quick and must not write to the engine.
type UsageHook func(tenantID string, events []UsageEvent, totals Totals)

// change is what a write transaction did.
type change struct {
	indexed bool         // changed searchable data: cached results are stale
	delta   Totals       // effect on the totals
	added   int64        // documents created
	deleted int64        // documents removed
	extra   []UsageEvent // events the write put in the outbox itself
	index   indexChange  // chunks added and removed
}

// fits returns a LimitError if adding docs documents and bytes bytes to
// the totals after c would pass limits.
func (c *change) fits(base Totals, limits Limits, docs, bytes int64) error {
	if limits.Documents > 0 && docs > 0 && base.Documents+c.delta.Documents+docs > limits.Documents {
		return &LimitError{LimitDocuments, limits.Documents}
	}
	if limits.StorageBytes > 0 && bytes > 0 && base.StorageBytes+c.delta.StorageBytes+bytes > limits.StorageBytes {
		return &LimitError{LimitStorageBytes, limits.StorageBytes}
	}
	return nil
}

// events returns the usage events c makes, at at.
func (c *change) events(at time.Time) []UsageEvent {
	var evs []UsageEvent
	add := func(meter string, n int64) {
		if n != 0 {
			evs = append(evs, UsageEvent{ID: "w:" + randomHex() + "/" + meter, Meter: meter, Quantity: n, At: at})
		}
	}
	add(MeterDocumentsAdded, c.added)
	add(MeterDocumentsDeleted, c.deleted)
	add(MeterStorageBytes, c.delta.StorageBytes)
	return evs
}

func randomHex() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// insertEvents adds evs to the outbox, skipping ids it holds already, and
// returns those it added.
func insertEvents(ctx context.Context, tx *sql.Tx, evs []UsageEvent) ([]UsageEvent, error) {
	added := evs[:0:0]
	for _, ev := range evs {
		err := tx.QueryRowContext(ctx, `INSERT INTO usage_outbox (event_id, meter, quantity, occurred_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (event_id) DO NOTHING RETURNING seq`, ev.ID, ev.Meter, ev.Quantity, ev.At.UnixNano()).Scan(&ev.Seq)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("record usage: %w", err)
		}
		added = append(added, ev)
	}
	return added, nil
}

// SetLimits bounds what writes through this handle may store.
func (t *Tenant) SetLimits(l Limits) { t.limits = l }

// Totals returns what the tenant stores now.
func (t *Tenant) Totals() Totals { return *t.db.totals.Load() }

// RecordQuery records one query that returned tokens tokens, under the
// name request: recording the same request again (a client's retry)
// records nothing. It reports whether it recorded the query.
func (t *Tenant) RecordQuery(ctx context.Context, request string, tokens int) (bool, error) {
	if request == "" {
		request = randomHex()
	}
	at := t.db.eng.now()
	evs := []UsageEvent{{ID: "q:" + request + "/" + MeterQueries, Meter: MeterQueries, Quantity: 1, At: at}}
	if tokens > 0 {
		evs = append(evs, UsageEvent{ID: "q:" + request + "/" + MeterTokens, Meter: MeterTokens, Quantity: int64(tokens), At: at})
	}
	var recorded bool
	err := t.db.write(ctx, func(tx *sql.Tx, c *change) error {
		added, err := insertEvents(ctx, tx, evs)
		recorded = len(added) > 0
		c.extra = added
		return err
	})
	return recorded, err
}

// Unshipped returns up to limit events not yet marked shipped, oldest first.
func (t *Tenant) Unshipped(ctx context.Context, limit int) ([]UsageEvent, error) {
	rows, err := t.db.r.QueryContext(ctx, `SELECT seq, event_id, meter, quantity, occurred_at FROM usage_outbox
		WHERE shipped_at IS NULL ORDER BY seq LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("tenant %s: read outbox: %w", t.db.id, err)
	}
	defer rows.Close()
	var evs []UsageEvent
	for rows.Next() {
		var ev UsageEvent
		var at int64
		if err := rows.Scan(&ev.Seq, &ev.ID, &ev.Meter, &ev.Quantity, &at); err != nil {
			return nil, fmt.Errorf("tenant %s: read outbox: %w", t.db.id, err)
		}
		ev.At = time.Unix(0, at).UTC()
		evs = append(evs, ev)
	}
	return evs, rows.Err()
}

// MarkShipped records the events at seqs as shipped at at.
func (t *Tenant) MarkShipped(ctx context.Context, seqs []int64, at time.Time) error {
	if len(seqs) == 0 {
		return nil
	}
	args := make([]any, 0, len(seqs)+1)
	args = append(args, at.UnixNano())
	for _, s := range seqs {
		args = append(args, s)
	}
	q := `UPDATE usage_outbox SET shipped_at = ? WHERE seq IN (?` + strings.Repeat(", ?", len(seqs)-1) + `)`
	return t.db.write(ctx, func(tx *sql.Tx, _ *change) error {
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("mark usage shipped: %w", err)
		}
		return nil
	})
}

// UsageSince sums, per meter, the events that occurred at or after since
// (only those not yet shipped when unshipped is set), and returns the
// last outbox position they cover: events past it came later.
func (t *Tenant) UsageSince(ctx context.Context, since time.Time, unshipped bool) (map[string]int64, int64, error) {
	tx, err := t.db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, fmt.Errorf("tenant %s: sum usage: %w", t.db.id, err)
	}
	defer tx.Rollback()
	var last int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM usage_outbox`).Scan(&last); err != nil {
		return nil, 0, fmt.Errorf("tenant %s: sum usage: %w", t.db.id, err)
	}
	q := `SELECT meter, sum(quantity) FROM usage_outbox WHERE occurred_at >= ? AND seq <= ?`
	if unshipped {
		q += ` AND shipped_at IS NULL`
	}
	rows, err := tx.QueryContext(ctx, q+` GROUP BY meter`, since.UnixNano(), last)
	if err != nil {
		return nil, 0, fmt.Errorf("tenant %s: sum usage: %w", t.db.id, err)
	}
	defer rows.Close()
	sums := make(map[string]int64)
	for rows.Next() {
		var meter string
		var n int64
		if err := rows.Scan(&meter, &n); err != nil {
			return nil, 0, fmt.Errorf("tenant %s: sum usage: %w", t.db.id, err)
		}
		sums[meter] = n
	}
	return sums, last, rows.Err()
}

// PruneOutbox deletes shipped events that occurred before before.
func (t *Tenant) PruneOutbox(ctx context.Context, before time.Time) error {
	return t.db.write(ctx, func(tx *sql.Tx, _ *change) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM usage_outbox WHERE shipped_at IS NOT NULL AND occurred_at < ?`, before.UnixNano()); err != nil {
			return fmt.Errorf("prune outbox: %w", err)
		}
		return nil
	})
}
