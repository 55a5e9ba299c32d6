package domain_test

import (
	"strings"
	"testing"
	"time"

	"quintupleo/cloudsim"
	"quintupleo/driver/domain"
	"quintupleo/internal/stacktest"
	"quintupleo/nodes"
	"quintupleo/virt"
)

// TestRemovedEventKeepsTheViewsName: two servers share a name, so each
// domain gets a UUID suffix. When one is deleted, its UNDEFINED event must
// carry the name clients knew it by, not the bare name (which now belongs
// to its surviving twin).
func TestRemovedEventKeepsTheViewsName(t *testing.T) {
	sim, cloud := stacktest.Connect(t, cloudsim.Options{TransitionDelay: -1})
	a, err := sim.CreateServer(cloudsim.ServerSpec{Name: "dup"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := sim.CreateServer(cloudsim.ServerSpec{Name: "dup"})
	if err != nil {
		t.Fatal(err)
	}
	inv := nodes.NewInventory(cloud, nodes.InventoryConfig{RefreshInterval: 20 * time.Millisecond})
	d := domain.New(inv, nodes.NewExecutor(inv, nodes.ExecutorConfig{PollInterval: time.Millisecond}), domain.Config{})
	ctx := t.Context()
	done := make(chan struct{}, 2)
	go func() { inv.Run(ctx); done <- struct{}{} }()
	go func() { d.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() { <-done; <-done }) // after t.Context is cancelled

	suffix := func(id string) string { return "dup-" + strings.ReplaceAll(id, "-", "")[:8] }
	want := suffix(b.ID)
	doms, err := d.List(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, dom := range doms {
		names = append(names, dom.Name)
	}
	if len(doms) != 2 || !strings.Contains(strings.Join(names, " "), want) || !strings.Contains(strings.Join(names, " "), suffix(a.ID)) {
		t.Fatalf("domains = %q, want %s and %s", names, suffix(a.ID), want)
	}

	events, unsubscribe := d.Subscribe()
	defer unsubscribe()
	if err := sim.DeleteServer(b.ID); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case ev := <-events:
			if ev.Type != virt.EventUndefined {
				continue
			}
			if ev.Domain.Name != want || ev.Domain.UUID.String() != b.ID {
				t.Errorf("UNDEFINED event for %s (%s), want %s (%s)", ev.Domain.Name, ev.Domain.UUID, want, b.ID)
			}
			return
		case <-time.After(10 * time.Second):
			t.Fatal("no UNDEFINED event")
		}
	}
}
