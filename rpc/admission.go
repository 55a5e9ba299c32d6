package rpc

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"time"

	"quintupleo/internal/limit"
)

// ErrOpenTimeout ends a listener connection that did not complete
// CONNECT_OPEN within the open timeout (WithOpenTimeout).
var ErrOpenTimeout = errors.New("rpc: connection did not open in time")

// errEvicted ends a connection that had not opened, closed to admit a newer
// one when a cap was full or file descriptors ran out.
var errEvicted = errors.New("rpc: connection closed before CONNECT_OPEN to admit a newer one")

// evictionLogEvery spaces the warnings about evictions: under a flood there
// is one per accepted connection, and the log must not become the flood.
const evictionLogEvery = 10 * time.Second

// admission bounds the connections accepted from listeners: at most max at
// once, at most maxPreOpen of them not yet through CONNECT_OPEN. When a cap
// is full, the oldest connection that has not opened makes room for the new
// one (sshd's MaxStartups idea, with "oldest" for "random"): a libvirt
// client opens within milliseconds of connecting, so the oldest unopened
// connection is the likeliest idle, and a flood of idle connections cannot
// lock out a client that opens promptly. Only when every admitted
// connection has opened does accepting wait for one to end, as libvirtd
// does at max_clients; the waiting clients stay in the kernel's backlog and
// cost this process no descriptor.
type admission struct {
	max, maxPreOpen int
	// obs is told of evictions, waits and every change of the counts.
	obs Observer

	mu sync.Mutex // guards the fields below
	// conns are the admitted connections; the element is the connection's
	// place in preOpen, nil once it has opened.
	conns   map[*conn]*list.Element
	preOpen list.List // of *conn, oldest first
	// freed is closed, and replaced, whenever a connection leaves or the
	// server shuts down: wait blocks on it.
	freed  chan struct{}
	closed bool
	// evicted counts evictions since lastLog.
	evicted int
	lastLog time.Time
}

func newAdmission(max, maxPreOpen int, obs Observer) *admission {
	return &admission{max: max, maxPreOpen: min(maxPreOpen, max), obs: obs, conns: map[*conn]*list.Element{}, freed: make(chan struct{})}
}

// wait blocks until a new connection could be admitted: a slot is free, or
// an unopened connection could give up its own. It fails once the server
// shuts down or ctx ends.
func (a *admission) wait(ctx context.Context) error {
	for waited := false; ; waited = true {
		a.mu.Lock()
		if a.closed {
			a.mu.Unlock()
			return ErrServerClosed
		}
		if len(a.conns) < a.max || a.preOpen.Len() > 0 {
			a.mu.Unlock()
			return nil
		}
		freed := a.freed
		a.mu.Unlock()
		if !waited {
			a.obs.Limited(limit.MaxClients, limit.Waited)
		}
		select {
		case <-freed:
		case <-ctx.Done():
			return ErrServerClosed
		}
	}
}

// admit counts c in, evicting the oldest unopened connections as the caps
// require; the caller closes the victims (outside the lock). If every slot
// holds an opened connection (one wait counted as unopened may have opened
// since), it waits for a slot like wait. It fails once the server shuts
// down or ctx ends.
func (a *admission) admit(ctx context.Context, c *conn) (victims []*conn, err error) {
	for waited := false; ; waited = true {
		a.mu.Lock()
		if a.closed {
			a.mu.Unlock()
			return victims, ErrServerClosed
		}
		for len(a.conns) >= a.max || a.preOpen.Len() >= a.maxPreOpen {
			// The unopened cap is the one to blame when both are full.
			why := limit.MaxClients
			if a.preOpen.Len() >= a.maxPreOpen {
				why = limit.MaxAnonymousClients
			}
			v := a.popOldestLocked(why)
			if v == nil {
				break
			}
			victims = append(victims, v)
		}
		if len(a.conns) < a.max {
			a.conns[c] = a.preOpen.PushBack(c)
			a.reportLocked()
			a.mu.Unlock()
			return victims, nil
		}
		freed := a.freed
		a.mu.Unlock()
		if !waited {
			a.obs.Limited(limit.MaxClients, limit.Waited)
		}
		select {
		case <-freed:
		case <-ctx.Done():
			return victims, ErrServerClosed
		}
	}
}

// popOldestLocked removes and returns the oldest connection that has not
// opened (nil if none), an eviction for the limit why. One that opened in
// the meantime is only moved out of preOpen.
func (a *admission) popOldestLocked(why limit.Name) *conn {
	for e := a.preOpen.Front(); e != nil; e = a.preOpen.Front() {
		c := a.preOpen.Remove(e).(*conn)
		if c.isOpen() {
			a.conns[c] = nil
			continue
		}
		delete(a.conns, c)
		a.evicted++
		a.obs.Limited(why, limit.Evicted)
		a.reportLocked()
		return c
	}
	return nil
}

// evictOldest removes the oldest unopened connection, to free its
// descriptor when accept fails for want of one. The caller closes it.
func (a *admission) evictOldest() *conn {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.popOldestLocked(limit.OpenFiles)
}

// opened moves c out of the unopened set once CONNECT_OPEN succeeded; the
// eviction and the open deadline no longer apply to it.
func (a *admission) opened(c *conn) {
	if !c.isOpen() {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if e := a.conns[c]; e != nil {
		a.preOpen.Remove(e)
		a.conns[c] = nil
		a.reportLocked()
	}
}

// release counts c out when it ends (a no-op for an evicted one).
func (a *admission) release(c *conn) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.conns[c]
	if !ok {
		return
	}
	if e != nil {
		a.preOpen.Remove(e)
	}
	delete(a.conns, c)
	a.reportLocked()
	a.signalLocked()
}

// reportLocked tells the observer the counts after a change; a.mu is held,
// so the levels arrive in the order they were reached.
func (a *admission) reportLocked() {
	a.obs.Connections(limit.Libvirt, len(a.conns), a.preOpen.Len())
}

// shutdown makes wait fail from now on.
func (a *admission) shutdown() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	a.signalLocked()
}

func (a *admission) signalLocked() {
	close(a.freed)
	a.freed = make(chan struct{})
}

// evictionsToLog returns how many evictions to report now, or 0 while the
// last report is recent.
func (a *admission) evictionsToLog(now time.Time) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.evicted == 0 || now.Sub(a.lastLog) < evictionLogEvery {
		return 0
	}
	n := a.evicted
	a.evicted, a.lastLog = 0, now
	return n
}

// counts reports the admitted connections and how many have not opened.
func (a *admission) counts() (total, preOpen int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.conns), a.preOpen.Len()
}
