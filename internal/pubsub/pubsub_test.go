package pubsub

import "testing"

func TestHubFanOutDropAndClose(t *testing.T) {
	var dropped []int
	h := New(1, func(_ int, v int) { dropped = append(dropped, v) })
	a, unsubA := h.Subscribe()
	b, unsubB := h.Subscribe()
	h.Publish(1)
	if got := <-a; got != 1 {
		t.Errorf("a got %d", got)
	}
	h.Publish(2) // b still holds 1: its 2 is dropped
	if len(dropped) != 1 || dropped[0] != 2 {
		t.Errorf("dropped = %v, want [2]", dropped)
	}
	if h.Len() != 2 {
		t.Errorf("Len = %d", h.Len())
	}
	unsubB()
	unsubB() // twice is fine
	if v, ok := <-b; !ok || v != 1 {
		t.Errorf("b = %d %v, want the queued 1", v, ok)
	}
	if _, ok := <-b; ok {
		t.Error("b not closed by unsubscribe")
	}
	unsubA()
	if h.Len() != 0 {
		t.Errorf("Len after unsubscribing = %d", h.Len())
	}
	h.Publish(3) // nobody left: no panic on a closed channel
}
