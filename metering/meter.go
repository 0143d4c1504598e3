// Package metering counts each tenant's usage per billing period in
// memory, enforces tier quotas without I/O on the request path, raises
// threshold notices, and ships the tenants' usage outboxes to the control
// plane.
package metering

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/contextlite/cloud/contextengine"
)

// Rejection reasons counted apart from billed usage.
const (
	RejectedQuota     = "quota"
	RejectedRateLimit = "rate_limit"
)

// Source loads what a tenant used in a period before this process counted
// it: per-meter sums, and the last outbox position they cover.
type Source interface {
	PeriodUsage(ctx context.Context, tenantID string, p Period) (map[string]int64, int64, error)
}

// Notice is a meter crossing a threshold percent of its limit.
type Notice struct {
	TenantID  string
	Meter     string
	Threshold int // 80 or 100
	Used      int64
	Limit     int64
	Period    Period
	Tier      string
	NextTier  string
}

// thresholds are the percents of a limit that raise a notice.
var thresholds = [...]int{80, 100}

// Meter counts usage per tenant and period and checks quotas. It is safe
// for concurrent use.
type Meter struct {
	source   Source
	now      func() time.Time
	onNotice func(Notice)

	mu       sync.RWMutex
	accounts map[string]*account
}

// Options configure a Meter.
type Options struct {
	Source   Source
	Now      func() time.Time // default time.Now
	OnNotice func(Notice)     // called once per tenant, meter, period and threshold crossed; must not block
}

// New returns a Meter.
func New(opts Options) *Meter {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.OnNotice == nil {
		opts.OnNotice = func(Notice) {}
	}
	return &Meter{source: opts.Source, now: opts.Now, onNotice: opts.OnNotice, accounts: make(map[string]*account)}
}

// account is one tenant's usage in its current period.
type account struct {
	seedMu sync.Mutex // held while the period is (re)loaded

	mu       sync.Mutex                 // guards the fields below
	loading  bool                       // the Source is being read
	early    []contextengine.UsageEvent // observed while loading
	period   Period
	last     int64                 // outbox position counted up to
	quota    atomic.Pointer[Quota] // as of the last admission that changed it
	totals   contextengine.Totals  // stored now, as of the last write
	notified map[string]int        // highest threshold noticed per meter
	rejected Rejected              // refused requests
	end      atomic.Int64          // period end, unix nanos, for the lock-free check
	anchor   atomic.Int64          // billing anchor the period was computed from, unix seconds
	queries  atomic.Int64          // used this period
	tokens   atomic.Int64          // returned this period
	pending  atomic.Int64          // queries admitted, not yet recorded
	loaded   atomic.Bool
}

// Admission is a request's standing on the query meter.
type Admission struct {
	Limit     int64 // 0: unlimited
	Remaining int64
	Reset     time.Time

	acct *account // set while a query is reserved
}

// Release gives back the query reserved by Admit; call it once the
// request is done, whether or not it recorded the query.
func (a *Admission) Release() {
	if a.acct != nil {
		a.acct.pending.Add(-1)
		a.acct = nil
	}
}

// Admit checks a request of tenantID under quota q, for a query when
// query is set: a query past the hard limit fails with a QuotaError, and
// an admitted one is reserved until Release. The first call for a tenant,
// and the first of each period, loads its usage from the Source.
func (m *Meter) Admit(ctx context.Context, tenantID string, anchor time.Time, q Quota, query bool) (Admission, error) {
	acct, err := m.account(ctx, tenantID, anchor)
	if err != nil {
		return Admission{}, err
	}
	acct.setQuota(q)
	adm := Admission{Limit: q.Queries, Reset: time.Unix(0, acct.end.Load()).UTC()}
	used := acct.queries.Load() + acct.pending.Load()
	if query {
		used = acct.queries.Load() + acct.pending.Add(1)
		if q.Queries > 0 && used > q.hard(q.Queries) {
			acct.pending.Add(-1)
			acct.reject(RejectedQuota)
			return adm, &QuotaError{Meter: Queries, Limit: q.Queries, Reset: adm.Reset, Tier: q.Tier, NextTier: q.NextTier}
		}
		adm.acct = acct
	}
	if q.Queries > 0 {
		adm.Remaining = max(q.Queries-used, 0)
	}
	return adm, nil
}

// account returns tenantID's account for the current period, loading it
// when it is new, its period has ended or its billing anchor changed.
func (m *Meter) account(ctx context.Context, tenantID string, anchor time.Time) (*account, error) {
	now := m.now()
	m.mu.RLock()
	acct := m.accounts[tenantID]
	m.mu.RUnlock()
	if acct != nil && acct.loaded.Load() && now.UnixNano() < acct.end.Load() && acct.anchor.Load() == anchor.Unix() {
		return acct, nil
	}
	if acct == nil {
		m.mu.Lock()
		if acct = m.accounts[tenantID]; acct == nil {
			acct = &account{}
			m.accounts[tenantID] = acct
		}
		m.mu.Unlock()
	}
	return acct, m.load(ctx, acct, tenantID, PeriodAt(now, anchor), anchor)
}

// load seeds acct with its usage of period p, unless another call did.
func (m *Meter) load(ctx context.Context, acct *account, tenantID string, p Period, anchor time.Time) error {
	acct.seedMu.Lock()
	defer acct.seedMu.Unlock()
	if acct.loaded.Load() && acct.end.Load() == p.End.UnixNano() && acct.anchor.Load() == anchor.Unix() {
		return nil
	}
	acct.mu.Lock()
	acct.loading = true
	acct.mu.Unlock()
	sums, last, err := m.source.PeriodUsage(ctx, tenantID, p)
	acct.mu.Lock()
	defer acct.mu.Unlock()
	early := acct.early
	acct.loading, acct.early = false, nil
	if err != nil {
		return fmt.Errorf("load usage of tenant %s: %w", tenantID, err)
	}
	acct.period, acct.last = p, last
	acct.queries.Store(sums[Queries])
	acct.tokens.Store(sums[Tokens])
	acct.notified = make(map[string]int)
	acct.rejected = Rejected{}
	acct.end.Store(p.End.UnixNano())
	acct.anchor.Store(anchor.Unix())
	acct.loaded.Store(true)
	// Writes that committed while the Source read are counted here when
	// it did not see them.
	acct.count(early)
	return nil
}

func (a *account) setQuota(q Quota) {
	if p := a.quota.Load(); p == nil || *p != q { // lock- and allocation-free unless the tier changed
		changed := q
		a.quota.Store(&changed)
	}
}

func (a *account) reject(reason string) {
	a.mu.Lock()
	switch reason {
	case RejectedQuota:
		a.rejected.Quota++
	case RejectedRateLimit:
		a.rejected.RateLimit++
	}
	a.mu.Unlock()
}

// Reject counts a request of tenantID refused for reason (not billed).
func (m *Meter) Reject(tenantID, reason string) {
	m.mu.RLock()
	acct := m.accounts[tenantID]
	m.mu.RUnlock()
	if acct != nil && acct.loaded.Load() {
		acct.reject(reason)
	}
}

// Observe counts committed usage events of a tenant; it is the engine's
// UsageHook. Events of tenants not loaded yet are left to their loading.
func (m *Meter) Observe(tenantID string, events []contextengine.UsageEvent, totals contextengine.Totals) {
	m.mu.RLock()
	acct := m.accounts[tenantID]
	m.mu.RUnlock()
	if acct == nil {
		return
	}
	acct.mu.Lock()
	defer acct.mu.Unlock()
	if acct.loading {
		acct.early = append(acct.early, events...)
		return
	}
	if !acct.loaded.Load() {
		return
	}
	acct.count(events)
	acct.totals = totals
	m.checkThresholds(tenantID, acct)
}

// count adds the events past acct.last in acct's period; callers hold acct.mu.
func (a *account) count(events []contextengine.UsageEvent) {
	for _, ev := range events {
		if ev.Seq <= a.last || !a.period.Contains(ev.At) {
			continue
		}
		a.last = ev.Seq
		switch ev.Meter {
		case Queries:
			a.queries.Add(ev.Quantity)
		case Tokens:
			a.tokens.Add(ev.Quantity)
		}
	}
}

// checkThresholds raises the notices acct's usage has newly crossed;
// callers hold acct.mu.
func (m *Meter) checkThresholds(tenantID string, acct *account) {
	quota := acct.quota.Load()
	if quota == nil {
		return // not admitted yet: no limits known
	}
	used := [...]struct {
		meter string
		n     int64
	}{
		{Queries, acct.queries.Load()},
		{Documents, acct.totals.Documents},
		{StorageBytes, acct.totals.StorageBytes},
		// Not workspaces: the default one always exists, so a
		// one-workspace tier would start at 100 %.
	}
	for _, u := range used {
		meter, n := u.meter, u.n
		limit := quota.limit(meter)
		if limit <= 0 {
			continue
		}
		for _, th := range thresholds {
			if n*100 < limit*int64(th) || acct.notified[meter] >= th {
				continue
			}
			acct.notified[meter] = th
			m.onNotice(Notice{TenantID: tenantID, Meter: meter, Threshold: th, Used: n, Limit: limit,
				Period: acct.period, Tier: quota.Tier, NextTier: quota.NextTier})
		}
	}
}

// Forget drops what the meter counted of tenantID, which reloads from
// its Source at its next request: for a tenant whose database moved to
// or from this node.
func (m *Meter) Forget(tenantID string) {
	m.mu.Lock()
	delete(m.accounts, tenantID)
	m.mu.Unlock()
}
