package contextengine

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// fence marks a tenant whose database is leaving this node: while it
// stands, the tenant is not opened, so its files do not change.
type fence struct{}

// Fence stops the opening of tenant id, which fails with ErrTenantMoving
// from then on, waits until every handle on it has been closed, so the
// requests in flight have finished and their writes are committed, and
// closes its database: its files then hold every acknowledged write and
// stay as they are. release lifts the fence (when a move fails); calling
// it again does nothing. When ctx ends first, Fence lifts the fence and
// returns ctx's error.
func (m *Manager) Fence(ctx context.Context, id string) (release func(), err error) {
	if err := ValidateTenantID(id); err != nil {
		return nil, err
	}
	if !m.Exists(id) {
		return nil, fmt.Errorf("fence: %w: %s", ErrTenantNotFound, id)
	}
	f := &fence{}
	m.mu.Lock()
	switch {
	case m.closed:
		m.mu.Unlock()
		return nil, ErrClosed
	case m.fenced[id] != nil:
		m.mu.Unlock()
		return nil, fmt.Errorf("fence: %w: %s is fenced already", ErrTenantMoving, id)
	}
	m.fenced[id] = f
	m.mu.Unlock()
	var once sync.Once
	release = func() {
		once.Do(func() {
			m.mu.Lock()
			if m.fenced[id] == f {
				delete(m.fenced, id)
			}
			m.mu.Unlock()
		})
	}
	if err := m.quiesce(ctx, id); err != nil {
		release()
		return nil, fmt.Errorf("fence tenant %s: %w", id, err)
	}
	return release, nil
}

// quiesce drops the fenced tenant id from the cache and waits until its
// database has closed, at the release of its last handle.
func (m *Manager) quiesce(ctx context.Context, id string) error {
	for {
		m.mu.Lock()
		e := m.open[id]
		if e != nil && !isDone(e.ready) {
			m.mu.Unlock()
			if err := waitFor(ctx, e.ready); err != nil {
				return err
			}
			continue // loaded or failed: look again
		}
		var victim *tenantDB
		if e != nil && m.drop(e) {
			victim = e.db
		}
		closing := m.closing[id]
		m.mu.Unlock()
		if victim != nil {
			m.closeDropped(victim)
		}
		if closing == nil {
			return nil
		}
		return waitFor(ctx, closing)
	}
}

// Fenced reports whether tenant id is fenced on this node.
func (m *Manager) Fenced(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.fenced[id] != nil
}

// Drop removes the files of tenant id, which must be fenced: after a
// move, the copy on its new home is the tenant. The fence stays, so
// requests still reaching this node get ErrTenantMoving rather than
// ErrTenantNotFound until it is released.
func (m *Manager) Drop(ctx context.Context, id string) error {
	if err := ValidateTenantID(id); err != nil {
		return err
	}
	if !m.Fenced(id) {
		return fmt.Errorf("drop tenant %s: %w", id, errNotFenced)
	}
	return m.Delete(ctx, id)
}

// errNotFenced refuses to drop a tenant that is still served.
var errNotFenced = errors.New("not fenced: only a moved tenant is dropped")

// isDone reports whether ch is closed.
func isDone(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// waitFor waits until ch is closed or ctx ends.
func waitFor(ctx context.Context, ch <-chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
