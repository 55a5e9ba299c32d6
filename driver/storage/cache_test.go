package storage

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"quintupleo/nodes/cinder"
)

// heldCloud is a Cinder whose first listing reads the volumes when it
// starts and answers only when released: a listing in flight across a
// change.
type heldCloud struct {
	started, release chan struct{}

	mu sync.Mutex
	// mu guards:
	vols  []cinder.Volume
	lists int
}

func (c *heldCloud) Project() string { return "p" }

func (c *heldCloud) List(ctx context.Context) ([]cinder.Volume, error) {
	c.mu.Lock()
	c.lists++
	first, vols := c.lists == 1, slices.Clone(c.vols)
	c.mu.Unlock()
	if first {
		close(c.started)
		select {
		case <-c.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return vols, nil
}

func (c *heldCloud) Get(ctx context.Context, id string) (cinder.Volume, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, v := range c.vols {
		if v.ID == id {
			return v, nil
		}
	}
	return cinder.Volume{}, &cinder.Error{Op: "get " + id, Kind: cinder.ErrNotFound}
}

func (c *heldCloud) Usage(context.Context) (cinder.Usage, error) {
	return cinder.Usage{LimitGiB: 100}, nil
}

func (c *heldCloud) Create(_ context.Context, spec cinder.CreateSpec) (cinder.Volume, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := cinder.Volume{ID: "11111111-2222-3333-4444-555555555555", Name: spec.Name, SizeGiB: spec.SizeGiB, Status: "available"}
	c.vols = append(c.vols, v)
	return v, nil
}

func (c *heldCloud) Delete(context.Context, string) error       { return nil }
func (c *heldCloud) WaitReleased(context.Context, string) error { return nil }

// TestOwnChangeWinsOverAListingInFlight: a volume listing that began
// before our own vol-create-as (and so does not show the volume) ends after
// it; the cache must not take it as fresh, or the new volume is "not
// found" for the cache's lifetime.
func TestOwnChangeWinsOverAListingInFlight(t *testing.T) {
	cloud := &heldCloud{started: make(chan struct{}), release: make(chan struct{})}
	d := newDriver(cloud, Config{CacheFor: time.Hour})
	ctx := t.Context()
	inFlight := make(chan error, 1)
	go func() {
		_, err := d.Volumes(ctx, d.pool.UUID) // an event poll, another client
		inFlight <- err
	}()
	<-cloud.started
	if _, err := d.CreateVolume(ctx, d.pool.UUID, "<volume><name>new.qcow2</name><capacity unit='G'>1</capacity></volume>", 0); err != nil {
		t.Fatalf("create: %v", err)
	}
	close(cloud.release)
	if err := <-inFlight; err != nil {
		t.Fatalf("listing in flight: %v", err)
	}
	if _, err := d.VolumeByName(ctx, d.pool.UUID, "new.qcow2"); err != nil {
		t.Errorf("the new volume after the older listing ended: %v", err)
	}
}
