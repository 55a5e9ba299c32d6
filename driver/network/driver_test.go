package network

import (
	"context"
	"sync"
	"testing"
	"time"

	"quintupleo/nodes/neutron"
)

// slowCloud is a Neutron whose listings can be held in flight: a listing
// copies the state when it starts, as a real one answers with what the
// database held when the request was served.
type slowCloud struct {
	mu    sync.Mutex
	up    bool
	hold  chan struct{} // when set, a listing waits for it after reading
	lists int
}

const netID = "8a4c3f2e-1b2d-4e5f-9a8b-7c6d5e4f3a2b"

func (c *slowCloud) List(ctx context.Context) ([]neutron.Network, error) {
	c.mu.Lock()
	n := neutron.Network{ID: netID, Name: "brbm", AdminUp: c.up, Description: descDefined}
	hold := c.hold
	c.lists++
	c.mu.Unlock()
	if hold != nil {
		<-hold
	}
	return []neutron.Network{n}, nil
}

func (c *slowCloud) SetAdminUp(ctx context.Context, id string, up bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.up = up
	return nil
}

func (c *slowCloud) CreateNetwork(context.Context, neutron.NetworkSpec) (string, error) {
	panic("unused")
}
func (c *slowCloud) CreateSubnet(context.Context, neutron.SubnetSpec) (string, error) {
	panic("unused")
}
func (c *slowCloud) DeleteNetwork(context.Context, string) error           { panic("unused") }
func (c *slowCloud) Ports(context.Context, string) ([]neutron.Port, error) { panic("unused") }

// TestOwnChangeWinsOverAListingInFlight: a listing that started before
// net-start (an event poll) and ends after it must not be taken as the
// state after the start. Before the generation count, net-destroy right
// after net-start was refused "network is not active" now and then
// (TestNetworkEvents under load).
func TestOwnChangeWinsOverAListingInFlight(t *testing.T) {
	c := &slowCloud{}
	d := New(c, Config{TTL: time.Hour})
	ctx := t.Context()
	v, err := d.current(ctx)
	if err != nil || len(v.nets) != 1 {
		t.Fatalf("first listing: %v, %v", v, err)
	}
	u := v.nets[0].UUID

	// A poll starts listing (seeing the network down) and is held.
	c.mu.Lock()
	c.hold = make(chan struct{})
	hold := c.hold
	c.mu.Unlock()
	polled := make(chan error, 1)
	go func() { _, err := d.refresh(ctx, v); polled <- err }() // as Run's poll does
	for {
		c.mu.Lock()
		n := c.lists
		c.mu.Unlock()
		if n == 2 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	c.mu.Lock()
	c.hold = nil // later listings answer at once
	c.mu.Unlock()

	started := make(chan error, 1)
	go func() { started <- d.Start(ctx, u) }()
	time.Sleep(20 * time.Millisecond) // Start has written and waits for the listing lock
	close(hold)
	if err := <-polled; err != nil {
		t.Fatal(err)
	}
	if err := <-started; err != nil {
		t.Fatalf("net-start: %v", err)
	}
	n, err := d.LookupByUUID(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if !n.Active {
		t.Fatal("after net-start the network reads inactive: a listing from before the start was kept")
	}
}
