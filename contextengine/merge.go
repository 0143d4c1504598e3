package contextengine

import (
	"context"
	"fmt"
)

// scheduleMerge merges the full levels of the tenant's index in the
// background, in a write transaction of its own, so the write that filled
// a level is acknowledged without waiting for it. At most one merge is
// waiting at a time (writes during a merge queue the next); one that fails
// is tried again after the next write.
func (db *tenantDB) scheduleMerge() {
	if !db.mergeQueued.CompareAndSwap(false, true) {
		return
	}
	db.merges.Go(func() { db.mergeIndex(context.Background()) })
}

// mergeIndex merges the full levels of the tenant's index.
func (db *tenantDB) mergeIndex(ctx context.Context) error {
	db.wmu.Lock()
	defer db.wmu.Unlock()
	db.mergeQueued.Store(false) // writes from now on may queue the next
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("tenant %s: merge: %w", db.id, err)
	}
	defer tx.Rollback()
	if err := mergeFull(ctx, tx, db.index); err != nil {
		return fmt.Errorf("tenant %s: merge: %w", db.id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("tenant %s: merge: %w", db.id, err)
	}
	return nil
}
