package nodes_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"quintupleo/cloudsim"
	"quintupleo/internal/stacktest"
	"quintupleo/nodes"
)

// connectWithin connects to sim with a per-request deadline.
func connectWithin(t *testing.T, sim *cloudsim.Sim, timeout time.Duration) *nodes.Cloud {
	t.Helper()
	cfg := stacktest.SimConfig(sim)
	cfg.RequestTimeout = timeout
	cloud, err := nodes.Connect(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cloud
}

func TestRefreshAbandonsAListingTheCloudNeverAnswers(t *testing.T) {
	sim := stacktest.StartSim(t, cloudsim.Options{Nodes: 3})
	const timeout = 200 * time.Millisecond
	inv := nodes.NewInventory(connectWithin(t, sim, timeout), nodes.InventoryConfig{RefreshInterval: time.Hour})
	if _, err := sim.AddFault(cloudsim.Fault{Endpoint: "servers/detail", Hang: true, Count: 1}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err := inv.Refresh(t.Context())
	took := time.Since(start)
	if !errors.Is(err, nodes.ErrUnavailable) || !strings.Contains(err.Error(), "no answer from GET "+sim.URL()) ||
		!strings.Contains(err.Error(), "/servers/detail within 200ms") {
		t.Errorf("refresh of a hung listing: %v", err)
	}
	if took < timeout || took > timeout+2*time.Second {
		t.Errorf("refresh of a hung listing returned after %s, want just past %s", took, timeout)
	}
	// The hang was one request: the next refresh works.
	if err := inv.Refresh(t.Context()); err != nil {
		t.Fatalf("refresh after the hang: %v", err)
	}
	if ns, _, err := inv.Nodes(t.Context()); err != nil || len(ns) != 3 {
		t.Errorf("Nodes after the hang = %d, %v", len(ns), err)
	}
}

func TestRefreshTimeoutBoundsTheWholeListing(t *testing.T) {
	// Every page answers within the request deadline; together they do not
	// fit the refresh deadline.
	sim := stacktest.StartSim(t, cloudsim.Options{Nodes: 3})
	cloud := connectWithin(t, sim, 10*time.Second)
	inv := nodes.NewInventory(cloud, nodes.InventoryConfig{RefreshInterval: time.Hour, RefreshTimeout: 100 * time.Millisecond})
	if _, err := sim.AddFault(cloudsim.Fault{Endpoint: "servers/detail", Latency: time.Second}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err := inv.Refresh(t.Context())
	if took := time.Since(start); took > 900*time.Millisecond {
		t.Errorf("refresh returned after %s, past its 100ms deadline", took)
	}
	if !errors.Is(err, nodes.ErrUnavailable) || !strings.Contains(err.Error(), "within the refresh deadline of 100ms") {
		t.Errorf("refresh past its deadline: %v", err)
	}
}

func TestWaitingForARefreshEndsWithTheCallersContext(t *testing.T) {
	sim := stacktest.StartSim(t, cloudsim.Options{Nodes: 3})
	inv := nodes.NewInventory(connectWithin(t, sim, time.Minute), nodes.InventoryConfig{RefreshInterval: time.Hour})
	if _, err := sim.AddFault(cloudsim.Fault{Endpoint: "servers/detail", Hang: true, Count: 1}); err != nil {
		t.Fatal(err)
	}
	stuckCtx, release := context.WithCancel(t.Context())
	stuck := make(chan error, 1)
	go func() { stuck <- inv.Refresh(stuckCtx) }()
	for len(sim.Faults()) > 0 { // the fault vanishes when the hang begins
		time.Sleep(5 * time.Millisecond)
	}

	// A reader behind the stuck refresh gives up when its own context ends.
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := inv.Nodes(ctx)
	if took := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || took > time.Second {
		t.Errorf("reader behind a stuck refresh: %v after %s", err, took)
	}
	release()
	if err := <-stuck; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled refresh: %v", err)
	}
}
