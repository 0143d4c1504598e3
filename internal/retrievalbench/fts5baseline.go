package retrievalbench

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// fts5Index is the FTS5 baseline: the windows in a contentless FTS5
// table with the default unicode61 tokenizer, ranked by bm25().
type fts5Index struct {
	db *sql.DB
}

// newFTS5Index indexes windows in a database file under dir. A window's
// rowid is its index plus one.
func newFTS5Index(ctx context.Context, dir string, windows []window) (*fts5Index, error) {
	file := (&url.URL{Path: filepath.Join(dir, "fts5-windows.db")}).EscapedPath()
	db, err := sql.Open("sqlite", "file:"+file+"?_pragma=journal_mode(OFF)&_pragma=synchronous(OFF)")
	if err != nil {
		return nil, fmt.Errorf("fts5 baseline: %w", err)
	}
	db.SetMaxOpenConns(1)
	if err := loadFTS5(ctx, db, windows); err != nil {
		db.Close()
		return nil, fmt.Errorf("fts5 baseline: %w", err)
	}
	return &fts5Index{db: db}, nil
}

func loadFTS5(ctx context.Context, db *sql.DB, windows []window) error {
	if _, err := db.ExecContext(ctx, `CREATE VIRTUAL TABLE windows USING fts5 (body, content = '', tokenize = 'unicode61')`); err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO windows (rowid, body) VALUES (?, ?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for i := range windows {
		if _, err := stmt.ExecContext(ctx, i+1, windows[i].Text); err != nil {
			return fmt.Errorf("window %s:%d: %w", windows[i].Path, windows[i].StartLine, err)
		}
	}
	return tx.Commit()
}

// fts5Match ORs the terms as quoted strings.
func fts5Match(terms []string) string {
	quoted := make([]string, len(terms))
	for i, t := range terms {
		quoted[i] = `"` + t + `"`
	}
	return strings.Join(quoted, " OR ")
}

func (f *fts5Index) search(ctx context.Context, terms []string, limit int) ([]int, error) {
	if len(terms) == 0 {
		return nil, nil
	}
	rows, err := f.db.QueryContext(ctx, `SELECT rowid FROM windows WHERE windows MATCH ? ORDER BY bm25(windows) LIMIT ?`, fts5Match(terms), limit)
	if err != nil {
		return nil, fmt.Errorf("fts5 search: %w", err)
	}
	defer rows.Close()
	var ids []int
	for rows.Next() {
		var rowid int
		if err := rows.Scan(&rowid); err != nil {
			return nil, fmt.Errorf("fts5 search: %w", err)
		}
		ids = append(ids, rowid-1)
	}
	return ids, rows.Err()
}

func (f *fts5Index) close() error { return f.db.Close() }
