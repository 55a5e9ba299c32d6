// Package lograte spaces warnings that would otherwise come once per
// connection or request under a flood: the connection caps' evictions and
// refusals, the per-source penalties' refusals.
package lograte

import (
	"sync"
	"time"
)

// Limiter lets a warning through at most every Every, with the number of
// events since the last one let through. The zero Limiter lets every
// event through. It is safe for concurrent use.
type Limiter struct {
	Every time.Duration

	mu   sync.Mutex
	n    int
	last time.Time
}

// Tick counts one event and reports whether to log now, and how many
// events the line stands for.
func (l *Limiter) Tick(now time.Time) (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	if now.Sub(l.last) < l.Every {
		return 0, false
	}
	n := l.n
	l.n, l.last = 0, now
	return n, true
}
