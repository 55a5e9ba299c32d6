package nodes_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"quintupleo/cloudsim"
	"quintupleo/internal/stacktest"
	"quintupleo/nodes"
)

// TestReadsAnswerAtOnceWhileAConnectAttemptHangs: with the cloud down at
// start, a client's read is answered with the last attempt's error at once,
// even while the refresh loop's next attempt waits on a Keystone that does
// not answer — it must not queue behind that attempt for its whole
// deadline.
func TestReadsAnswerAtOnceWhileAConnectAttemptHangs(t *testing.T) {
	sim := stacktest.StartSim(t, cloudsim.Options{Nodes: 1, Faults: []cloudsim.Fault{
		{Endpoint: "auth/tokens", ErrorRate: 1, Status: 500, Count: 1}}})
	cfg := stacktest.SimConfig(sim)
	cfg.RequestTimeout, cfg.MaxRetries = 3*time.Second, -1
	link, err := nodes.NewLink(cfg)
	if err != nil {
		t.Fatal(err)
	}
	inv := nodes.NewLinkedInventory(link, nodes.InventoryConfig{RefreshInterval: time.Hour})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if err := inv.Refresh(ctx); !errors.Is(err, nodes.ErrUnavailable) {
		t.Fatalf("first refresh against a failing Keystone: %v, want ErrUnavailable", err)
	}
	if _, err := sim.AddFault(cloudsim.Fault{Endpoint: "auth/tokens", Hang: true}); err != nil {
		t.Fatal(err)
	}
	// The refresh loop's part: attempts as often as the back-off lets it.
	// A call that has not returned for a while is an attempt in progress.
	var began atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			began.Store(time.Now().UnixNano())
			_ = inv.Refresh(ctx)
			began.Store(0)
		}
	}()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if b := began.Load(); b != 0 && time.Since(time.Unix(0, b)) > 500*time.Millisecond {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no connect attempt ever hung")
		}
		time.Sleep(10 * time.Millisecond) // polling a condition, with the deadline above
	}
	t0 := time.Now()
	_, _, err = inv.Nodes(ctx)
	if took := time.Since(t0); !errors.Is(err, nodes.ErrUnavailable) || took > 200*time.Millisecond {
		t.Fatalf("a read while an attempt hangs: %v after %s, want the last error at once", err, took)
	}
}
