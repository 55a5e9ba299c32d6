package ssh

import (
	"net"
	"sync"
	"time"

	"quintupleo/internal/limit"
)

// Per-source penalties for failed logins, after OpenSSH's
// PerSourcePenalties (sshd 9.8; its defaults authfail:5 min:15 max:600):
// every connection that tried to authenticate and ended without succeeding
// adds AuthFailPenalty to its source address's penalty, which runs from now
// (or from the end of the penalty in force) and never reaches further than
// PenaltyMax ahead. Once the penalty ahead reaches PenaltyMin, new
// connections from that address are closed at accept until it has run out.
// With the defaults, the fourth failed login in quick succession (the
// first three made 15 s less the time they took) locks the address out for
// about 20 s; an address guessing keys at full speed gets four tries every
// 20 s instead of MaxStartups at once, and nobody else is affected.

// Defaults of the penalties (OpenSSH's).
const (
	DefaultAuthFailPenalty = 5 * time.Second
	DefaultPenaltyMin      = 15 * time.Second
	DefaultPenaltyMax      = 10 * time.Minute
	// maxPenalised bounds the addresses remembered; past it new addresses
	// are not penalised (OpenSSH's overflow:permissive), so a flood of
	// sources cannot grow the table.
	maxPenalised = 65536
)

// penalties is the table of penalised source addresses.
type penalties struct {
	per, min, max time.Duration

	mu    sync.Mutex
	until map[string]penalty // by source IP
}

// penalty is one address's: when it ends, and whether it is enforced.
type penalty struct {
	end    time.Time
	active bool
}

func newPenalties(per, min, max time.Duration) *penalties {
	return &penalties{per: per, min: min, max: max, until: map[string]penalty{}}
}

// sourceKey is the address a penalty is held against: the IP, not the port.
func sourceKey(addr net.Addr) string {
	if ta, ok := addr.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	return host
}

// authFailed adds a failed login's penalty to addr's.
func (p *penalties) authFailed(addr net.Addr, now time.Time) {
	if p == nil {
		return
	}
	k := sourceKey(addr)
	p.mu.Lock()
	defer p.mu.Unlock()
	pen, known := p.until[k]
	if !known && len(p.until) >= maxPenalised {
		p.sweepLocked(now)
		if len(p.until) >= maxPenalised {
			return
		}
	}
	pen.end = maxTime(pen.end, now).Add(p.per)
	if limit := now.Add(p.max); pen.end.After(limit) {
		pen.end = limit
	}
	pen.active = pen.active || pen.end.Sub(now) >= p.min
	p.until[k] = pen
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// refused reports whether addr is locked out now, and for how much longer.
func (p *penalties) refused(addr net.Addr, now time.Time) (bool, time.Duration) {
	if p == nil {
		return false, 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	k := sourceKey(addr)
	pen, ok := p.until[k]
	if !ok {
		return false, 0
	}
	ahead := pen.end.Sub(now)
	if ahead <= 0 {
		delete(p.until, k)
		return false, 0
	}
	return pen.active, ahead
}

// sweepLocked forgets penalties that have run out.
func (p *penalties) sweepLocked(now time.Time) {
	for k, pen := range p.until {
		if !pen.end.After(now) {
			delete(p.until, k)
		}
	}
}

// refusePenalised closes c at once if its source address is locked out,
// and says so in the log at most every evictionLogEvery.
func (s *Server) refusePenalised(c net.Conn) bool {
	refused, left := s.penalties.refused(c.RemoteAddr(), time.Now())
	if !refused {
		return false
	}
	_ = c.Close()
	s.cfg.Observer.Limited(limit.SSHAuthPenalty, limit.Refused)
	if n, ok := s.refusedLog.tick(time.Now()); ok {
		s.log.Warn("ssh: connection refused: source address penalised for failed logins",
			"remote", sourceKey(c.RemoteAddr()), "penalty_left", left.Round(time.Second), "refused", n)
	}
	return true
}

// logLimiter lets a warning through at most every evictionLogEvery, with
// the number of events since the last one let through.
type logLimiter struct {
	mu   sync.Mutex
	n    int
	last time.Time
}

func (l *logLimiter) tick(now time.Time) (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	if now.Sub(l.last) < evictionLogEvery {
		return 0, false
	}
	n := l.n
	l.n, l.last = 0, now
	return n, true
}
