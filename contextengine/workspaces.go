package contextengine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// DefaultWorkspace always exists and cannot be deleted.
const DefaultWorkspace = "default"

// Workspace is a named set of documents with its totals.
type Workspace struct {
	Name         string    `json:"name"`
	Documents    int64     `json:"documents"`
	StorageBytes int64     `json:"storage_bytes"`
	Tokens       int64     `json:"tokens"`
	CreatedAt    time.Time `json:"created_at"`
}

// Stats are a tenant's totals.
type Stats struct {
	Documents    int64       `json:"documents"`
	StorageBytes int64       `json:"storage_bytes"`
	Tokens       int64       `json:"tokens"`
	Workspaces   []Workspace `json:"workspaces"`
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func lookupWorkspace(ctx context.Context, q querier, name string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM workspaces WHERE name = ?`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("%w: %s", ErrWorkspaceMissing, name)
	}
	if err != nil {
		return 0, fmt.Errorf("look up workspace: %w", err)
	}
	return id, nil
}

// CreateWorkspace adds a workspace; ErrWorkspaceExists if it exists, a
// LimitError if the handle's limits allow no more workspaces.
func (t *Tenant) CreateWorkspace(ctx context.Context, name string) error {
	if err := ValidateWorkspace(name); err != nil {
		return err
	}
	return t.db.write(ctx, func(tx *sql.Tx, c *change) error {
		if max := t.limits.Workspaces; max > 0 && t.db.totals.Load().Workspaces >= max {
			return &LimitError{LimitWorkspaces, max}
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO workspaces (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`,
			name, t.db.eng.now().Unix())
		if err != nil {
			return fmt.Errorf("create workspace: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: %s", ErrWorkspaceExists, name)
		}
		c.delta.Workspaces = 1
		return nil
	})
}

// DeleteWorkspace removes a workspace and all its documents.
func (t *Tenant) DeleteWorkspace(ctx context.Context, name string) error {
	if name == DefaultWorkspace {
		return invalid("the default workspace cannot be deleted")
	}
	return t.db.write(ctx, func(tx *sql.Tx, c *change) error {
		var docs, bytes int64
		err := tx.QueryRowContext(ctx, `SELECT count(d.seq), coalesce(sum(d.size_bytes), 0) FROM workspaces w
			LEFT JOIN documents d ON d.workspace_id = w.id WHERE w.name = ?`, name).Scan(&docs, &bytes)
		if err != nil {
			return fmt.Errorf("delete workspace: %w", err)
		}
		err = c.index.deleteChunks(tx.QueryContext(ctx, `SELECT c.id FROM chunks c JOIN documents d ON d.seq = c.doc_seq
			JOIN workspaces w ON w.id = d.workspace_id WHERE w.name = ?`, name))
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM workspaces WHERE name = ?`, name)
		if err != nil {
			return fmt.Errorf("delete workspace: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: %s", ErrWorkspaceMissing, name)
		}
		c.indexed = docs > 0
		c.deleted = docs
		c.delta = Totals{Documents: -docs, Workspaces: -1, StorageBytes: -bytes}
		return nil
	})
}

// loadTotals counts what a tenant stores.
func loadTotals(ctx context.Context, q querier) (Totals, error) {
	var t Totals
	err := q.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM workspaces),
		(SELECT coalesce(sum(size_bytes), 0) FROM documents)`).Scan(&t.Documents, &t.Workspaces, &t.StorageBytes)
	if err != nil {
		return t, fmt.Errorf("count totals: %w", err)
	}
	return t, nil
}

// Workspaces lists the workspaces with their totals, by name.
func (t *Tenant) Workspaces(ctx context.Context) ([]Workspace, error) {
	rows, err := t.db.r.QueryContext(ctx, `SELECT w.name, w.created_at, count(d.seq), coalesce(sum(d.size_bytes), 0), coalesce(sum(d.tokens), 0)
		FROM workspaces w LEFT JOIN documents d ON d.workspace_id = w.id GROUP BY w.id ORDER BY w.name`)
	if err != nil {
		return nil, fmt.Errorf("list workspaces: %w", err)
	}
	defer rows.Close()
	var list []Workspace
	for rows.Next() {
		var w Workspace
		var created int64
		if err := rows.Scan(&w.Name, &created, &w.Documents, &w.StorageBytes, &w.Tokens); err != nil {
			return nil, fmt.Errorf("list workspaces: %w", err)
		}
		w.CreatedAt = time.Unix(created, 0).UTC()
		list = append(list, w)
	}
	return list, rows.Err()
}

// Stats returns the tenant's totals and those of each workspace.
func (t *Tenant) Stats(ctx context.Context) (*Stats, error) {
	ws, err := t.Workspaces(ctx)
	if err != nil {
		return nil, err
	}
	s := &Stats{Workspaces: ws}
	for _, w := range ws {
		s.Documents += w.Documents
		s.StorageBytes += w.StorageBytes
		s.Tokens += w.Tokens
	}
	return s, nil
}
