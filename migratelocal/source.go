package migratelocal

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Source is a local ContextLite database opened read-only.
type Source struct {
	db *sql.DB
}

// Row is one row of the source documents table.
type Row struct {
	RowID     int64
	ID        string
	Content   string
	Path      string
	Lang      string
	MTime     any // as stored: int64, float64 or string; nil when NULL
	CreatedAt time.Time
	UpdatedAt time.Time
}

// OpenSource opens the database at file read-only and checks that it has
// a documents table.
func OpenSource(ctx context.Context, file string) (*Source, error) {
	dsn := (&url.URL{Scheme: "file", Opaque: file, RawQuery: "mode=ro"}).String()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open source %s: %w", file, err)
	}
	s := &Source{db: db}
	ok, err := s.hasTable(ctx, "documents")
	if err == nil && !ok {
		err = fmt.Errorf("no documents table; is this a ContextLite database?")
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open source %s: %w", file, err)
	}
	return s, nil
}

// Close closes the database.
func (s *Source) Close() error { return s.db.Close() }

// hasTable reports whether the database has a table of that name.
func (s *Source) hasTable(ctx context.Context, name string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, name).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look for table %s: %w", name, err)
	}
	return n > 0, nil
}

// Rows calls fn for every row whose rowid is at least from, in rowid
// order, and stops at the first error fn returns.
func (s *Source) Rows(ctx context.Context, from int64, fn func(Row) error) error {
	return s.rows(ctx, from, true, fn)
}

// rows is Rows, leaving Content empty unless withContent.
func (s *Source) rows(ctx context.Context, from int64, withContent bool, fn func(Row) error) error {
	content := "content"
	if !withContent {
		content = "''"
	}
	rows, err := s.db.QueryContext(ctx, `SELECT rowid, id, `+content+`, path, lang, mtime, created_at, updated_at
		FROM documents WHERE rowid >= ? ORDER BY rowid`, from)
	if err != nil {
		return fmt.Errorf("read documents: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			r                                 Row
			id, content, path, lang, cre, upd any
		)
		if err := rows.Scan(&r.RowID, &id, &content, &path, &lang, &r.MTime, &cre, &upd); err != nil {
			return fmt.Errorf("read documents: %w", err)
		}
		r.ID, r.Content, r.Path, r.Lang = text(id), text(content), text(path), text(lang)
		if b, ok := r.MTime.([]byte); ok {
			r.MTime = string(b)
		}
		r.CreatedAt, _ = ParseTimestamp(text(cre))
		r.UpdatedAt, _ = ParseTimestamp(text(upd))
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read documents: %w", err)
	}
	return nil
}

// text converts a scanned SQLite value to a string; NULL is "".
func text(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case []byte:
		return string(v)
	default:
		return fmt.Sprint(v)
	}
}

// Workspaces returns the workspace names of the workspace_weights table,
// made valid for the service and without duplicates, or nothing when the
// table is absent.
func (s *Source) Workspaces(ctx context.Context) ([]string, error) {
	ok, err := s.hasTable(ctx, "workspace_weights")
	if err != nil || !ok {
		return nil, err
	}
	col, err := s.workspaceColumn(ctx)
	if err != nil || col == "" {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT "`+col+`" FROM workspace_weights ORDER BY rowid`)
	if err != nil {
		return nil, fmt.Errorf("read workspace_weights: %w", err)
	}
	defer rows.Close()
	var names []string
	seen := map[string]bool{}
	for rows.Next() {
		var v any
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("read workspace_weights: %w", err)
		}
		if name := WorkspaceName(text(v)); name != "" && !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read workspace_weights: %w", err)
	}
	return names, nil
}

// workspaceColumn returns the column of workspace_weights that names the
// workspace, or "" when there is none.
func (s *Source) workspaceColumn(ctx context.Context) (string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name FROM pragma_table_info('workspace_weights')`)
	if err != nil {
		return "", fmt.Errorf("read workspace_weights columns: %w", err)
	}
	defer rows.Close()
	cols := map[string]bool{}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return "", fmt.Errorf("read workspace_weights columns: %w", err)
		}
		cols[strings.ToLower(c)] = true
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("read workspace_weights columns: %w", err)
	}
	for _, c := range []string{"name", "workspace_name", "workspace", "workspace_path"} {
		if cols[c] {
			return c, nil
		}
	}
	return "", nil
}

// WorkspaceName turns a local workspace name or path into a name the
// service accepts (1-64 letters, digits, '-', '_' or '.', starting with a
// letter or digit), or "" when nothing is left.
func WorkspaceName(s string) string {
	s = strings.TrimRight(strings.ReplaceAll(strings.TrimSpace(s), `\`, "/"), "/")
	if s == "" {
		return ""
	}
	s = path.Base(s)
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			b[i] = '-'
		}
	}
	s = strings.TrimLeft(string(b), "-_.")
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}

// ParseTimestamp parses Go time.Time.String() text, without or with its
// monotonic clock reading (" m=+7.21").
func ParseTimestamp(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, " m="); i >= 0 {
		s = s[:i]
	}
	t, err := time.Parse("2006-01-02 15:04:05.999999999 -0700 MST", s)
	if err != nil {
		if t2, err2 := time.Parse(time.RFC3339Nano, s); err2 == nil {
			return t2, nil
		}
		return time.Time{}, fmt.Errorf("parse timestamp %q: %w", s, err)
	}
	return t, nil
}

// Paths returns the paths a row's path column holds (see the package
// documentation), or "doc-<id>.txt" when it holds none.
func (r Row) Paths() []string {
	raw := strings.TrimSpace(r.Path)
	var list []string
	if strings.HasPrefix(raw, "[") && json.Unmarshal([]byte(raw), &list) == nil {
		// a JSON array
	} else {
		list = strings.Split(strings.ReplaceAll(raw, "\r\n", "\n"), "\n")
	}
	var paths []string
	seen := map[string]bool{}
	for _, p := range list {
		if p = strings.TrimSpace(p); p != "" && !seen[p] {
			seen[p] = true
			paths = append(paths, p)
		}
	}
	if len(paths) == 0 {
		paths = []string{"doc-" + r.ID + ".txt"}
	}
	return paths
}

// Documents expands the row into one document per path, for workspace.
func (r Row) Documents(workspace string) []Document {
	paths := r.Paths()
	docs := make([]Document, len(paths))
	for i, p := range paths {
		meta := map[string]any{"source": "contextlite-local", "original_id": r.ID}
		if r.MTime != nil {
			meta["mtime"] = normalizeMTime(r.MTime)
		}
		if !r.CreatedAt.IsZero() {
			meta["created_at"] = r.CreatedAt.Format(time.RFC3339Nano)
		}
		if !r.UpdatedAt.IsZero() {
			meta["updated_at"] = r.UpdatedAt.Format(time.RFC3339Nano)
		}
		docs[i] = Document{
			Path:      p,
			Content:   r.Content,
			Language:  r.Lang,
			Workspace: workspace,
			Metadata:  meta,
			pos:       Position{RowID: r.RowID, Index: i},
		}
	}
	return docs
}

// normalizeMTime keeps a numeric mtime a number, turns numeric text into
// a number and time.Time.String() text into RFC 3339.
func normalizeMTime(v any) any {
	s, ok := v.(string)
	if !ok {
		return v
	}
	if n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
		return n
	}
	if t, err := ParseTimestamp(s); err == nil {
		return t.Format(time.RFC3339Nano)
	}
	return s
}
