package contextengine

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// The inverted index lives in the tenant's own database, as an LSM of
// segments: each write transaction adds one segment at level 0, and once
// mergeFanout segments share a level they are merged into one segment a
// level up, dropping postings of chunks that no longer exist. In a
// segment, a term with many postings has a row of its own and the others
// share a row with the terms of their hash bucket (see rows.go), so a
// write stores a few rows per bucket rather than one per term. A query
// reads a few rows per term, so its cost follows the postings it scores,
// not the size of the tenant.
const mergeFanout = 8

// Postings of document paths are keyed by document, in the same table
// under terms with this prefix.
const pathTermPrefix = "/"

// posting is one chunk (or, for path terms, one document) and how often
// the term occurs in it.
type posting struct {
	id uint32
	tf uint32
}

// appendPostings encodes postings sorted by id as varint id deltas and
// frequencies.
func appendPostings(dst []byte, ps []posting) []byte {
	prev := uint32(0)
	for _, p := range ps {
		dst = binary.AppendUvarint(dst, uint64(p.id-prev))
		dst = binary.AppendUvarint(dst, uint64(p.tf))
		prev = p.id
	}
	return dst
}

// decodePostings calls fn for each posting of data, in id order.
func decodePostings(data []byte, fn func(id, tf uint32)) error {
	id := uint32(0)
	for len(data) > 0 {
		d, n := binary.Uvarint(data)
		if n <= 0 {
			return errors.New("corrupt postings")
		}
		data = data[n:]
		tf, n := binary.Uvarint(data)
		if n <= 0 {
			return errors.New("corrupt postings")
		}
		data = data[n:]
		id += uint32(d)
		fn(id, uint32(tf))
	}
	return nil
}

// segmentBuilder collects the postings of one write transaction.
type segmentBuilder struct {
	terms map[string][]posting
}

func (b *segmentBuilder) add(term string, id, tf uint32) {
	if b.terms == nil {
		b.terms = make(map[string][]posting)
	}
	b.terms[term] = append(b.terms[term], posting{id, tf})
}

// addBag adds one posting per term of bag, with its count.
func (b *segmentBuilder) addBag(bag termBag, id uint32, prefix string) {
	for i, t := range bag.terms {
		b.add(prefix+t, id, bag.counts[i])
	}
}

// flush writes the collected postings as a new level-0 segment and merges
// full levels. seg is the segment's number, unique in the tenant.
func (b *segmentBuilder) flush(ctx context.Context, tx *sql.Tx, seg int64) error {
	if len(b.terms) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO segments (seg, level) VALUES (?, 0)`, seg); err != nil {
		return fmt.Errorf("add segment: %w", err)
	}
	out, err := newSegmentRows(ctx, tx, 0, seg)
	if err != nil {
		return err
	}
	defer out.close()
	for _, rows := range b.encode() {
		for _, r := range rows {
			if err := out.insert(r.key, r.n, r.data); err != nil {
				return err
			}
		}
	}
	return nil
}

// encodeShards is how many goroutines encode a segment, each a range of
// buckets, while the writer waits.
const encodeShards = 2

// encode sorts and encodes the builder's postings into rows, in key order
// across the returned shards.
func (b *segmentBuilder) encode() [][]encodedRow {
	shards := make([][]string, encodeShards)
	for term := range b.terms {
		i := int(bucketOf(term)) * encodeShards / buckets
		shards[i] = append(shards[i], term)
	}
	rows := make([][]encodedRow, encodeShards)
	var wg sync.WaitGroup
	for i := range shards {
		wg.Go(func() {
			sortTerms(shards[i])
			rows[i], _ = encodeRows(shards[i], b.terms) // encoding into memory cannot fail
		})
	}
	wg.Wait()
	return rows
}

// sortedTerms returns the terms of m in row order: by bucket, then term.
func sortedTerms(m map[string][]posting) []string {
	keys := make([]string, 0, len(m))
	for term := range m {
		keys = append(keys, term)
	}
	sortTerms(keys)
	return keys
}

// sortTerms sorts terms in row order: by bucket, then term.
func sortTerms(terms []string) {
	type keyed struct {
		bucket uint32
		term   string
	}
	keys := make([]keyed, len(terms))
	for i, t := range terms {
		keys[i] = keyed{bucketOf(t), t}
	}
	slices.SortFunc(keys, func(a, b keyed) int {
		return cmp.Or(cmp.Compare(a.bucket, b.bucket), cmp.Compare(a.term, b.term))
	})
	for i, k := range keys {
		terms[i] = k.term
	}
}

// mergeFull merges every level of ix's segments holding mergeFanout
// segments into one segment a level up, cascading upwards, and drops the
// postings ix no longer holds. Callers hold the tenant's write lock, and
// ix reflects everything tx has written.
func mergeFull(ctx context.Context, tx *sql.Tx, ix *index) error {
	seg := ix.nextSeg
	for level := 0; ; level++ {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM segments WHERE level = ?`, level).Scan(&n); err != nil {
			return fmt.Errorf("count segments: %w", err)
		}
		if n < mergeFanout {
			return nil
		}
		ix.nextSeg = seg + 1 // even if tx rolls back: numbers may skip
		if err := mergeLevel(ctx, tx, level, seg, ix.alive); err != nil {
			return fmt.Errorf("merge level %d: %w", level, err)
		}
	}
}

// aliveFunc returns, for a term, which of its postings are alive.
type aliveFunc func(term string) func(id uint32) bool

// mergeLevel rewrites the segments of level as one segment numbered seg at
// level+1, keeping only postings alive reports. Rows come in key order,
// so one bucket at a time is held in memory.
func mergeLevel(ctx context.Context, tx *sql.Tx, level int, seg int64, alive aliveFunc) error {
	rows, err := tx.QueryContext(ctx, `SELECT term, data FROM postings WHERE level = ? ORDER BY term, seg`, level)
	if err != nil {
		return err
	}
	defer rows.Close()
	out, err := newSegmentRows(ctx, tx, level+1, seg)
	if err != nil {
		return err
	}
	defer out.close()
	w := &rowWriter{emit: out.insert}
	bucket := ""
	terms := make(map[string][]posting)
	writeBucket := func() error {
		for _, term := range sortedTerms(terms) {
			ps := terms[term]
			slices.SortFunc(ps, func(a, b posting) int { return cmp.Compare(a.id, b.id) })
			if err := w.put(term, ps); err != nil {
				return err
			}
		}
		clear(terms)
		return nil
	}
	for rows.Next() {
		var key string
		var data []byte
		if err := rows.Scan(&key, &data); err != nil {
			return err
		}
		if b := keyBucket(key); b != bucket {
			if err := writeBucket(); err != nil {
				return err
			}
			bucket = b
		}
		err := eachTerm(key, data, func(b []byte, _ int, data []byte) error {
			term := string(b)
			keep := alive(term)
			return decodePostings(data, func(id, tf uint32) {
				if keep(id) {
					terms[term] = append(terms[term], posting{id, tf})
				}
			})
		})
		if err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if err := writeBucket(); err != nil {
		return err
	}
	if err := w.finish(); err != nil {
		return err
	}
	rows.Close()
	if _, err := tx.ExecContext(ctx, `DELETE FROM postings WHERE level = ?`, level); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM segments WHERE level = ?`, level); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO segments (seg, level) VALUES (?, ?)`, seg, level+1)
	return err
}
