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
	id     string
	w      *sql.DB
	r      *sql.DB
	search *sql.Stmt     // searchSQL, prepared once per read connection
	gen    atomic.Uint64 // bumped after every committed write
	wmu    sync.Mutex    // serialises write transactions with their effects
	totals atomic.Pointer[Totals]
	cache  *resultCache
	stats  *termStats
	eng    *engineConfig
}

// tenantPath returns the database file of a validated tenant id.
func tenantPath(dataDir, id string) string {
	return filepath.Join(dataDir, "tenants", id, "context.db")
}

// openTenantDB opens an existing tenant database file and migrates it.
func openTenantDB(ctx context.Context, eng *engineConfig, id string) (*tenantDB, error) {
	file := (&url.URL{Path: tenantPath(eng.dataDir, id)}).EscapedPath()
	w, err := sql.Open("sqlite", "file:"+file+"?mode=rw&_txlock=immediate&"+pragmas)
	if err != nil {
		return nil, fmt.Errorf("open tenant %s: %w", id, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("tenant %s: %w", id, err)
	}
	r, err := sql.Open("sqlite", "file:"+file+"?mode=rw&"+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open tenant %s readers: %w", id, err)
	}
	r.SetMaxOpenConns(eng.readConns)
	r.SetMaxIdleConns(eng.readConns)
	search, err := r.PrepareContext(ctx, searchSQL)
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("tenant %s: prepare search: %w", id, err)
	}
	totals, err := loadTotals(ctx, w)
	if err != nil {
		search.Close()
		w.Close()
		r.Close()
		return nil, fmt.Errorf("tenant %s: %w", id, err)
	}
	db := &tenantDB{id: id, w: w, r: r, search: search, cache: newResultCache(eng.cacheBytes), stats: newTermStats(termStatsMax), eng: eng}
	db.totals.Store(&totals)
	return db, nil
}

func (db *tenantDB) close() error {
	db.search.Close()
	werr := db.w.Close()
	rerr := db.r.Close()
	if werr != nil {
		return werr
	}
	return rerr
}
