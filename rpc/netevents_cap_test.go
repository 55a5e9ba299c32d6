package rpc

import (
	"context"
	"sync"
	"testing"

	"github.com/digitalocean/go-libvirt"
)

// TestNetworkEventRegistrationsTogetherKeepTheCap sends network event
// registrations on one connection from goroutines released together, as
// the calls a client has in flight run (one goroutine each), round after
// round, with one slot left under the cap: exactly one may be accepted.
// The network path counted the connection's callbacks and added its own
// under separate locks, so registrations that ran together could all pass
// the count, and a client went past --max-event-callbacks by up to its
// calls in flight; the domain path holds one lock across both. (The
// window is a few instructions wide: a wire client on a loaded machine
// rarely hits it, goroutines started together do within a few rounds.)
func TestNetworkEventRegistrationsTogetherKeepTheCap(t *testing.T) {
	const together, rounds = 8, 2000
	ended, cancel := context.WithCancel(t.Context())
	cancel() // no Networks subscription: the registrations are all there is
	srv := &Server{maxCallbacks: 2}
	for round := range rounds {
		c := &conn{srv: srv, ctx: ended, callbacks: map[int32]eventCallback{0: {}}, legacy: map[int32]bool{}}
		start := make(chan struct{})
		var wg sync.WaitGroup
		var mu sync.Mutex
		accepted := 0
		for range together {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if _, err := connectNetworkEventRegisterAny(ended, c, &libvirt.ConnectNetworkEventRegisterAnyArgs{}); err == nil {
					mu.Lock()
					accepted++
					mu.Unlock()
				}
			}()
		}
		close(start)
		wg.Wait()
		if accepted != 1 {
			t.Fatalf("round %d: %d of %d registrations run together accepted with one slot free, want 1", round+1, accepted, together)
		}
	}
}
