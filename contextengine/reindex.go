package contextengine

import (
	"context"
	"database/sql"
	"fmt"
)

// reindexBatch is how many documents reindex indexes per segment.
const reindexBatch = 1000

// reindex rebuilds every document's chunks and postings, inside the
// migration's transaction.
func reindex(ctx context.Context, tx *sql.Tx, eng *engineConfig) error {
	ins, err := newChunkInserter(ctx, tx)
	if err != nil {
		return fmt.Errorf("reindex: %w", err)
	}
	defer ins.close()
	ix := &index{nextSeg: 1}
	for after := int64(0); ; {
		docs, err := reindexDocs(ctx, tx, after)
		if err != nil || len(docs) == 0 {
			return err
		}
		var c indexChange
		for _, d := range docs {
			if err := reindexDoc(ctx, tx, ins, eng, d, &c); err != nil {
				return err
			}
			after = d.seq
		}
		if err := ins.flush(ctx); err != nil {
			return fmt.Errorf("reindex: %w", err)
		}
		if err := c.flush(ctx, tx, ix); err != nil {
			return fmt.Errorf("reindex: %w", err)
		}
		c.commit(ix)
		if err := mergeFull(ctx, tx, ix); err != nil {
			return fmt.Errorf("reindex: %w", err)
		}
	}
}

// storedDoc is what reindex reads of a document.
type storedDoc struct {
	seq, ws                 int64
	path, language, content string
}

func reindexDocs(ctx context.Context, tx *sql.Tx, after int64) ([]storedDoc, error) {
	rows, err := tx.QueryContext(ctx, `SELECT seq, workspace_id, path, language, content FROM documents WHERE seq > ? ORDER BY seq LIMIT ?`, after, reindexBatch)
	if err != nil {
		return nil, fmt.Errorf("reindex: %w", err)
	}
	defer rows.Close()
	var docs []storedDoc
	for rows.Next() {
		var d storedDoc
		if err := rows.Scan(&d.seq, &d.ws, &d.path, &d.language, &d.content); err != nil {
			return nil, fmt.Errorf("reindex: %w", err)
		}
		docs = append(docs, d)
	}
	return docs, rows.Err()
}

func reindexDoc(ctx context.Context, tx *sql.Tx, ins *chunkInserter, eng *engineConfig, d storedDoc, c *indexChange) error {
	chunks, tokens := prepareChunks(eng.tokens, d.path, d.language, d.content)
	for i := range chunks {
		id, err := ins.insert(ctx, d.seq, &chunks[i])
		if err != nil {
			return fmt.Errorf("reindex %s: %w", d.path, err)
		}
		c.addChunk(id, uint32(d.seq), uint32(d.ws), chunks[i].terms)
	}
	c.addPath(uint32(d.seq), bagOf(d.path))
	if _, err := tx.ExecContext(ctx, `UPDATE documents SET tokens = ?, chunks = ? WHERE seq = ?`, tokens, len(chunks), d.seq); err != nil {
		return fmt.Errorf("reindex %s: %w", d.path, err)
	}
	return nil
}
