package lograte

import (
	"testing"
	"time"
)

// TestLimiter: the first event is logged, the next ones within Every are
// counted, and the line after Every stands for all of them.
func TestLimiter(t *testing.T) {
	l := Limiter{Every: 10 * time.Second}
	t0 := time.Unix(1000, 0)
	if n, ok := l.Tick(t0); !ok || n != 1 {
		t.Fatalf("first event: %d %v, want 1 true", n, ok)
	}
	for i := range 3 {
		if _, ok := l.Tick(t0.Add(time.Duration(i+1) * time.Second)); ok {
			t.Fatalf("event %d within Every logged", i+2)
		}
	}
	if n, ok := l.Tick(t0.Add(10 * time.Second)); !ok || n != 4 {
		t.Fatalf("event after Every: %d %v, want 4 true", n, ok)
	}
	if _, ok := l.Tick(t0.Add(11 * time.Second)); ok {
		t.Fatal("event 1 s after the last line logged")
	}
}
