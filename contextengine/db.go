package contextengine

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// pragmas are set on every connection through the DSN, so pooled
// connections opened later get them too.
const pragmas = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)"

// tenantDB is one open tenant database: a single writer connection, so
// writers queue in Go instead of failing with SQLITE_BUSY, and a pool of
// read-only connections that WAL lets run beside it.
type tenantDB struct {
	id          string
	w           *sql.DB
	r           *sql.DB
	search      *sql.Stmt // postingsSQL, prepared once per read connection
	index       *index
	merges      sync.WaitGroup // background index merges
	mergeQueued atomic.Bool
	gen         atomic.Uint64 // bumped after every committed write
	wmu         sync.Mutex    // serialises write transactions with their effects
	held        sync.Map      // idempotency keys of calls running now
	totals      atomic.Pointer[Totals]
	cache       tenantCache
	stats       *termStats
	eng         *engineConfig
}

// tenantPath returns the database file of a validated tenant id.
func tenantPath(dataDir, id string) string {
	return filepath.Join(dataDir, "tenants", id, "context.db")
}

// openTenantDB opens an existing tenant database file and migrates it.
// Its assembled results go to cache. Readers get small page caches; the
// writer keeps SQLite's default (2 MB) for ingest speed, freed after open.
func openTenantDB(ctx context.Context, eng *engineConfig, id string, cache tenantCache) (*tenantDB, error) {
	dsn := tenantDSN(eng, id)
	w, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open tenant %s: %w", id, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	if err := migrate(ctx, w, eng); err != nil {
		w.Close()
		return nil, fmt.Errorf("tenant %s: %w", id, err)
	}
	r, err := sql.Open("sqlite", fmt.Sprintf("%s&_pragma=query_only(1)&_pragma=cache_size(-%d)", dsn, max(eng.pageCacheBytes>>10, 1)))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open tenant %s readers: %w", id, err)
	}
	r.SetMaxOpenConns(eng.readConns)
	r.SetMaxIdleConns(eng.idleReadConns)
	r.SetConnMaxIdleTime(eng.readIdleTime)
	search, err := r.PrepareContext(ctx, postingsSQL)
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("tenant %s: prepare search: %w", id, err)
	}
	totals, err := loadTotals(ctx, w)
	var ix *index
	if err == nil {
		ix, err = loadIndex(ctx, w)
	}
	if err == nil {
		err = shrinkMemory(ctx, w)
	}
	if err != nil {
		search.Close()
		w.Close()
		r.Close()
		return nil, fmt.Errorf("tenant %s: %w", id, err)
	}
	db := &tenantDB{id: id, w: w, r: r, search: search, index: ix, cache: cache, stats: newTermStats(termStatsMax), eng: eng}
	db.totals.Store(&totals)
	return db, nil
}

// tenantDSN returns the data source name of a tenant database with the
// pragmas every connection gets.
func tenantDSN(eng *engineConfig, id string) string {
	return "file:" + (&url.URL{Path: tenantPath(eng.dataDir, id)}).EscapedPath() + "?mode=rw&" + pragmas
}

// pageSize is the page size of new tenant databases. A document of a few
// KB fills a 4 KB page alone, half empty, so a write wrote twice the pages
// it needed; 8 KB pages hold several. Measured on 2 KB Go sources: bulk
// ingest 1.22x of 4 KB pages' and assemble unchanged at 100k documents;
// 16 KB pages ingest as fast but assemble with a slower p95. Tenants made
// before keep their page size (only a VACUUM changes it).
const pageSize = 8192

// initFile gives the new, empty database file of tenant id its page size
// and WAL mode, which the DSN's pragmas would set in the other order.
func initFile(ctx context.Context, eng *engineConfig, id string) error {
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: tenantPath(eng.dataDir, id)}).EscapedPath()+"?mode=rw")
	if err != nil {
		return err
	}
	defer db.Close()
	for _, pragma := range []string{fmt.Sprintf("PRAGMA page_size = %d", pageSize), "PRAGMA journal_mode = WAL"} {
		if _, err := db.ExecContext(ctx, pragma); err != nil {
			return fmt.Errorf("new tenant database: %w", err)
		}
	}
	return nil
}

// shrinkMemory frees the page cache of an idle connection of db: the
// writer's, filled by counting totals, would otherwise stay allocated until
// the next write.
func shrinkMemory(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, "PRAGMA shrink_memory"); err != nil {
		return fmt.Errorf("shrink memory: %w", err)
	}
	return nil
}

func (db *tenantDB) close() error {
	db.merges.Wait()
	db.search.Close()
	werr := db.w.Close()
	rerr := db.r.Close()
	if werr != nil {
		return werr
	}
	return rerr
}

// Checkpoint copies the tenant's write-ahead log into its database file
// and truncates the log, so the file alone holds everything.
func (t *Tenant) Checkpoint(ctx context.Context) error {
	t.db.wmu.Lock()
	defer t.db.wmu.Unlock()
	if _, err := t.db.w.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return fmt.Errorf("tenant %s: checkpoint: %w", t.db.id, err)
	}
	return nil
}
