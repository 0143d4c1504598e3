package contextengine

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Row layout of a segment's postings. Rows are keyed by the term's hash
// bucket: a bucket row (key: the bucket) holds the terms with fewer than
// ownRowPostings postings, each as its length-prefixed name, count and
// encoded postings; a term with more has its own row (key: the bucket,
// ownRowMark, the term). A bucket's rows are adjacent in key order.
const (
	buckets        = 1024
	ownRowPostings = 32
	ownRowMark     = "\x01"
)

// bucketOf returns term's bucket.
func bucketOf(term string) uint32 {
	h := uint32(2166136261) // FNV-1a
	for i := 0; i < len(term); i++ {
		h = (h ^ uint32(term[i])) * 16777619
	}
	return h % buckets
}

// bucketKey returns the key of term's bucket row.
func bucketKey(term string) string { return formatBucket(bucketOf(term)) }

func formatBucket(b uint32) string {
	const hex = "0123456789abcdef"
	return string([]byte{hex[b>>8&0xf], hex[b>>4&0xf], hex[b&0xf]})
}

// ownKey returns the key of term's own row.
func ownKey(term string) string { return bucketKey(term) + ownRowMark + term }

// keyBucket returns the bucket of a row key.
func keyBucket(key string) string {
	b, _, _ := strings.Cut(key, ownRowMark)
	return b
}

// eachTerm calls fn with each term a row holds (valid during the call),
// its posting count (-1 in an own row: see the n column) and its encoded
// postings.
func eachTerm(key string, data []byte, fn func(term []byte, n int, postings []byte) error) error {
	if _, term, own := strings.Cut(key, ownRowMark); own {
		return fn([]byte(term), -1, data)
	}
	for len(data) > 0 {
		var fields [3]uint64
		var term []byte
		for i := range fields {
			v, n := binary.Uvarint(data)
			if n <= 0 || (i != 1 && v > uint64(len(data)-n)) {
				return errors.New("corrupt postings bucket")
			}
			data = data[n:]
			fields[i] = v
			if i == 0 {
				term, data = data[:v], data[v:]
			}
		}
		postings := data[:fields[2]]
		data = data[fields[2]:]
		if err := fn(term, int(fields[1]), postings); err != nil {
			return err
		}
	}
	return nil
}

// rowWriter encodes the rows of one segment, in key order: put each term,
// bucket by bucket, then finish. Each row goes to emit, which may keep
// only its key.
type rowWriter struct {
	emit   func(key string, n int, data []byte) error
	bucket string // the bucket being filled
	data   []byte // its bucket row so far
	n      int    // postings in it
	buf    []byte
}

// segmentRows inserts the rows of segment seg at level.
type segmentRows struct {
	ins   *sql.Stmt
	level int
	seg   int64
}

func newSegmentRows(ctx context.Context, tx *sql.Tx, level int, seg int64) (*segmentRows, error) {
	ins, err := tx.PrepareContext(ctx, `INSERT INTO postings (level, term, seg, n, data) VALUES (?, ?, ?, ?, ?)`)
	if err != nil {
		return nil, fmt.Errorf("prepare postings insert: %w", err)
	}
	return &segmentRows{ins: ins, level: level, seg: seg}, nil
}

func (r *segmentRows) close() { r.ins.Close() }

// insert stores one row.
func (r *segmentRows) insert(key string, n int, data []byte) error {
	if _, err := r.ins.Exec(r.level, key, r.seg, n, data); err != nil {
		return fmt.Errorf("insert postings: %w", err)
	}
	return nil
}

// encodedRow is a row encoded ahead of its insert.
type encodedRow struct {
	key  string
	n    int
	data []byte
}

// encodeRows encodes the postings of terms, sorted by bucket and term.
func encodeRows(terms []string, postings map[string][]posting) ([]encodedRow, error) {
	var rows []encodedRow
	w := &rowWriter{emit: func(key string, n int, data []byte) error {
		rows = append(rows, encodedRow{key, n, slices.Clone(data)})
		return nil
	}}
	for _, term := range terms {
		ps := postings[term]
		slices.SortFunc(ps, func(a, b posting) int { return cmp.Compare(a.id, b.id) })
		if err := w.put(term, ps); err != nil {
			return nil, err
		}
	}
	return rows, w.finish()
}

// put writes term's postings, sorted by id. Terms come in bucket order.
func (w *rowWriter) put(term string, ps []posting) error {
	if len(ps) == 0 {
		return nil
	}
	if b := bucketKey(term); b != w.bucket {
		if err := w.finish(); err != nil {
			return err
		}
		w.bucket = b
	}
	w.buf = appendPostings(w.buf[:0], ps)
	if len(ps) >= ownRowPostings {
		return w.emit(ownKey(term), len(ps), w.buf)
	}
	w.data = appendBucketEntry(w.data, term, len(ps), w.buf)
	w.n += len(ps)
	return nil
}

// appendBucketEntry encodes a term of a bucket row: its name, its posting
// count and its encoded postings, each length-prefixed.
func appendBucketEntry(dst []byte, term string, n int, postings []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(term)))
	dst = append(dst, term...)
	dst = binary.AppendUvarint(dst, uint64(n))
	dst = binary.AppendUvarint(dst, uint64(len(postings)))
	return append(dst, postings...)
}

// finish writes the bucket row being filled, if any.
func (w *rowWriter) finish() error {
	if len(w.data) == 0 {
		return nil
	}
	err := w.emit(w.bucket, w.n, w.data)
	w.data, w.n = w.data[:0], 0
	return err
}
