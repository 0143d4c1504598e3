package contextengine

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/contextlite/cloud/contextengine/tokencount"
)

// TokenCounter counts the tokens of a text exactly.
type TokenCounter interface {
	Count(text string) int
}

// Options configure a Manager; zero values take the defaults.
type Options struct {
	DataDir          string        // required; tenants live in DataDir/tenants/<id>/context.db
	MaxOpen          int           // open tenant databases kept (default 100)
	IdleTimeout      time.Duration // close a database unused this long (default 30m)
	MaxDocumentBytes int           // largest accepted document (default 1 MiB)
	ReadConns        int           // read connections per tenant (default 4)
	IdleReadConns    int           // read connections per tenant kept open while idle (default 1)
	ReadIdleTimeout  time.Duration // close a read connection idle this long (default 1m)
	PageCacheBytes   int           // SQLite page cache per read connection (default 256 KiB)
	CacheBytes       int           // assembled-result cache shared by all tenants (default 64 MiB)
	RecencyHalfLife  time.Duration // age at which recency is 0.5 (default 7 days)
	Tokens           TokenCounter  // default: exact o200k_base counts
	OnUsage          UsageHook     // called after each write that records usage
	Now              func() time.Time
}

// engineConfig is the resolved configuration shared by open tenants.
type engineConfig struct {
	dataDir        string
	readConns      int
	idleReadConns  int
	readIdleTime   time.Duration
	pageCacheBytes int
	cacheBytes     int
	maxDocBytes    int
	halfLife       time.Duration
	tokens         TokenCounter
	onUsage        UsageHook
	now            func() time.Time
}

// Manager is a bounded, reference-counted cache of open tenant databases.
// It is safe for concurrent use.
type Manager struct {
	eng     *engineConfig
	maxOpen int
	idle    time.Duration

	results *resultCache  // shared by all open tenants
	opens   atomic.Uint64 // numbers each opening of a database, for cache keys

	mu   sync.Mutex
	open map[string]*entry
	// closing holds, per tenant, a channel closed once its dropped
	// database has closed: a tenant's database is never open twice, since
	// each open one keeps its index in memory.
	closing map[string]chan struct{}
	fenced  map[string]*fence // tenants being moved: not opened
	lru     list.List         // of *entry, most recently used first
	closed  bool

	stop chan struct{}
	done chan struct{}
}

// entry is one tenant database in the cache.
type entry struct {
	id       string
	ready    chan struct{} // closed once db or err is set
	db       *tenantDB
	err      error
	refs     int
	lastUsed time.Time
	elem     *list.Element
	dropped  bool // no longer in the map; close at the last release
}

// NewManager returns a Manager for opts.DataDir and starts its idle reaper.
func NewManager(opts Options) (*Manager, error) {
	eng, err := resolveOptions(opts)
	if err != nil {
		return nil, err
	}
	m := &Manager{
		eng:     eng,
		maxOpen: defaultInt(opts.MaxOpen, 100),
		idle:    defaultDuration(opts.IdleTimeout, 30*time.Minute),
		results: newResultCache(eng.cacheBytes),
		open:    make(map[string]*entry),
		closing: make(map[string]chan struct{}),
		fenced:  make(map[string]*fence),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	go m.reap()
	return m, nil
}

func resolveOptions(opts Options) (*engineConfig, error) {
	if opts.DataDir == "" {
		return nil, errors.New("contextengine: DataDir is required")
	}
	dir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("contextengine: data dir: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "tenants"), 0o750); err != nil {
		return nil, fmt.Errorf("contextengine: %w", err)
	}
	eng := &engineConfig{
		dataDir:        dir,
		readConns:      defaultInt(opts.ReadConns, 4),
		idleReadConns:  defaultInt(opts.IdleReadConns, 1),
		readIdleTime:   defaultDuration(opts.ReadIdleTimeout, time.Minute),
		pageCacheBytes: defaultInt(opts.PageCacheBytes, 256<<10),
		cacheBytes:     defaultInt(opts.CacheBytes, 64<<20),
		maxDocBytes:    defaultInt(opts.MaxDocumentBytes, 1<<20),
		halfLife:       defaultDuration(opts.RecencyHalfLife, 7*24*time.Hour),
		tokens:         opts.Tokens,
		onUsage:        opts.OnUsage,
		now:            opts.Now,
	}
	if eng.now == nil {
		eng.now = time.Now
	}
	if eng.tokens == nil {
		if eng.tokens, err = tokencount.New(); err != nil {
			return nil, fmt.Errorf("contextengine: tokenizer: %w", err)
		}
	}
	return eng, nil
}

func defaultInt(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

func defaultDuration(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}

// cacheFor returns the result cache view of a database of tenant id being
// opened, distinct from that of every other opening.
func (m *Manager) cacheFor(id string) tenantCache {
	return tenantCache{c: m.results, prefix: strconv.FormatUint(m.opens.Add(1), 10) + "\x00" + id + "\x00"}
}

// Create makes a new tenant database; ErrTenantExists if it already exists.
func (m *Manager) Create(ctx context.Context, id string) error {
	if err := ValidateTenantID(id); err != nil {
		return err
	}
	if m.Fenced(id) {
		return fmt.Errorf("create tenant: %w: %s", ErrTenantMoving, id)
	}
	file := tenantPath(m.eng.dataDir, id)
	if err := os.Mkdir(filepath.Dir(file), 0o750); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create tenant %s: %w", id, err)
	}
	f, err := os.OpenFile(file, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: %s", ErrTenantExists, id)
	}
	if err != nil {
		return fmt.Errorf("create tenant %s: %w", id, err)
	}
	f.Close()
	if err := initFile(ctx, m.eng, id); err != nil {
		os.RemoveAll(filepath.Dir(file))
		return fmt.Errorf("create tenant %s: %w", id, err)
	}
	db, err := openTenantDB(ctx, m.eng, id, m.cacheFor(id))
	if err != nil {
		os.RemoveAll(filepath.Dir(file))
		return err
	}
	return db.close()
}

// TenantIDs lists the tenants that have a database, in no set order.
func (m *Manager) TenantIDs() ([]string, error) {
	dirs, err := os.ReadDir(filepath.Join(m.eng.dataDir, "tenants"))
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	ids := make([]string, 0, len(dirs))
	for _, d := range dirs {
		if d.IsDir() && ValidateTenantID(d.Name()) == nil {
			ids = append(ids, d.Name())
		}
	}
	return ids, nil
}

// Exists reports whether a tenant database exists.
func (m *Manager) Exists(id string) bool {
	if ValidateTenantID(id) != nil {
		return false
	}
	_, err := os.Stat(tenantPath(m.eng.dataDir, id))
	return err == nil
}

// Open returns a handle on an existing tenant; ErrTenantNotFound if there
// is none. The database stays open until the handle is closed.
func (m *Manager) Open(ctx context.Context, id string) (*Tenant, error) {
	if err := ValidateTenantID(id); err != nil {
		return nil, err
	}
	e, created, err := m.acquire(id)
	if err != nil {
		return nil, err
	}
	if created {
		m.load(ctx, e)
	}
	select {
	case <-e.ready:
	case <-ctx.Done():
		m.release(e)
		return nil, ctx.Err()
	}
	if e.err != nil {
		m.release(e)
		return nil, e.err
	}
	return &Tenant{db: e.db, release: func() { m.release(e) }}, nil
}

// acquire returns the cache entry of id with one more reference, adding a
// new one (created true) that the caller must load.
func (m *Manager) acquire(id string) (e *entry, created bool, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, false, ErrClosed
	}
	if m.fenced[id] != nil {
		return nil, false, fmt.Errorf("%w: %s", ErrTenantMoving, id)
	}
	if e := m.open[id]; e != nil {
		e.refs++
		m.lru.MoveToFront(e.elem)
		return e, false, nil
	}
	e = &entry{id: id, ready: make(chan struct{}), refs: 1}
	e.elem = m.lru.PushFront(e)
	m.open[id] = e
	return e, true, nil
}

// load opens the database of a new entry, dropping the entry on failure.
func (m *Manager) load(ctx context.Context, e *entry) {
	m.evict() // make room first, so idle databases never push the count past MaxOpen
	m.mu.Lock()
	closing := m.closing[e.id]
	m.mu.Unlock()
	if closing != nil {
		<-closing
	}
	var db *tenantDB
	_, err := os.Stat(tenantPath(m.eng.dataDir, e.id))
	if err != nil {
		err = fmt.Errorf("%w: %s", ErrTenantNotFound, e.id)
	} else {
		db, err = openTenantDB(context.WithoutCancel(ctx), m.eng, e.id, m.cacheFor(e.id))
	}
	m.mu.Lock()
	e.db, e.err = db, err
	if err != nil {
		m.drop(e)
	}
	m.mu.Unlock()
	close(e.ready)
}

// release gives back one reference and closes what is no longer wanted.
func (m *Manager) release(e *entry) {
	m.mu.Lock()
	e.refs--
	e.lastUsed = m.eng.now()
	closeNow := e.refs == 0 && e.dropped && e.db != nil
	m.mu.Unlock()
	if closeNow {
		m.closeDropped(e.db)
		return
	}
	m.evict()
}

// drop removes e from the cache; callers hold m.mu. It reports whether e
// is unused, so the caller must close its database.
func (m *Manager) drop(e *entry) bool {
	if !e.dropped {
		e.dropped = true
		delete(m.open, e.id)
		m.lru.Remove(e.elem)
		if e.db != nil {
			m.closing[e.id] = make(chan struct{})
		}
	}
	return e.refs == 0 && e.db != nil
}

// closeDropped closes the database of a dropped entry and lets a new
// opening of its tenant go ahead.
func (m *Manager) closeDropped(db *tenantDB) {
	db.close()
	m.mu.Lock()
	if ch := m.closing[db.id]; ch != nil {
		close(ch)
		delete(m.closing, db.id)
	}
	m.mu.Unlock()
}

// evict closes least recently used idle databases while more than MaxOpen
// are open. Databases in use are never closed: the bound is exceeded only
// while every open database has a request in flight.
func (m *Manager) evict() {
	m.mu.Lock()
	var victims []*tenantDB
	for el := m.lru.Back(); el != nil && len(m.open) > m.maxOpen; {
		e := el.Value.(*entry)
		el = el.Prev()
		if e.refs == 0 && e.db != nil && m.drop(e) {
			victims = append(victims, e.db)
		}
	}
	m.mu.Unlock()
	m.closeAll(victims)
}

// reap closes databases idle for longer than the idle timeout.
func (m *Manager) reap() {
	defer close(m.done)
	tick := time.NewTicker(max(min(m.idle/4, time.Minute), 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-tick.C:
			m.closeIdle(m.eng.now().Add(-m.idle))
		}
	}
}

func (m *Manager) closeIdle(before time.Time) {
	m.mu.Lock()
	var victims []*tenantDB
	for el := m.lru.Back(); el != nil; {
		e := el.Value.(*entry)
		el = el.Prev()
		if e.refs == 0 && e.db != nil && e.lastUsed.Before(before) && m.drop(e) {
			victims = append(victims, e.db)
		}
	}
	m.mu.Unlock()
	m.closeAll(victims)
}

func (m *Manager) closeAll(dbs []*tenantDB) {
	for _, db := range dbs {
		m.closeDropped(db)
	}
}

// OpenCount returns how many tenant databases are open.
func (m *Manager) OpenCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.open)
}

// Delete closes a tenant's database and removes its directory. A request
// still using it finishes on the unlinked files.
func (m *Manager) Delete(ctx context.Context, id string) error {
	if err := ValidateTenantID(id); err != nil {
		return err
	}
	m.mu.Lock()
	var victim *tenantDB
	if e := m.open[id]; e != nil && m.drop(e) {
		victim = e.db
	}
	m.mu.Unlock()
	if victim != nil {
		m.closeDropped(victim)
	}
	dir := filepath.Dir(tenantPath(m.eng.dataDir, id))
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s", ErrTenantNotFound, id)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("delete tenant %s: %w", id, err)
	}
	return nil
}

// Close closes every open database (those in use at their last release)
// and stops the idle reaper. Open fails with ErrClosed afterwards.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	var victims []*tenantDB
	for _, e := range m.open {
		if m.drop(e) {
			victims = append(victims, e.db)
		}
	}
	m.mu.Unlock()
	close(m.stop)
	<-m.done
	m.closeAll(victims)
	return nil
}

// Tenant is a handle on an open tenant database. Close it when done.
type Tenant struct {
	db      *tenantDB
	release func()
	once    sync.Once
	limits  Limits
}

// ID returns the tenant id.
func (t *Tenant) ID() string { return t.db.id }

// Close releases the handle; the database itself stays cached.
func (t *Tenant) Close() error {
	t.once.Do(t.release)
	return nil
}

// Assemble opens a tenant, assembles a context for req and releases it.
func (m *Manager) Assemble(ctx context.Context, tenantID string, req Request) (*Result, error) {
	t, err := m.Open(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	defer t.Close()
	return t.Assemble(ctx, req)
}

// workers is the parallelism for CPU-bound ingest work.
func workers() int { return runtime.GOMAXPROCS(0) }
