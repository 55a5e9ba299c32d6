package nodes

import (
	"context"
	"fmt"
)

// The power operations below choose the Nova action from the server's
// status, honour the boot strategy, and return at the target state.

// PowerOn brings a node up from wherever Nova has it: a stopped server boots
// from its boot device (the boot strategy decides how), which spends a
// one-time boot device (bootonce.go); a paused, suspended
// or shelved one is unpaused, resumed or unshelved.
func (x *Executor) PowerOn(ctx context.Context, id string) (Node, error) {
	n, err := x.inv.Node(ctx, id)
	if err != nil {
		return Node{}, err
	}
	switch n.Status {
	case "SHUTOFF":
		if cdBoot(n) {
			booted, err := x.bootCD(ctx, n)
			return x.afterBoot(ctx, booted, err)
		}
		booted, err := x.boot.PowerOn(ctx, x, n)
		return x.afterBoot(ctx, booted, err)
	case "PAUSED":
		return x.Do(ctx, id, ActionUnpause)
	case "SUSPENDED":
		return x.Do(ctx, id, ActionResume)
	case "SHELVED", "SHELVED_OFFLOADED":
		return x.Do(ctx, id, ActionUnshelve)
	case "ERROR":
		reason := "the server is in ERROR state"
		if n.Fault != "" {
			reason += ": " + n.Fault
		}
		return n, &Error{Op: "power on " + id, Kind: ErrConflict, Reason: reason}
	}
	return n, &Error{Op: "power on " + id, Kind: ErrConflict,
		Reason: fmt.Sprintf("the server cannot be powered on while the cloud reports it %s", n.Status)}
}

// PowerOff stops a node. A rescued server is unrescued first (Nova refuses
// to stop a rescued server); a strategy with work left for a stopped node
// (the rescue strategy's boot device chosen while rescued) then does it.
func (x *Executor) PowerOff(ctx context.Context, id string) (Node, error) {
	return x.powerOff(ctx, id, nil)
}

// powerOff is PowerOff with before, when set, run once Nova accepts
// metadata writes again (after an unrescue) and before the stop is sent.
func (x *Executor) powerOff(ctx context.Context, id string, before func(context.Context) error) (Node, error) {
	n, err := x.inv.Node(ctx, id)
	if err != nil {
		return Node{}, err
	}
	if n.Status == "RESCUE" {
		if n, err = x.Unrescue(ctx, id); err != nil {
			return n, err
		}
		// The rescue may have been a one-time CD boot, now over.
		if err := x.cdOnceSpent(ctx, id); err != nil {
			return n, err
		}
	}
	if before != nil {
		if err := before(ctx); err != nil {
			return n, err
		}
	}
	n, err = x.Do(ctx, id, ActionStop)
	if err != nil {
		return n, err
	}
	if h, ok := x.boot.(poweredOffHook); ok {
		if err := h.poweredOff(ctx, x, n); err != nil {
			return n, err
		}
		return x.inv.Node(ctx, id)
	}
	return n, nil
}

// Reboot restarts a running node (hard: a reset); like a power-on, it spends
// a one-time boot device (bootonce.go). A rescued server cannot be
// rebooted in Nova; it is powered off and on again, which also honours a
// boot device changed meanwhile.
func (x *Executor) Reboot(ctx context.Context, id string, hard bool) (Node, error) {
	n, err := x.inv.Node(ctx, id)
	if err != nil {
		return Node{}, err
	}
	// A rescued server cannot be rebooted in Nova, and a CD boot is a
	// rescue, which only a cold start can begin.
	if n.Status == "RESCUE" || cdBoot(n) {
		if _, err := x.PowerOff(ctx, id); err != nil {
			return Node{}, err
		}
		return x.PowerOn(ctx, id)
	}
	a := ActionRebootSoft
	if hard {
		a = ActionRebootHard
	}
	booted, err := x.Do(ctx, id, a)
	return x.afterBoot(ctx, booted, err)
}

// BootDevice is the boot device of the node's next power-on: the CD when
// its override says so (vmedia.go), else the strategy's.
func (x *Executor) BootDevice(n Node) BootDevice {
	if cdBoot(n) {
		return BootCD
	}
	return x.boot.Get(n)
}

// SetBootDevice records the boot device for the node's next power-on and
// every one after it, replacing a one-time override (SetBootDeviceOnce).
// The CD needs media inserted; another device replaces the CD override.
func (x *Executor) SetBootDevice(ctx context.Context, id string, dev BootDevice) error {
	n, err := x.inv.Node(ctx, id)
	if err != nil {
		return err
	}
	if dev == BootCD {
		if _, ok := MediaOf(n); !ok {
			return errNoMedia(id)
		}
		if n.Metadata[MetaBootCD] != "1" {
			if n, err = x.SetMetadata(ctx, id, MetaBootCD, "1"); err != nil {
				return err
			}
		}
	} else {
		// A spent one-time CD mark of a rescued node waits for the
		// power-off (cdOnceSpent): Nova refuses the write now.
		if _, has := n.Metadata[MetaBootCD]; has && !(rescued(n) && n.Metadata[MetaBootOnce] != "") {
			if n, err = x.DeleteMetadatum(ctx, id, MetaBootCD); err != nil {
				return err
			}
		}
		if err := x.boot.Set(ctx, x, n, dev); err != nil {
			return err
		}
	}
	if n.Status == "RESCUE" || n.VMState == "rescued" {
		return nil // Nova refuses metadata writes; the mark is spent or goes at the next boot
	}
	return x.clearBootOnce(ctx, id)
}

// BootStrategyName names the strategy in use.
func (x *Executor) BootStrategyName() string { return x.boot.Name() }
