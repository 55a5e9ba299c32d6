// Package cinder is the block-storage (Cinder v3) side of the node model:
// the project's volumes and their quota, as plain values. Creating and
// deleting wait for Cinder's asynchronous states (creating → available,
// deleting → gone), so a caller that returns has the cloud in the state it
// asked for.
//
// It imports nothing of nodes (nodes composes it; docs/design.md), only the
// leaf nodes/cloudcall, and classifies Cinder's answers into its own few
// error kinds beside the shared ones.
package cinder

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/quotasets"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"

	"quintupleo/nodes/cloudcall"
)

// Volume is one Cinder volume.
type Volume struct {
	ID       string
	Name     string
	SizeGiB  int
	Status   string // creating, available, reserved, attaching, in-use, detaching, deleting, error, …
	Bootable bool
	// Servers are the IDs of the servers it is attached to.
	Servers  []string
	Metadata map[string]string
	Created  time.Time
}

// InUse reports whether a server holds the volume, or is about to.
func (v Volume) InUse() bool {
	switch v.Status {
	case "in-use", "attaching", "reserved", "detaching":
		return true
	}
	return len(v.Servers) > 0
}

// Usage is the project's gigabytes quota: Limit < 0 is unlimited.
type Usage struct {
	LimitGiB, InUseGiB, ReservedGiB int
}

// Config tunes a Client.
type Config struct {
	// Timeout bounds a whole create or delete, waits included. Default 5m.
	Timeout time.Duration
	// PollInterval is the first wait between polls of a volume; it doubles
	// up to MaxPollInterval. Defaults 100ms and 2s.
	PollInterval, MaxPollInterval time.Duration
	// Observer is told of each create and delete (nil: nobody).
	Observer cloudcall.Observer
}

// The actions a Client reports to its Observer, each with its waits: a
// create until the volume is available (and bootable), a delete until
// Cinder no longer has it.
const (
	ActionCreateVolume = "create_volume"
	ActionDeleteVolume = "delete_volume"
)

// Actions lists every action a Client reports.
func Actions() []string { return []string{ActionCreateVolume, ActionDeleteVolume} }

// Client is Cinder for one project.
type Client struct {
	sc      *gophercloud.ServiceClient
	project string
	cfg     Config
}

// New is a Client over the block-storage service client sc, whose token is
// scoped to project (the quota's key).
func New(sc *gophercloud.ServiceClient, project string, cfg Config) *Client {
	cfg.Timeout = cmp.Or(cfg.Timeout, 5*time.Minute)
	cfg.PollInterval = cmp.Or(cfg.PollInterval, 100*time.Millisecond)
	cfg.MaxPollInterval = cmp.Or(cfg.MaxPollInterval, 2*time.Second)
	return &Client{sc: sc, project: project, cfg: cfg}
}

// Project is the project whose volumes these are.
func (c *Client) Project() string { return c.project }

func fromGophercloud(v volumes.Volume) Volume {
	out := Volume{ID: v.ID, Name: v.Name, SizeGiB: v.Size, Status: v.Status, Metadata: v.Metadata, Created: v.CreatedAt}
	out.Bootable, _ = strconv.ParseBool(v.Bootable)
	for _, a := range v.Attachments {
		if a.ServerID != "" {
			out.Servers = append(out.Servers, a.ServerID)
		}
	}
	return out
}

// List is every volume of the project, oldest first (then by ID), so that
// every replica derives the same names from it.
func (c *Client) List(ctx context.Context) ([]Volume, error) {
	pages, err := volumes.List(c.sc, volumes.ListOpts{}).AllPages(ctx)
	if err != nil {
		return nil, classify("list volumes", err)
	}
	all, err := volumes.ExtractVolumes(pages)
	if err != nil {
		return nil, classify("list volumes", err)
	}
	out := make([]Volume, 0, len(all))
	for _, v := range all {
		if v.Status == "deleted" {
			continue
		}
		out = append(out, fromGophercloud(v))
	}
	slices.SortFunc(out, func(a, b Volume) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// Get is one volume.
func (c *Client) Get(ctx context.Context, id string) (Volume, error) {
	v, err := volumes.Get(ctx, c.sc, id).Extract()
	if err != nil {
		return Volume{}, classify("get volume "+id, err)
	}
	return fromGophercloud(*v), nil
}

// Usage is the project's gigabytes quota and what its volumes use of it.
func (c *Client) Usage(ctx context.Context) (Usage, error) {
	q, err := quotasets.GetUsage(ctx, c.sc, c.project).Extract()
	if err != nil {
		return Usage{}, classify("get volume quota of project "+c.project, err)
	}
	return Usage{LimitGiB: q.Gigabytes.Limit, InUseGiB: q.Gigabytes.InUse, ReservedGiB: q.Gigabytes.Reserved}, nil
}

// CreateSpec is a volume to create.
type CreateSpec struct {
	Name     string
	SizeGiB  int
	Metadata map[string]string
	// Bootable marks it bootable once available: Nova boots a server from
	// a volume only when Cinder says it is bootable.
	Bootable bool
}

// Create makes the volume and returns it available. If Cinder fails it
// (status error) or the wait ends, the volume is deleted again, so that a
// failed create leaves nothing behind.
func (c *Client) Create(ctx context.Context, spec CreateSpec) (v Volume, err error) {
	done := cloudcall.Started(c.cfg.Observer, ActionCreateVolume)
	defer func() { done(err) }()
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	op := "create volume " + spec.Name
	created, err := volumes.Create(ctx, c.sc, volumes.CreateOpts{Name: spec.Name, Size: spec.SizeGiB, Metadata: spec.Metadata}, nil).Extract()
	if err != nil {
		return Volume{}, classify(op, err)
	}
	defer func() {
		if err != nil {
			// The caller's context may be why it failed: a context of its own.
			undo, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.Timeout)
			defer cancel()
			if derr := c.delete(undo, created.ID); derr != nil {
				err = fmt.Errorf("%w (and the volume %s could not be deleted again: %v)", err, created.ID, derr)
			}
		}
	}()
	v, err = c.poll(ctx, created.ID, func(v Volume) (bool, error) {
		switch v.Status {
		case "available":
			return true, nil
		case "error":
			return false, &Error{Op: op, Kind: ErrFailed, Reason: "Cinder put the volume in status error"}
		}
		return false, nil
	})
	if err != nil {
		return Volume{}, err
	}
	if spec.Bootable {
		if err := volumes.SetBootable(ctx, c.sc, v.ID, volumes.BootableOpts{Bootable: true}).ExtractErr(); err != nil {
			return Volume{}, classify("set volume "+v.ID+" bootable", err)
		}
		v.Bootable = true
	}
	return v, nil
}

// Delete deletes the volume and returns once Cinder no longer has it. A
// volume already gone is not an error.
func (c *Client) Delete(ctx context.Context, id string) (err error) {
	done := cloudcall.Started(c.cfg.Observer, ActionDeleteVolume)
	defer func() { done(err) }()
	return c.delete(ctx, id)
}

// delete is Delete unobserved, for the undo of a failed Create (part of
// that create, not a delete of its own).
func (c *Client) delete(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	op := "delete volume " + id
	if err := volumes.Delete(ctx, c.sc, id, volumes.DeleteOpts{}).ExtractErr(); err != nil {
		if gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			return nil
		}
		return classify(op, err)
	}
	_, err := c.poll(ctx, id, func(v Volume) (bool, error) {
		if v.Status == "error_deleting" {
			return false, &Error{Op: op, Kind: ErrFailed, Reason: "Cinder put the volume in status error_deleting"}
		}
		return false, nil
	})
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// WaitReleased waits until no server holds volume id any more (Cinder
// detaches asynchronously once Nova has deleted a server), or it is gone.
func (c *Client) WaitReleased(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	_, err := c.poll(ctx, id, func(v Volume) (bool, error) { return !v.InUse(), nil })
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// poll reads volume id with exponential back-off until done says so.
// Transient errors are ridden out; the context bounds it.
func (c *Client) poll(ctx context.Context, id string, done func(Volume) (bool, error)) (Volume, error) {
	return cloudcall.Poller[Volume]{
		Interval: c.cfg.PollInterval, MaxInterval: c.cfg.MaxPollInterval,
		Get:       func(ctx context.Context) (Volume, error) { return c.Get(ctx, id) },
		Transient: func(err error) bool { return errors.Is(err, ErrUnavailable) },
		Stopped:   func(err error) error { return classify("wait for volume "+id, err) },
	}.Until(ctx, done)
}
