package retrievalbench

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/contextlite/cloud/contextengine"
)

// baseline is plain SQLite FTS5: the engine's chunks, indexed with the
// default unicode61 tokenizer (no identifier splitting), ranked by bm25()
// over all query words OR-ed, packed in rank order.
type baseline struct {
	db *sql.DB
}

type counter interface{ Count(string) int }

func newBaseline(ctx context.Context, dir string, docs []Doc, tokens counter) (*baseline, error) {
	file := (&url.URL{Path: filepath.Join(dir, "baseline.db")}).EscapedPath()
	db, err := sql.Open("sqlite", "file:"+file+"?_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	b := &baseline{db: db}
	if err := b.load(ctx, docs, tokens); err != nil {
		db.Close()
		return nil, fmt.Errorf("baseline: %w", err)
	}
	return b, nil
}

func (b *baseline) load(ctx context.Context, docs []Doc, tokens counter) error {
	if _, err := b.db.ExecContext(ctx, `CREATE TABLE chunks (id INTEGER PRIMARY KEY, path TEXT, start_line INT, end_line INT, tokens INT);
		CREATE VIRTUAL TABLE chunks_fts USING fts5 (body, content = '')`); err != nil {
		return err
	}
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, d := range docs {
		for _, c := range contextengine.ChunkDocument(d.Path, "", d.Text) {
			res, err := tx.ExecContext(ctx, `INSERT INTO chunks (path, start_line, end_line, tokens) VALUES (?, ?, ?, ?)`,
				d.Path, c.StartLine, c.EndLine, tokens.Count(c.Text))
			if err != nil {
				return err
			}
			id, _ := res.LastInsertId()
			if _, err := tx.ExecContext(ctx, `INSERT INTO chunks_fts (rowid, body) VALUES (?, ?)`, id, c.Text); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}

// search returns up to limit chunks in bm25 order.
func (b *baseline) search(ctx context.Context, query string, limit int) ([]Item, error) {
	match := orQuery(query)
	if match == "" {
		return nil, nil
	}
	rows, err := b.db.QueryContext(ctx, `SELECT c.path, c.start_line, c.end_line, c.tokens
		FROM (SELECT rowid, bm25(chunks_fts) AS score FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY score LIMIT ?) m
		JOIN chunks c ON c.id = m.rowid ORDER BY m.score`, match, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var items []Item
	for rows.Next() {
		var it Item
		if err := rows.Scan(&it.Path, &it.StartLine, &it.EndLine, &it.Tokens); err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	return items, rows.Err()
}

// pack keeps items in rank order while they fit the budget.
func pack(items []Item, budget int) []Item {
	var out []Item
	used := 0
	for _, it := range items {
		if used+it.Tokens <= budget {
			out = append(out, it)
			used += it.Tokens
		}
	}
	return out
}

// orQuery quotes each word of query and joins them with OR.
func orQuery(query string) string {
	words := strings.FieldsFunc(query, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	for i, w := range words {
		words[i] = `"` + w + `"`
	}
	return strings.Join(words, " OR ")
}

func (b *baseline) close() error { return b.db.Close() }
