package console

import (
	"sync"
	"time"
)

// maxTracked bounds the keys a limiter remembers before it drops the
// windows that have passed.
const maxTracked = 10000

// limiter allows max events per key in each fixed window.
type limiter struct {
	max    int
	window time.Duration

	mu   sync.Mutex
	seen map[string]fixedWindow
}

// fixedWindow counts the events of one key since start.
type fixedWindow struct {
	start time.Time
	n     int
}

func newLimiter(max int, window time.Duration) *limiter {
	return &limiter{max: max, window: window, seen: make(map[string]fixedWindow)}
}

// allow counts an event of key at now and reports whether it is within the limit.
func (l *limiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.seen[key]
	if now.Sub(w.start) >= l.window || now.Before(w.start) {
		w = fixedWindow{start: now}
	}
	if w.n >= l.max {
		return false
	}
	w.n++
	if len(l.seen) >= maxTracked {
		l.sweep(now)
	}
	l.seen[key] = w
	return true
}

// sweep drops the windows that have passed at now.
func (l *limiter) sweep(now time.Time) {
	for k, w := range l.seen {
		if now.Sub(w.start) >= l.window {
			delete(l.seen, k)
		}
	}
}
