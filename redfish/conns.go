package redfish

import (
	"container/list"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"quintupleo/internal/acceptloop"
	"quintupleo/internal/limit"
	"quintupleo/internal/lograte"
)

// The Redfish listener's connection limits (docs/limits.md, Redfish).
// net/http alone keeps a keep-alive connection as long as the client
// likes and accepts until the process runs out of descriptors, which the
// libvirt and SSH fronts share: a client sending one request on each of a
// few hundred connections would take virsh and ssh down too. ConnLimit
// caps the connections and, when the cap is full, closes the oldest idle
// keep-alive connection (a BMC client reconnects when its pooled
// connection was closed, as it must for any server's idle timeout), else
// the oldest that has not sent a whole request yet (a slowloris), to admit
// the new one; only when every connection is in the middle of a request is
// the new one closed at once.

// Defaults of the connection limits.
const (
	// DefaultMaxConns is the connection cap at a generous open-file limit:
	// sushy holds one keep-alive connection per client object (Ironic's
	// conductors share one per BMC address and account), so a few hundred
	// is far more than a deployment's conductors open.
	DefaultMaxConns = 256
	// DefaultIdleTimeout closes a keep-alive connection idle this long:
	// sushy reuses its connection within a poll (seconds apart) and
	// reconnects after a longer pause.
	DefaultIdleTimeout = 2 * time.Minute
	// DefaultReadTimeout bounds reading one whole request, body included:
	// a request is at most 1 MiB, sent in milliseconds.
	DefaultReadTimeout = 30 * time.Second
	// HeaderTimeout bounds reading a request's headers (at most the read
	// timeout): a client that means to ask sends them within milliseconds.
	HeaderTimeout = 10 * time.Second
	// connLogEvery spaces the warnings about evicted and refused
	// connections: under a flood there is one per accepted connection.
	connLogEvery = 10 * time.Second
)

// ConnConfig is the Redfish listener's connection limits.
type ConnConfig struct {
	// MaxConns caps the open connections (0: DefaultMaxConns, lowered at a
	// small open-file limit as the other fronts' caps are: acceptloop.FDCap).
	MaxConns int
	// IdleTimeout and ReadTimeout are the http.Server's (they tell which
	// closing was theirs, for the metrics); HeaderTimeout is
	// min(HeaderTimeout, ReadTimeout).
	IdleTimeout, ReadTimeout time.Duration
	Logger                   *slog.Logger
	// Observer is told of evictions, refusals, deadlines and the number of
	// open connections (default: nobody).
	Observer Observer
}

// ConnLimit keeps the books of one http.Server's connections: wrap its
// listener with Listener and set its ConnState hook to ConnState.
type ConnLimit struct {
	max                        int
	idleTimeout, headerTimeout time.Duration
	log                        *slog.Logger
	obs                        Observer
	logged                     lograte.Limiter

	mu sync.Mutex
	// mu guards:
	conns map[net.Conn]*tracked
	// idle and fresh are the connections waiting for a request, oldest
	// first: after one (keep-alive) and before the first.
	idle, fresh list.List
}

// tracked is one connection's state and since when it is in it.
type tracked struct {
	state http.ConnState
	since time.Time
	elem  *list.Element // in idle or fresh; nil while active
	// late is set when the first request's headers took the whole header
	// deadline: net/http marks a connection that sent some bytes active
	// just before closing it for the deadline (a slowloris).
	late bool
}

// NewConnLimit applies cfg's defaults.
func NewConnLimit(cfg ConnConfig) *ConnLimit {
	want := cfg.MaxConns
	if want <= 0 {
		want = DefaultMaxConns
	}
	capped, nofile := acceptloop.FDCap(want)
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = capped // an explicit cap is the operator's to choose
	}
	l := &ConnLimit{max: cfg.MaxConns, idleTimeout: cfg.IdleTimeout, headerTimeout: cfg.HeaderTimeout(),
		log: cfg.Logger, obs: cfg.Observer, logged: lograte.Limiter{Every: connLogEvery}, conns: map[net.Conn]*tracked{}}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	if l.obs == nil {
		l.obs = nopObserver{}
	}
	l.log.Info("redfish: connection limits", "max_conns", l.max, "idle_timeout", cfg.IdleTimeout,
		"read_timeout", cfg.ReadTimeout, "open_file_limit", nofile)
	return l
}

// HeaderTimeout is the bound on reading a request's headers.
func (c ConnConfig) HeaderTimeout() time.Duration {
	if c.ReadTimeout > 0 {
		return min(HeaderTimeout, c.ReadTimeout)
	}
	return HeaderTimeout
}

// MaxConns is the cap in force.
func (l *ConnLimit) MaxConns() int { return l.max }

// Listener wraps ln: every connection it returns is counted, and one past
// the cap first evicts another or is closed.
func (l *ConnLimit) Listener(ln net.Listener) net.Listener {
	return &limitedListener{Listener: ln, lim: l}
}

type limitedListener struct {
	net.Listener
	lim *ConnLimit
}

// Accept returns the next connection the cap admits. When accept fails for
// want of a descriptor, an idle connection is closed and accept retried
// (net/http would only back off, freeing nothing).
func (ln *limitedListener) Accept() (net.Conn, error) {
	for {
		c, err := ln.Listener.Accept()
		if err != nil {
			if acceptloop.IsFDExhausted(err) && ln.lim.evictOne(limit.RedfishOpenFiles, "out of file descriptors") {
				continue
			}
			return nil, err
		}
		if ln.lim.admit(c) {
			return c, nil
		}
	}
}

// admit counts c, first evicting a waiting connection if the cap is full;
// it closes c and reports false when every connection is busy.
func (l *ConnLimit) admit(c net.Conn) bool {
	l.mu.Lock()
	var victim net.Conn
	if len(l.conns) >= l.max {
		if victim = l.popVictimLocked(); victim == nil {
			l.mu.Unlock()
			_ = c.Close()
			l.obs.Limited(limit.RedfishMaxConns, limit.Refused)
			l.warn("redfish: connection refused: every connection is busy with a request", "remote", c.RemoteAddr().String())
			return false
		}
	}
	t := &tracked{state: http.StateNew, since: time.Now()}
	t.elem = l.fresh.PushBack(c)
	l.conns[c] = t
	l.reportLocked()
	l.mu.Unlock()
	if victim != nil {
		l.closeVictim(victim, limit.RedfishMaxConns, "too many connections")
	}
	return true
}

// evictOne closes the connection popVictimLocked picks, for limit why; it
// reports whether there was one.
func (l *ConnLimit) evictOne(why limit.Name, reason string) bool {
	l.mu.Lock()
	victim := l.popVictimLocked()
	if victim != nil {
		l.reportLocked()
	}
	l.mu.Unlock()
	if victim == nil {
		return false
	}
	l.closeVictim(victim, why, reason)
	return true
}

// closeVictim closes a connection popVictimLocked took out of the books,
// evicted by limit why.
func (l *ConnLimit) closeVictim(victim net.Conn, why limit.Name, reason string) {
	_ = victim.Close()
	l.obs.Limited(why, limit.Evicted)
	l.warn("redfish: closed waiting connections, idle ones oldest first, to admit new ones", "why", reason)
}

// popVictimLocked takes the oldest idle connection, else the oldest that
// has not sent a request yet, out of the books (nil if every one is
// busy); the caller closes it. An idle keep-alive connection is the cheap
// victim: its client has its answers and reconnects; the newest fresh
// one is likeliest a client about to ask.
func (l *ConnLimit) popVictimLocked() net.Conn {
	e := l.idle.Front()
	if e == nil {
		e = l.fresh.Front()
	}
	if e == nil {
		return nil
	}
	c := e.Value.(net.Conn)
	l.removeLocked(c, l.conns[c])
	return c
}

func (l *ConnLimit) removeLocked(c net.Conn, t *tracked) {
	if t.elem != nil {
		l.listOf(t.state).Remove(t.elem)
	}
	delete(l.conns, c)
}

func (l *ConnLimit) listOf(s http.ConnState) *list.List {
	if s == http.StateIdle {
		return &l.idle
	}
	return &l.fresh
}

// ConnState is the http.Server's hook: it follows each connection from
// waiting for a request to serving one and back, and counts the closings
// the server's deadlines made.
func (l *ConnLimit) ConnState(c net.Conn, s http.ConnState) {
	var closedBy limit.Name
	l.mu.Lock()
	t, ok := l.conns[c]
	switch {
	case !ok || s == http.StateNew: // evicted, or already counted as fresh
	case s == http.StateActive:
		t.late = t.state == http.StateNew && time.Since(t.since) >= l.headerTimeout
		if t.elem != nil {
			l.listOf(t.state).Remove(t.elem)
			t.elem = nil
		}
		t.state = s
	case s == http.StateIdle:
		t.state, t.since = s, time.Now()
		t.elem = l.idle.PushBack(c)
	default: // closed or hijacked
		waited := time.Since(t.since)
		switch {
		case t.state == http.StateIdle && l.idleTimeout > 0 && waited >= l.idleTimeout:
			closedBy = limit.RedfishIdleTimeout
		case t.state == http.StateNew && waited >= l.headerTimeout, t.state == http.StateActive && t.late:
			closedBy = limit.RedfishReadTimeout
		}
		l.removeLocked(c, t)
		l.reportLocked()
	}
	l.mu.Unlock()
	if closedBy != "" {
		l.obs.Limited(closedBy, limit.Closed)
	}
}

// reportLocked tells the observer the connection count after a change;
// l.mu is held, so the levels arrive in the order they were reached.
// Redfish authenticates each request, not the connection: none counts as
// unauthenticated.
func (l *ConnLimit) reportLocked() { l.obs.Connections(limit.Redfish, len(l.conns), 0) }

// warn logs at most every connLogEvery, with the count since the last.
func (l *ConnLimit) warn(msg string, attrs ...any) {
	if n, ok := l.logged.Tick(time.Now()); ok {
		l.log.Warn(msg, append(attrs, "times", n, "max_conns", l.max)...)
	}
}
