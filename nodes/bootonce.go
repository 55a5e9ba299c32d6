package nodes

import (
	"context"
	"errors"
	"fmt"
)

// MetaBootOnce is the server metadata key of a one-time boot device (a
// Redfish BootSourceOverrideEnabled=Once): it holds the boot device to go
// back to once the node has booted. It lives in the cloud, not in a replica,
// so every replica sees the same override and whichever performs the next
// power-on reverts it.
const MetaBootOnce = "quintupleo:boot-once"

// BootOnce reports the pending one-time override of n: the device its next
// power-on boots (the strategy's current one) and the one it reverts to. A
// mark whose revert device is already the current one is spent (the rescue
// strategy keeps the revert in its state file while Nova refuses metadata
// writes; the mark is removed at the next power-on): ok is false then.
func (x *Executor) BootOnce(n Node) (next, revert BootDevice, ok bool) {
	v, has := n.Metadata[MetaBootOnce]
	if !has || v == "" {
		return "", "", false
	}
	next, revert = x.BootDevice(n), BootDevice(v)
	return next, revert, next != revert
}

// SetBootDeviceOnce makes the node's next power-on (or reboot) boot dev,
// after which the boot device reverts to what it is now. The mark is written
// before the device, so that a failure in between leaves a spent mark
// rather than a persistent change.
func (x *Executor) SetBootDeviceOnce(ctx context.Context, id string, dev BootDevice) error {
	n, err := x.inv.Node(ctx, id)
	if err != nil {
		return err
	}
	revert := x.BootDevice(n)
	if _, pending, ok := x.BootOnce(n); ok {
		revert = pending // a second Once keeps the first one's way back
	}
	switch {
	case dev == BootCD && revert == BootCD:
		return nil // the CD already is the boot device of every power-on
	case revert == BootCD:
		return &Error{Op: "set a one-time boot device of " + id, Kind: ErrConflict,
			Reason: "the boot device is the CD (continuous); a one-time device cannot return to it: set the other device continuous, or eject the CD, first"}
	case dev == BootCD:
		if _, ok := MediaOf(n); !ok {
			return errNoMedia(id)
		}
	}
	if n.Metadata[MetaBootOnce] != string(revert) {
		if n, err = x.SetMetadata(ctx, id, MetaBootOnce, string(revert)); err != nil {
			return err
		}
	}
	if dev == BootCD {
		_, err = x.SetMetadata(ctx, id, MetaBootCD, "1")
		return err
	}
	if _, has := n.Metadata[MetaBootCD]; has { // a pending one-time CD, replaced
		if n, err = x.DeleteMetadatum(ctx, id, MetaBootCD); err != nil {
			return err
		}
	}
	return x.boot.Set(ctx, x, n, dev)
}

// errNoMedia refuses the CD as a boot device of a node without media.
func errNoMedia(id string) error {
	return &Error{Op: "boot " + id + " from its CD", Kind: ErrConflict, Reason: "no media is inserted in its virtual CD; insert one first"}
}

// clearBootOnce removes the one-time mark, when there is one (a persistent
// boot device replaces any override).
func (x *Executor) clearBootOnce(ctx context.Context, id string) error {
	n, err := x.inv.Node(ctx, id)
	if err != nil {
		return err
	}
	if _, has := n.Metadata[MetaBootOnce]; !has {
		return nil
	}
	_, err = x.EditMetadata(ctx, id, func(m map[string]string) map[string]string {
		delete(m, MetaBootOnce)
		return m
	})
	return err
}

// bootOnceSpent reverts a one-time boot device after the power-on or reboot
// that used it: the strategy records the revert device (where it can while
// the node is rescued), then the mark goes. Nova refuses metadata writes
// while a server is rescued; the mark then stays, spent (BootOnce), until the
// next power-on removes it.
func (x *Executor) bootOnceSpent(ctx context.Context, id string) error {
	n, err := x.inv.Node(ctx, id)
	if err != nil {
		return err
	}
	v, has := n.Metadata[MetaBootOnce]
	if !has {
		return nil
	}
	if v != "" && x.boot.Get(n) != BootDevice(v) {
		if err := x.boot.Set(ctx, x, n, BootDevice(v)); err != nil {
			return fmt.Errorf("nodes: revert the one-time boot device of %s: %w", id, err)
		}
	}
	if n.Status == "RESCUE" || n.VMState == "rescued" {
		return nil
	}
	if err := x.clearBootOnce(ctx, id); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("nodes: remove the one-time boot mark of %s: %w", id, err)
	}
	return nil
}

// afterBoot is the end of every operation that boots a node: the one-time
// boot device is spent. The boot itself succeeded, so a failure to revert is
// returned with the node as booted.
func (x *Executor) afterBoot(ctx context.Context, n Node, err error) (Node, error) {
	if err != nil {
		return n, err
	}
	if rerr := x.bootOnceSpent(ctx, n.ID); rerr != nil {
		return n, rerr
	}
	if fresh, ferr := x.inv.Node(ctx, n.ID); ferr == nil {
		n = fresh
	}
	return n, nil
}
