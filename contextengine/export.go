package contextengine

import (
	"context"
	"fmt"
)

// exportBatch is how many documents Export reads per query, so a large
// tenant is streamed without holding a read transaction open throughout.
const exportBatch = 200

// Export calls fn with every document, content included, in storage
// order. It stops at fn's first error.
func (t *Tenant) Export(ctx context.Context, fn func(*Document) error) error {
	var after int64
	for {
		docs, err := t.exportPage(ctx, after)
		if err != nil {
			return err
		}
		for i := range docs {
			if err := fn(&docs[i]); err != nil {
				return err
			}
		}
		if len(docs) < exportBatch {
			return nil
		}
		after = docs[len(docs)-1].seq
	}
}

func (t *Tenant) exportPage(ctx context.Context, after int64) ([]Document, error) {
	rows, err := t.db.r.QueryContext(ctx, `SELECT `+docColumns+`, d.content FROM documents d JOIN workspaces w ON w.id = d.workspace_id
		WHERE d.seq > ? ORDER BY d.seq LIMIT ?`, after, exportBatch)
	if err != nil {
		return nil, fmt.Errorf("export documents: %w", err)
	}
	defer rows.Close()
	var docs []Document
	for rows.Next() {
		var d Document
		if err := scanDocument(rows, &d, &d.Content); err != nil {
			return nil, fmt.Errorf("export documents: %w", err)
		}
		docs = append(docs, d)
	}
	return docs, rows.Err()
}
