package penalty

import (
	"net"
	"testing"
	"time"

	"quintupleo/internal/limit"
)

var t0 = time.Unix(1_000_000, 0)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

func refused(p *Table, src string, now time.Time) bool {
	r, _, _ := p.Refused(src, now)
	return r
}

// TestThreshold: penalties add up and are enforced only once the penalty
// ahead exceeds min (sshd: "expiry - now > penalty_min"); exactly min is not
// yet a lock-out.
func TestThreshold(t *testing.T) {
	p := New(DefaultMin, DefaultMax)
	for i := range 3 {
		p.Add("192.0.2.1", DefaultAuthFail, limit.SSHAuthPenalty, t0)
		if refused(p, "192.0.2.1", t0) {
			t.Fatalf("refused after %d failures (%v ahead, min %v)", i+1, time.Duration(i+1)*DefaultAuthFail, DefaultMin)
		}
	}
	p.Add("192.0.2.1", DefaultAuthFail, limit.SSHAuthPenalty, t0)
	r, left, why := p.Refused("192.0.2.1", t0)
	if !r || left != 20*time.Second || why != limit.SSHAuthPenalty {
		t.Fatalf("after 4 failures: %v %v %q, want refused for 20s under %q", r, left, why, limit.SSHAuthPenalty)
	}
	// A single penalty over min is enforced at once (grace-exceeded, 20 s).
	p.Add("192.0.2.2", DefaultGrace, limit.SSHGracePenalty, t0)
	if !refused(p, "192.0.2.2", t0) {
		t.Error("one grace-exceeded penalty (20s > 15s) not enforced at once")
	}
}

// TestDecay: the penalty runs down with time; once enforced it stays
// enforced until it has run out, even below min; then the address is let in
// and a new penalty starts unenforced.
func TestDecay(t *testing.T) {
	p := New(DefaultMin, DefaultMax)
	for range 4 {
		p.Add("192.0.2.1", DefaultAuthFail, limit.SSHAuthPenalty, t0)
	}
	if r, left, _ := p.Refused("192.0.2.1", at(10)); !r || left != 10*time.Second {
		t.Errorf("10 s on: %v %v, want refused for 10s", r, left)
	}
	if refused(p, "192.0.2.1", at(20)) {
		t.Error("refused once the penalty ran out")
	}
	p.Add("192.0.2.1", DefaultAuthFail, limit.SSHAuthPenalty, at(21))
	if refused(p, "192.0.2.1", at(21)) {
		t.Error("a new 5 s penalty after the old one ran out is enforced")
	}
	// Failures spaced wider than their penalty never add up.
	q := New(DefaultMin, DefaultMax)
	for i := range 100 {
		q.Add("192.0.2.3", DefaultNoAuth, limit.SSHNoAuthPenalty, at(float64(i)*1.5))
		if refused(q, "192.0.2.3", at(float64(i)*1.5)) {
			t.Fatalf("a connection every 1.5 s with noauth 1s refused at the %d-th", i+1)
		}
	}
	// An expired penalty nobody asked about is not carried into a new one.
	e := New(DefaultMin, DefaultMax)
	e.Add("192.0.2.4", DefaultGrace, limit.SSHGracePenalty, t0)
	e.Add("192.0.2.4", DefaultNoAuth, limit.SSHNoAuthPenalty, at(60))
	if refused(e, "192.0.2.4", at(60)) {
		t.Error("a 1 s penalty after a run-out 20 s one is enforced")
	}
}

// TestMax: penalties accumulate up to max ahead, not beyond.
func TestMax(t *testing.T) {
	p := New(DefaultMin, time.Minute)
	for range 100 {
		p.Add("192.0.2.1", DefaultGrace, limit.SSHGracePenalty, t0)
	}
	if _, left, _ := p.Refused("192.0.2.1", t0); left != time.Minute {
		t.Errorf("after 100 × 20 s: %v ahead, want max 1m", left)
	}
	if refused(p, "192.0.2.1", at(61)) {
		t.Error("refused past max")
	}
}

// TestPerAddress: one address's penalty is its own: not its neighbour's,
// IPv4 or IPv6 (each address individually, as sshd's
// PerSourceNetBlockSize 32:128), not another port's.
func TestPerAddress(t *testing.T) {
	p := New(DefaultMin, DefaultMax)
	p.Add(Source(&net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 40000}), DefaultGrace, limit.SSHGracePenalty, t0)
	p.Add(Source(&net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 40000}), DefaultGrace, limit.SSHGracePenalty, t0)
	for _, c := range []struct {
		addr string
		want bool
	}{
		{"[2001:db8::1]:50000", true}, {"192.0.2.1:50000", true},
		{"[2001:db8::2]:40000", false}, {"[2001:db8:0:0:1::1]:40000", false}, {"192.0.2.2:40000", false},
	} {
		if got := refused(p, SourceOf(c.addr), t0); got != c.want {
			t.Errorf("%s refused: %v, want %v", c.addr, got, c.want)
		}
	}
	var nilTable *Table
	nilTable.Add("192.0.2.1", DefaultGrace, limit.SSHGracePenalty, t0)
	if refused(nilTable, "192.0.2.1", t0) {
		t.Error("the nil table refused")
	}
	p.Add("192.0.2.9", 0, limit.SSHNoAuthPenalty, t0) // a disabled kind
	if _, left, _ := p.Refused("192.0.2.9", t0); left != 0 {
		t.Errorf("a 0 penalty left %v", left)
	}
}

// TestSource: the key is the IP, the same for one address however it is
// written: an IPv4-mapped IPv6 address (an IPv4 client of a dual-stack
// listener) is its IPv4 address, from a net.Addr and from host:port alike.
func TestSource(t *testing.T) {
	for _, c := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 22}, "192.0.2.1"},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.1"), Port: 22}, "192.0.2.1"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 22}, "2001:db8::1"},
		{&net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 22, Zone: "eth0"}, "fe80::1%eth0"},
	} {
		if got := Source(c.addr); got != c.want {
			t.Errorf("Source(%v) = %q, want %q", c.addr, got, c.want)
		}
		if got := SourceOf(c.addr.String()); got != c.want {
			t.Errorf("SourceOf(%q) = %q, want %q", c.addr.String(), got, c.want)
		}
	}
	if got := SourceOf("[::ffff:192.0.2.1]:443"); got != "192.0.2.1" {
		t.Errorf("SourceOf of a mapped address = %q", got)
	}
	if got := SourceOf("pipe"); got != "pipe" {
		t.Errorf("SourceOf(pipe) = %q, want it unchanged", got)
	}
}

// TestTableBounded: past maxPenalised addresses, run-out penalties are
// swept to make room, and while every entry is in force a new address is
// not penalised (sshd's overflow:permissive) rather than the table
// growing.
func TestTableBounded(t *testing.T) {
	p := New(DefaultMin, DefaultMax)
	for i := range maxPenalised {
		p.Add(netip4(i), DefaultGrace, limit.SSHGracePenalty, t0)
	}
	p.Add("198.51.100.1", DefaultGrace, limit.SSHGracePenalty, t0)
	if refused(p, "198.51.100.1", t0) || len(p.until) != maxPenalised {
		t.Errorf("a full table took a new address (%d entries)", len(p.until))
	}
	p.Add("198.51.100.1", DefaultGrace, limit.SSHGracePenalty, at(30))
	if !refused(p, "198.51.100.1", at(30)) || len(p.until) != 1 {
		t.Errorf("run-out entries not swept for a new address (%d entries)", len(p.until))
	}
}

func netip4(i int) string {
	return net.IPv4(10, byte(i>>16), byte(i>>8), byte(i)).String()
}
