// Package penalty is the per-source-address penalty for failed logins that
// the SSH and Redfish front ends share, after OpenSSH's PerSourcePenalties
// (sshd 9.8; its defaults authfail:5 min:15 max:600): every failed login
// adds Per to its source address's penalty, which runs from now (or from
// the end of the penalty in force) and never reaches further than Max
// ahead. Once the penalty ahead reaches Min, the address is locked out
// until it has run out. With the defaults, the fourth failed login in quick
// succession (the first three made 15 s less the time they took) locks the
// address out for about 20 s; an address guessing passwords at full speed
// gets four tries every 20 s, and nobody else is affected.
package penalty

import (
	"net"
	"sync"
	"time"
)

// Defaults of the penalties (OpenSSH's).
const (
	DefaultPer = 5 * time.Second
	DefaultMin = 15 * time.Second
	DefaultMax = 10 * time.Minute
	// maxPenalised bounds the addresses remembered; past it new addresses
	// are not penalised (OpenSSH's overflow:permissive), so a flood of
	// sources cannot grow the table.
	maxPenalised = 65536
)

// Table is the table of penalised source addresses. The nil *Table
// penalises nobody. It is safe for concurrent use.
type Table struct {
	per, min, max time.Duration

	mu    sync.Mutex
	until map[string]penalty // by source IP
}

// penalty is one address's: when it ends, and whether it is enforced.
type penalty struct {
	end    time.Time
	active bool
}

// New is a table adding per for every failure, locking an address out
// once its penalty ahead reaches min, never further ahead than max.
func New(per, min, max time.Duration) *Table {
	return &Table{per: per, min: min, max: max, until: map[string]penalty{}}
}

// Source is the key a penalty is held against for addr: the IP, not the
// port.
func Source(addr net.Addr) string {
	if ta, ok := addr.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	return SourceOf(addr.String())
}

// SourceOf is Source for an address in host:port form (an
// http.Request's RemoteAddr).
func SourceOf(hostport string) string {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport
	}
	return host
}

// Failed adds a failed login's penalty to source's.
func (p *Table) Failed(source string, now time.Time) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	pen, known := p.until[source]
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
	p.until[source] = pen
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Refused reports whether source is locked out now, and for how much
// longer.
func (p *Table) Refused(source string, now time.Time) (bool, time.Duration) {
	if p == nil {
		return false, 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	pen, ok := p.until[source]
	if !ok {
		return false, 0
	}
	ahead := pen.end.Sub(now)
	if ahead <= 0 {
		delete(p.until, source)
		return false, 0
	}
	return pen.active, ahead
}

// sweepLocked forgets penalties that have run out.
func (p *Table) sweepLocked(now time.Time) {
	for k, pen := range p.until {
		if !pen.end.After(now) {
			delete(p.until, k)
		}
	}
}

// LogLimiter lets a warning through at most every Every, with the number
// of events since the last one let through: under a flood there is one
// event per connection or request.
type LogLimiter struct {
	Every time.Duration

	mu   sync.Mutex
	n    int
	last time.Time
}

// Tick counts one event and reports whether to log now, and how many
// events the line stands for.
func (l *LogLimiter) Tick(now time.Time) (int, bool) {
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
