package budget

import (
	"math"
	"sync"
	"testing"
)

func TestReserveCountsInEveryAncestor(t *testing.T) {
	server := New(100, "for all SSH sessions", nil)
	a := New(60, "for this session", server)
	b := New(60, "for this session", server)
	if err := a.Reserve(50); err != nil {
		t.Fatal(err)
	}
	// b alone could afford 60, the server only 50 more.
	err := b.Reserve(51)
	if !IsExceeded(err) || err.Error() != "memory budget of 100 bytes for all SSH sessions exceeded" {
		t.Fatalf("b.Reserve(51) = %v, want the server's budget exceeded", err)
	}
	if b.Used() != 0 || server.Used() != 50 {
		t.Errorf("failed reservation left b=%d server=%d, want 0 and 50", b.Used(), server.Used())
	}
	if err := a.Reserve(11); err == nil || err.Error() != "memory budget of 60 bytes for this session exceeded" {
		t.Errorf("a.Reserve(11) = %v, want the session's budget exceeded", err)
	}
	a.Release(50)
	if err := b.Reserve(60); err != nil {
		t.Errorf("after a released, b.Reserve(60) = %v", err)
	}
	if server.Used() != 60 || a.Used() != 0 {
		t.Errorf("server=%d a=%d, want 60 and 0", server.Used(), a.Used())
	}
}

func TestReserveAbsurdSizesDoNotWrap(t *testing.T) {
	b := New(1<<20, "for this session", New(1<<30, "for all SSH sessions", nil))
	for _, n := range []int64{math.MaxInt64, math.MaxInt64 - 1, 1<<20 + 1} {
		if err := b.Reserve(n); !IsExceeded(err) {
			t.Errorf("Reserve(%d) = %v, want exceeded", n, err)
		}
	}
	if b.Used() != 0 || b.parent.Used() != 0 {
		t.Errorf("used %d/%d after refused reservations", b.Used(), b.parent.Used())
	}
	if Add(math.MaxInt64-1, 5) != math.MaxInt64 || Mul(1<<40, 1<<40) != math.MaxInt64 || Mul(3, 4) != 12 {
		t.Error("Add/Mul do not saturate")
	}
}

func TestHoldResizes(t *testing.T) {
	b := New(100, "for this session", nil)
	h := NewHold(b)
	if err := h.Set(70); err != nil {
		t.Fatal(err)
	}
	if err := h.Set(101); err == nil {
		t.Fatal("Set(101) succeeded on a 100-byte budget")
	}
	if h.Held() != 70 || b.Used() != 70 {
		t.Fatalf("failed Set changed the hold: held %d used %d", h.Held(), b.Used())
	}
	if err := h.Set(20); err != nil || b.Used() != 20 {
		t.Fatalf("shrink: %v, used %d", err, b.Used())
	}
	if err := h.Grow(80); err != nil || b.Used() != 100 {
		t.Fatalf("grow to the limit: %v, used %d", err, b.Used())
	}
	h.Release()
	if b.Used() != 0 || h.Held() != 0 {
		t.Fatalf("after Release used %d held %d", b.Used(), h.Held())
	}
	// nil budget: unlimited, nothing counted anywhere
	var nb *Budget
	if err := NewHold(nb).Set(math.MaxInt64); err != nil {
		t.Errorf("nil budget refused: %v", err)
	}
}

// Concurrent holders never push the shared budget over its limit, and it
// returns to zero when they are done.
func TestConcurrentHoldsStayWithinLimit(t *testing.T) {
	server := New(1000, "for all SSH sessions", nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	peak := int64(0)
	for i := range 8 {
		s := New(400, "for this session", server)
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := NewHold(s)
			for j := range 2000 {
				if h.Set(int64((i*31+j*17)%450)) == nil {
					u := server.Used()
					mu.Lock()
					peak = max(peak, u)
					mu.Unlock()
				}
			}
			h.Release()
		}()
	}
	wg.Wait()
	if server.Used() != 0 {
		t.Errorf("server used %d after every hold released", server.Used())
	}
	if peak > 1000 {
		t.Errorf("server peak %d over its limit 1000", peak)
	}
}

func TestSizes(t *testing.T) {
	for in, want := range map[string]int64{
		"64MiB": 64 << 20, "64 MiB": 64 << 20, "64M": 64 << 20, "1GiB": 1 << 30, "2g": 2 << 30,
		"512k": 512 << 10, "4096": 4096, "100B": 100, "0": 0,
	} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "x", "-1", "1.5G", "99999999999G"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) accepted", bad)
		}
	}
	for n, want := range map[int64]string{64 << 20: "64 MiB", 1 << 30: "1 GiB", 1536 << 10: "1536 KiB", 100: "100 bytes"} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
	var s Size
	if err := s.Set("256MiB"); err != nil || s.String() != "256 MiB" || s.Type() != "size" {
		t.Errorf("Size flag: %v %q", err, s.String())
	}
}
