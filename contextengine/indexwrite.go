package contextengine

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// indexChange is what a write transaction did to the index: postings to
// add as a segment, and chunks to add to and remove from the in-memory
// figures once it commits.
type indexChange struct {
	seg     segmentBuilder
	added   []newChunk
	deleted []uint32
	docs    map[uint32]bool // documents given chunks
}

// addChunk indexes a stored chunk of document doc in workspace ws.
func (c *indexChange) addChunk(id, doc, ws uint32, terms termBag) {
	c.seg.addBag(terms, id, "")
	c.added = append(c.added, newChunk{id: id, doc: doc, ws: ws, length: uint32(terms.length)})
	if c.docs == nil {
		c.docs = make(map[uint32]bool)
	}
	c.docs[doc] = true
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

// flush writes the change's postings as a segment of ix, merging levels
// with what ix and the change say is alive.
func (c *indexChange) flush(ctx context.Context, tx *sql.Tx, ix *index) error {
	if len(c.seg.terms) == 0 {
		return nil
	}
	dead := make(map[uint32]bool, len(c.deleted))
	for _, id := range c.deleted {
		dead[id] = true
	}
	// The tenant's write lock is held: nothing changes ix meanwhile. Ids
	// only grow, so those past ix's are this change's.
	docAlive := func(id uint32) bool { return ix.liveDoc(id) || id > ix.maxDoc || c.docs[id] }
	chunkAlive := func(id uint32) bool {
		return (ix.liveChunk(id) || id > ix.maxChunk) && (len(dead) == 0 || !dead[id])
	}
	alive := func(term string) func(uint32) bool {
		if strings.HasPrefix(term, pathTermPrefix) {
			return docAlive
		}
		return chunkAlive
	}
	if err := c.seg.flush(ctx, tx, ix.nextSeg, alive); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	return nil
}

// commit applies the change to ix once its transaction has committed.
func (c *indexChange) commit(ix *index) {
	if len(c.added) == 0 && len(c.deleted) == 0 && len(c.seg.terms) == 0 {
		return
	}
	ix.apply(c.added, c.deleted)
	if len(c.seg.terms) > 0 {
		ix.nextSeg++
	}
}
