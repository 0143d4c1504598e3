// Package retrievalbench runs a judged retrieval set through the context
// engine, its ablations and two baselines (SQLite FTS5 and Bleve over
// windows of about 2,000 bytes, as the benchmark defines them), and
// scores them all.
package retrievalbench

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Doc is one corpus document.
type Doc struct {
	Path string `json:"path"`
	Text string `json:"text"`
}

// Span is a judged relevant range of lines (1-based, inclusive).
type Span struct {
	Path      string `json:"path"`
	StartLine int    `json:"start_line"`
	EndLine   int    `json:"end_line"`
}

// Query is a judged query.
type Query struct {
	ID       string `json:"qid"`
	Text     string `json:"text"`
	Relevant []Span `json:"relevant"`
}

// Set is a corpus with its queries.
type Set struct {
	Dir     string // where it was loaded from
	Docs    []Doc
	Queries []Query
}

// Load reads corpus.jsonl.gz and queries.jsonl from dir.
func Load(dir string) (*Set, error) {
	s := &Set{Dir: dir}
	f, err := os.Open(filepath.Join(dir, "corpus.jsonl.gz"))
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	if s.Docs, err = readJSONL[Doc](gz); err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	q, err := os.Open(filepath.Join(dir, "queries.jsonl"))
	if err != nil {
		return nil, fmt.Errorf("queries: %w", err)
	}
	defer q.Close()
	if s.Queries, err = readJSONL[Query](q); err != nil {
		return nil, fmt.Errorf("queries: %w", err)
	}
	return s, nil
}

func readJSONL[T any](r io.Reader) ([]T, error) {
	var out []T
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			return nil, fmt.Errorf("line %d: %w", len(out)+1, err)
		}
		out = append(out, v)
	}
	return out, sc.Err()
}
