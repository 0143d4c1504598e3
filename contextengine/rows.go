package contextengine

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
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

// bucketKey returns the key of term's bucket row.
func bucketKey(term string) string {
	h := uint32(2166136261) // FNV-1a
	for i := 0; i < len(term); i++ {
		h = (h ^ uint32(term[i])) * 16777619
	}
	const hex = "0123456789abcdef"
	b := h % buckets
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

// rowWriter writes the rows of one segment, in key order: put each term,
// bucket by bucket, then finish.
type rowWriter struct {
	ins    *sql.Stmt
	level  int
	seg    int64
	bucket string // the bucket being filled
	data   []byte // its bucket row so far
	n      int    // postings in it
	buf    []byte
}

func newRowWriter(ctx context.Context, tx *sql.Tx, level int, seg int64) (*rowWriter, error) {
	ins, err := tx.PrepareContext(ctx, `INSERT INTO postings (level, term, seg, n, data) VALUES (?, ?, ?, ?, ?)`)
	if err != nil {
		return nil, fmt.Errorf("prepare postings insert: %w", err)
	}
	return &rowWriter{ins: ins, level: level, seg: seg}, nil
}

func (w *rowWriter) close() { w.ins.Close() }

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
		return w.insert(ownKey(term), len(ps), w.buf)
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
	err := w.insert(w.bucket, w.n, w.data)
	w.data, w.n = w.data[:0], 0
	return err
}

func (w *rowWriter) insert(key string, n int, data []byte) error {
	if _, err := w.ins.Exec(w.level, key, w.seg, n, data); err != nil {
		return fmt.Errorf("insert postings: %w", err)
	}
	return nil
}
