// Package budget accounts the memory that SSH sessions' command lines hold:
// one Budget per session, whose parent is one Budget for the whole server.
// Every tool, and the confined shell for its variables and expansions,
// reserves what it is about to allocate before allocating it, and releases
// it when the data is dropped, so a command line that would grow without
// bound fails with an *ExceededError instead of taking the process down.
//
// The accounting counts bytes of data (plus a per-item overhead where the
// callers know one), not Go heap pages: the garbage collector can hold up to
// about twice the live data, which the server-wide default leaves room for.
package budget

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
)

// Budget is a limit on bytes held at once, shared by concurrent users. A
// reservation counts against the budget and every ancestor; it fails when
// any of them would go over. The nil *Budget is unlimited.
type Budget struct {
	limit  int64
	scope  string // "for this session", "for all SSH sessions"
	parent *Budget
	used   atomic.Int64
	// refused, when set, is told of every reservation made in this budget
	// that was refused (Watch).
	refused func(by *Budget)
}

// New returns a budget of limit bytes (≤ 0: unlimited) inside parent (nil:
// none). scope completes the error message: "memory budget of 64 MiB
// <scope> exceeded".
func New(limit int64, scope string, parent *Budget) *Budget {
	if limit <= 0 {
		limit = math.MaxInt64
	}
	return &Budget{limit: limit, scope: scope, parent: parent}
}

// Watch makes every refused reservation made in b call f, on the
// reserving goroutine, with the budget that refused it (b or an ancestor),
// so that the owner can report which limit acted. Call it before b is
// shared; it returns b.
func (b *Budget) Watch(f func(by *Budget)) *Budget {
	b.refused = f
	return b
}

// Limit is the budget's size in bytes.
func (b *Budget) Limit() int64 {
	if b == nil {
		return math.MaxInt64
	}
	return b.limit
}

// Used is what is reserved now.
func (b *Budget) Used() int64 {
	if b == nil {
		return 0
	}
	return b.used.Load()
}

// Reserve takes n bytes from b and its ancestors, or nothing and an
// *ExceededError naming the first budget that cannot afford them.
func (b *Budget) Reserve(n int64) error {
	if n <= 0 {
		return nil
	}
	for p := b; p != nil; p = p.parent {
		if !p.take(n) {
			for q := b; q != p; q = q.parent {
				q.used.Add(-n)
			}
			if b.refused != nil {
				b.refused(p)
			}
			return &ExceededError{Limit: p.limit, Scope: p.scope}
		}
	}
	return nil
}

// take adds n to used unless that would pass the limit; used never
// exceeds the limit, even for a moment, so Used is always a true figure.
func (b *Budget) take(n int64) bool {
	for {
		cur := b.used.Load()
		if n > b.limit-cur { // not cur+n > limit: that could overflow
			return false
		}
		if b.used.CompareAndSwap(cur, cur+n) {
			return true
		}
	}
}

// Release gives back n bytes reserved earlier.
func (b *Budget) Release(n int64) {
	if n <= 0 {
		return
	}
	for p := b; p != nil; p = p.parent {
		p.used.Add(-n)
	}
}

// Hold is one user's reservation in a budget, resized to what that user
// holds: Set before allocating, Release when done. A Hold is used by one
// goroutine; the Budget behind it is shared.
type Hold struct {
	b *Budget
	n int64
}

// NewHold starts an empty reservation in b (nil: unlimited).
func NewHold(b *Budget) *Hold { return &Hold{b: b} }

// Held is the size of the reservation.
func (h *Hold) Held() int64 { return h.n }

// Set resizes the reservation to n bytes. Growing may fail, and then the
// reservation is unchanged; shrinking always succeeds.
func (h *Hold) Set(n int64) error {
	if n < 0 {
		n = 0
	}
	if n > h.n {
		if err := h.b.Reserve(n - h.n); err != nil {
			return err
		}
	} else {
		h.b.Release(h.n - n)
	}
	h.n = n
	return nil
}

// Grow adds n bytes to the reservation.
func (h *Hold) Grow(n int64) error { return h.Set(Add(h.n, n)) }

// Release gives the whole reservation back.
func (h *Hold) Release() { _ = h.Set(0) }

// Add is a+b for sizes, saturating instead of overflowing: bounds computed
// from hostile input (a width of 10^18, a million references to a large
// variable) must stay "too large", never wrap to small.
func Add(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// Mul is a*b for non-negative sizes, saturating like Add.
func Mul(a, b int64) int64 {
	if a == 0 || b == 0 {
		return 0
	}
	if a > math.MaxInt64/b {
		return math.MaxInt64
	}
	return a * b
}

// ExceededError is a reservation a budget could not afford.
type ExceededError struct {
	Limit int64
	Scope string
}

func (e *ExceededError) Error() string {
	return fmt.Sprintf("memory budget of %s %s exceeded", FormatSize(e.Limit), e.Scope)
}

// IsExceeded reports whether err is, or wraps, an *ExceededError.
func IsExceeded(err error) bool {
	var e *ExceededError
	return errors.As(err, &e)
}

var units = []struct {
	suffix string
	size   int64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}}

// FormatSize writes n in the largest binary unit that divides it: "64 MiB",
// "1536 KiB", "100 bytes".
func FormatSize(n int64) string {
	for _, u := range units {
		if n >= u.size && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + " " + u.suffix
		}
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// ParseSize reads "64MiB", "64 MiB", "64M", "1GiB", "1G", "512k", "4096":
// binary units (K/M/G = KiB/MiB/GiB, as memory sizes are usually meant).
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	upper := strings.ToUpper(t)
	for _, u := range []struct {
		suffixes []string
		size     int64
	}{{[]string{"GIB", "GB", "G"}, 1 << 30}, {[]string{"MIB", "MB", "M"}, 1 << 20}, {[]string{"KIB", "KB", "K"}, 1 << 10}, {[]string{"B"}, 1}} {
		found := false
		for _, suf := range u.suffixes {
			if strings.HasSuffix(upper, suf) {
				t, mult, found = strings.TrimSpace(t[:len(t)-len(suf)]), u.size, true
				break
			}
		}
		if found {
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid size %q (want e.g. 64MiB, 1GiB, 4096)", s)
	}
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("size %q too large", s)
	}
	return n * mult, nil
}

// Size is a byte count flag (pflag.Value): --ssh-session-memory=64MiB.
type Size int64

func (s *Size) Set(v string) error {
	n, err := ParseSize(v)
	if err != nil {
		return err
	}
	*s = Size(n)
	return nil
}

func (s *Size) String() string { return FormatSize(int64(*s)) }

// Type names the flag's value in --help.
func (s *Size) Type() string { return "size" }
