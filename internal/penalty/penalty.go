// Package penalty is the per-source-address penalty the SSH and Redfish
// front ends share, after OpenSSH's PerSourcePenalties (sshd 9.8;
// sshd_config(5)): every connection or login that ends badly adds its
// kind's duration to its source address's penalty (sshd's authfail:5s for
// a failed login, noauth:1s for a connection that never tried to log in,
// grace-exceeded:20s for one that ran out of LoginGraceTime). A penalty
// runs from now, or from the end of the one in force, and never reaches
// further than Max ahead; it decays as time passes. Once the penalty ahead
// exceeds Min (sshd's min:15s) the address is locked out until it has run
// out. With the defaults, the fourth failed login in quick succession (the
// first three made 15 s less the time they took) locks the address out
// for about 20 s; an address guessing passwords at full speed gets four
// tries every 20 s, and nobody else is affected.
//
// The key is the address itself, IPv4 and IPv6 alike: sshd's
// PerSourceNetBlockSize default 32:128, "each address is considered
// individually". An IPv4 address that reaches an IPv6 listener as
// ::ffff:a.b.c.d is the same key as a.b.c.d.
package penalty

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"quintupleo/internal/limit"
)

// Defaults of the penalties (OpenSSH's).
const (
	DefaultAuthFail = 5 * time.Second  // a failed login (authfail)
	DefaultNoAuth   = 1 * time.Second  // a connection that never tried to log in (noauth)
	DefaultGrace    = 20 * time.Second // a connection that ran out of its login deadline (grace-exceeded)
	DefaultMin      = 15 * time.Second
	DefaultMax      = 10 * time.Minute
	// maxPenalised bounds the addresses remembered (sshd's max-sources4
	// and max-sources6); past it new addresses are not penalised (sshd's
	// overflow:permissive), so a flood of sources cannot grow the table.
	maxPenalised = 65536
)

// Table is the table of penalised source addresses. The nil *Table
// penalises nobody. It is safe for concurrent use.
type Table struct {
	min, max time.Duration

	mu    sync.Mutex
	until map[string]penalty // by Source
}

// penalty is one address's: when it ends, whether it is enforced, and the
// limit whose event added to it last (what a refusal is counted under).
type penalty struct {
	end    time.Time
	active bool
	why    limit.Name
}

// New is a table locking an address out once its penalty ahead exceeds
// min, never further ahead than max.
func New(min, max time.Duration) *Table {
	return &Table{min: min, max: max, until: map[string]penalty{}}
}

// Source is the key a penalty is held against for addr: the IP, not the
// port.
func Source(addr net.Addr) string {
	if ta, ok := addr.(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap().String()
	}
	return SourceOf(addr.String())
}

// SourceOf is Source for an address in host:port form (an
// http.Request's RemoteAddr).
func SourceOf(hostport string) string {
	if ap, err := netip.ParseAddrPort(hostport); err == nil {
		return ap.Addr().Unmap().String()
	}
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		return host
	}
	return hostport
}

// Add adds d to source's penalty for an event of the limit why; d ≤ 0
// adds nothing.
func (p *Table) Add(source string, d time.Duration, why limit.Name, now time.Time) {
	if p == nil || d <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	pen, known := p.until[source]
	if known && !pen.end.After(now) {
		pen = penalty{} // run out: a new penalty, not enforced yet
	}
	if !known && len(p.until) >= maxPenalised {
		p.sweepLocked(now)
		if len(p.until) >= maxPenalised {
			return
		}
	}
	pen.end = maxTime(pen.end, now).Add(d)
	if limit := now.Add(p.max); pen.end.After(limit) {
		pen.end = limit
	}
	pen.active = pen.active || pen.end.Sub(now) > p.min
	pen.why = why
	p.until[source] = pen
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Refused reports whether source is locked out now, for how much longer,
// and the limit whose event added to its penalty last.
func (p *Table) Refused(source string, now time.Time) (refused bool, left time.Duration, why limit.Name) {
	if p == nil {
		return false, 0, ""
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	pen, ok := p.until[source]
	if !ok {
		return false, 0, ""
	}
	ahead := pen.end.Sub(now)
	if ahead <= 0 {
		delete(p.until, source)
		return false, 0, ""
	}
	return pen.active, ahead, pen.why
}

// sweepLocked forgets penalties that have run out.
func (p *Table) sweepLocked(now time.Time) {
	for k, pen := range p.until {
		if !pen.end.After(now) {
			delete(p.until, k)
		}
	}
}
