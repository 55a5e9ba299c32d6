package nodes

import (
	"context"
	"fmt"
)

// The power operations below choose the Nova action from the server's
// status, honour the boot strategy, and return at the target state.

// PowerOn brings a node up from wherever Nova has it: a stopped server boots
// from its boot device (the boot strategy decides how); a paused, suspended
// or shelved one is unpaused, resumed or unshelved.
func (inv *Inventory) PowerOn(ctx context.Context, id string) (Node, error) {
	n, err := inv.Node(ctx, id)
	if err != nil {
		return Node{}, err
	}
	switch n.Status {
	case "SHUTOFF":
		return inv.boot.PowerOn(ctx, inv, n)
	case "PAUSED":
		return inv.Do(ctx, id, ActionUnpause)
	case "SUSPENDED":
		return inv.Do(ctx, id, ActionResume)
	case "SHELVED", "SHELVED_OFFLOADED":
		return inv.Do(ctx, id, ActionUnshelve)
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
// to stop a rescued server); a boot device chosen while it was rescued is
// then written where Nova keeps it.
func (inv *Inventory) PowerOff(ctx context.Context, id string) (Node, error) {
	n, err := inv.Node(ctx, id)
	if err != nil {
		return Node{}, err
	}
	if n.Status == "RESCUE" {
		if n, err = inv.Unrescue(ctx, id); err != nil {
			return n, err
		}
	}
	n, err = inv.Do(ctx, id, ActionStop)
	if err != nil {
		return n, err
	}
	if r, ok := inv.boot.(*rescueStrategy); ok {
		if err := r.flush(ctx, inv, n); err != nil {
			return n, err
		}
		return inv.Node(ctx, id)
	}
	return n, nil
}

// Reboot restarts a running node (hard: a reset). A rescued server cannot be
// rebooted in Nova; it is powered off and on again, which also honours a
// boot device changed meanwhile.
func (inv *Inventory) Reboot(ctx context.Context, id string, hard bool) (Node, error) {
	n, err := inv.Node(ctx, id)
	if err != nil {
		return Node{}, err
	}
	if n.Status == "RESCUE" {
		if _, err := inv.PowerOff(ctx, id); err != nil {
			return Node{}, err
		}
		return inv.PowerOn(ctx, id)
	}
	if hard {
		return inv.Do(ctx, id, ActionRebootHard)
	}
	return inv.Do(ctx, id, ActionRebootSoft)
}

// BootDevice is the boot device of the node's next power-on.
func (inv *Inventory) BootDevice(n Node) BootDevice { return inv.boot.Get(n) }

// SetBootDevice records the boot device for the node's next power-on.
func (inv *Inventory) SetBootDevice(ctx context.Context, id string, dev BootDevice) error {
	n, err := inv.Node(ctx, id)
	if err != nil {
		return err
	}
	return inv.boot.Set(ctx, inv, n, dev)
}

// BootStrategyName names the strategy in use.
func (inv *Inventory) BootStrategyName() string { return inv.boot.Name() }
