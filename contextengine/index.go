package contextengine

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
)

// index holds in memory what scoring needs of every chunk and document of
// a tenant: a few bytes each, so a query scores postings without touching
// the chunk rows. It follows the database: writes apply their changes
// after they commit.
type index struct {
	mu        sync.RWMutex
	chunks    []chunkMeta // by chunk id
	docs      []docMeta   // by document seq
	live      int         // live chunks
	liveLen   int64       // terms in live chunks
	liveDocs  int
	maxChunk  uint32 // largest chunk id ever applied
	maxDoc    uint32 // largest document seq ever applied
	nextSeg   int64
	scratches sync.Pool // of *scratch
}

// chunkMeta is a chunk as scoring sees it; doc 0 marks a deleted chunk.
type chunkMeta struct {
	doc    uint32
	length uint32 // indexed terms
}

// docMeta is a document as scoring sees it; ws 0 marks a deleted one.
type docMeta struct {
	ws     uint32
	length uint32 // indexed terms of all its chunks
	chunks uint32 // live chunks
}

// newChunk is a chunk added by a write, applied to the index after commit.
type newChunk struct {
	id, doc uint32
	ws      uint32
	length  uint32
}

// loadIndex reads the chunk and document figures of a tenant database.
func loadIndex(ctx context.Context, db *sql.DB) (*index, error) {
	ix := &index{}
	rows, err := db.QueryContext(ctx, `SELECT c.id, c.doc_seq, d.workspace_id, c.length FROM chunks c JOIN documents d ON d.seq = c.doc_seq`)
	if err != nil {
		return nil, fmt.Errorf("load index: %w", err)
	}
	defer rows.Close()
	var batch []newChunk
	for rows.Next() {
		var c newChunk
		if err := rows.Scan(&c.id, &c.doc, &c.ws, &c.length); err != nil {
			return nil, fmt.Errorf("load index: %w", err)
		}
		batch = append(batch, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load index: %w", err)
	}
	ix.apply(batch, nil)
	if err := db.QueryRowContext(ctx, `SELECT coalesce(max(seg), 0) + 1 FROM segments`).Scan(&ix.nextSeg); err != nil {
		return nil, fmt.Errorf("load index: %w", err)
	}
	return ix, nil
}

// apply adds chunks and removes deleted ones; callers hold no lock.
func (ix *index) apply(added []newChunk, deleted []uint32) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, id := range deleted {
		if int(id) >= len(ix.chunks) || ix.chunks[id].doc == 0 {
			continue
		}
		c := ix.chunks[id]
		ix.chunks[id] = chunkMeta{}
		ix.live--
		ix.liveLen -= int64(c.length)
		d := &ix.docs[c.doc]
		d.length -= c.length
		if d.chunks--; d.chunks == 0 {
			*d = docMeta{}
			ix.liveDocs--
		}
	}
	for _, c := range added {
		ix.chunks = grow(ix.chunks, int(c.id))
		ix.docs = grow(ix.docs, int(c.doc))
		ix.chunks[c.id] = chunkMeta{doc: c.doc, length: c.length}
		ix.maxChunk, ix.maxDoc = max(ix.maxChunk, c.id), max(ix.maxDoc, c.doc)
		if ix.docs[c.doc].ws == 0 {
			ix.liveDocs++
		}
		ix.docs[c.doc].ws = c.ws
		ix.docs[c.doc].length += c.length
		ix.docs[c.doc].chunks++
		ix.live++
		ix.liveLen += int64(c.length)
	}
}

// grow returns s long enough to index i.
func grow[T any](s []T, i int) []T {
	if i < len(s) {
		return s
	}
	n := max(i+1, 2*len(s), 64)
	out := make([]T, n)
	copy(out, s)
	return out[:n]
}

// liveChunk reports whether chunk id is live in the index. Callers hold
// ix.mu or the tenant's write lock (only writers change the index).
func (ix *index) liveChunk(id uint32) bool {
	return int(id) < len(ix.chunks) && ix.chunks[id].doc != 0
}

// alive reports which postings of term are live: of chunks, or of
// documents for path terms. Callers lock as for liveChunk.
func (ix *index) alive(term string) func(id uint32) bool {
	if strings.HasPrefix(term, pathTermPrefix) {
		return ix.liveDoc
	}
	return ix.liveChunk
}

// liveDoc reports whether document seq is live in the index, under the
// same locking as liveChunk.
func (ix *index) liveDoc(seq uint32) bool {
	return int(seq) < len(ix.docs) && ix.docs[seq].ws != 0
}
