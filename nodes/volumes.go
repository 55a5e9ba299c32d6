package nodes

import (
	"context"

	"quintupleo/nodes/cinder"
)

// Cinder is the cloud's block storage for its project, or nil when the
// catalog has none (Cloud.Block). Its creates and deletes are reported to
// the cloud's Observer unless cfg names another.
func (c *Cloud) Cinder(cfg cinder.Config) *cinder.Client {
	if c.Block == nil {
		return nil
	}
	if cfg.Observer == nil {
		cfg.Observer = c.observer()
	}
	return cinder.New(c.Block, c.ProjectID, cfg)
}

// waitVolumesReleased waits until Cinder has detached the volumes of a
// server Nova has just deleted: Nova deletes the server first and Cinder
// detaches asynchronously, and a client that deletes the volumes next
// (virsh undefine --remove-all-storage) must find them free.
func (p *Provisioner) waitVolumesReleased(ctx context.Context, vols []string) error {
	cc := p.cloud().Cinder(cinder.Config{Timeout: p.cfg.Timeout, PollInterval: p.cfg.PollInterval, MaxPollInterval: p.cfg.MaxPollInterval})
	if cc == nil {
		return nil
	}
	for _, id := range vols {
		if err := cc.WaitReleased(ctx, id); err != nil {
			return &Error{Op: "wait for Cinder to detach volume " + id, Kind: ErrUnavailable, Err: err}
		}
	}
	return nil
}

// Cinder is the block storage of the inventory's cloud, or nil without one.
// It is nil, too, before the link has connected (see Inventory.Link).
func (inv *Inventory) Cinder(cfg cinder.Config) *cinder.Client {
	if inv.cloud() == nil {
		return nil
	}
	return inv.cloud().Cinder(cfg)
}
