package contextengine

import (
	"context"
	"database/sql"
	"fmt"
)

// indexChange is what a write transaction did to the index: postings to
// add as a segment, and chunks to add to and remove from the in-memory
// figures once it commits.
type indexChange struct {
	seg     segmentBuilder
	added   []newChunk
	deleted []uint32
}

// addChunk indexes a stored chunk of document doc in workspace ws.
func (c *indexChange) addChunk(id, doc, ws uint32, terms termBag) {
	c.seg.addBag(terms, id, "")
	c.added = append(c.added, newChunk{id: id, doc: doc, ws: ws, length: uint32(terms.length)})
}

// addPath indexes the path terms of a new document.
func (c *indexChange) addPath(doc uint32, terms termBag) {
	c.seg.addBag(terms, doc, pathTermPrefix)
}

// deleteChunks removes the chunks ids returns from the index.
func (c *indexChange) deleteChunks(rows *sql.Rows, err error) error {
	if err != nil {
		return fmt.Errorf("delete chunks: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id uint32
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("delete chunks: %w", err)
		}
		c.deleted = append(c.deleted, id)
	}
	return rows.Err()
}

// flush writes the change's postings as a segment of ix. Full levels are
// merged later, by mergeFull.
func (c *indexChange) flush(ctx context.Context, tx *sql.Tx, ix *index) error {
	if err := c.seg.flush(ctx, tx, ix.nextSeg); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	return nil
}

// commit applies the change to ix once its transaction has committed, and
// reports whether it added a segment.
func (c *indexChange) commit(ix *index) bool {
	if len(c.added) == 0 && len(c.deleted) == 0 && len(c.seg.terms) == 0 {
		return false
	}
	ix.apply(c.added, c.deleted)
	if len(c.seg.terms) == 0 {
		return false
	}
	ix.nextSeg++
	return true
}
