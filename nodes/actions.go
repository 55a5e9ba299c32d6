package nodes

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
)

// Action is a Nova server action a power operation maps onto.
type Action string

// The actions quintupleo issues.
const (
	ActionStart      Action = "os-start"
	ActionStop       Action = "os-stop"
	ActionRebootSoft Action = "reboot SOFT"
	ActionRebootHard Action = "reboot HARD"
	ActionUnpause    Action = "unpause"
	ActionResume     Action = "resume"
	ActionUnshelve   Action = "unshelve"
)

// target is the Nova status an action ends in.
func (a Action) target() string {
	if a == ActionStop {
		return "SHUTOFF"
	}
	return "ACTIVE"
}

func (a Action) send(ctx context.Context, c *gophercloud.ServiceClient, id string) error {
	switch a {
	case ActionStart:
		return servers.Start(ctx, c, id).ExtractErr()
	case ActionStop:
		return servers.Stop(ctx, c, id).ExtractErr()
	case ActionRebootSoft:
		return servers.Reboot(ctx, c, id, servers.RebootOpts{Type: servers.SoftReboot}).ExtractErr()
	case ActionRebootHard:
		return servers.Reboot(ctx, c, id, servers.RebootOpts{Type: servers.HardReboot}).ExtractErr()
	case ActionUnpause:
		return servers.Unpause(ctx, c, id).ExtractErr()
	case ActionResume:
		return servers.Resume(ctx, c, id).ExtractErr()
	case ActionUnshelve:
		return servers.Unshelve(ctx, c, id, servers.UnshelveOpts{}).ExtractErr()
	}
	return fmt.Errorf("nodes: unknown action %q", a)
}

// Do performs action a on server id and returns once Nova reports the
// target state, because libvirt clients re-check right after the call
// returns. While another task runs on the server (Nova answers 409), it waits
// for that task to end and tries again, within ActionTimeout. If the server
// is already where the action would take it when the conflict clears, that
// counts as done (another client asked for the same thing).
func (inv *Inventory) Do(ctx context.Context, id string, a Action) (Node, error) {
	reboot := a == ActionRebootSoft || a == ActionRebootHard
	return inv.run(ctx, id, string(a), a.target(), !reboot, func(ctx context.Context) error {
		return a.send(ctx, inv.cloud.Compute, id)
	})
}

// act is Do for actions outside the Action table (rescue, unrescue,
// rebuild): send, then wait for target, riding out 409s the same way.
func (inv *Inventory) act(ctx context.Context, id, name, target string, send func(context.Context) error) (Node, error) {
	return inv.run(ctx, id, name, target, name != "rebuild", send)
}

// run sends an action and waits for target. doneAtTarget says whether finding
// the server already at target after a 409 means the action is redundant
// (true for start/stop/rescue; false for reboot and rebuild, which must
// happen even though the status does not change).
func (inv *Inventory) run(ctx context.Context, id, name, target string, doneAtTarget bool, send func(context.Context) error) (Node, error) {
	op := fmt.Sprintf("%s %s", name, id)
	ctx, cancel := context.WithTimeout(ctx, inv.cfg.ActionTimeout)
	defer cancel()

	for {
		err := send(ctx)
		if err == nil {
			break
		}
		err = classify(op, err)
		if !errors.Is(err, ErrConflict) {
			return Node{}, inv.timeoutOr(ctx, op, err)
		}
		// 409: find out why.
		n, ferr := inv.fetch(ctx, id)
		if ferr != nil {
			return Node{}, inv.timeoutOr(ctx, op, ferr)
		}
		if n.TaskState == "" {
			if doneAtTarget && n.Status == target {
				return n, nil
			}
			return n, err
		}
		inv.log.Debug("server busy; waiting for its task before retrying", "op", op, "task_state", n.TaskState)
		if _, werr := inv.waitIdle(ctx, id); werr != nil {
			return Node{}, inv.timeoutOr(ctx, op, werr)
		}
	}

	n, err := inv.waitFor(ctx, id, target)
	if err != nil {
		return n, inv.timeoutOr(ctx, op, err)
	}
	return n, nil
}

// timeoutOr turns an expired action deadline into ErrTimeout.
func (inv *Inventory) timeoutOr(ctx context.Context, op string, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &Error{Op: op, Kind: ErrTimeout,
			Reason: fmt.Sprintf("no target state within %s", inv.cfg.ActionTimeout), Err: err}
	}
	return err
}

// waitFor polls the server until it has status target and no task, or goes to
// ERROR.
func (inv *Inventory) waitFor(ctx context.Context, id, target string) (Node, error) {
	return inv.poll(ctx, id, func(n Node) (bool, error) {
		if n.TaskState != "" {
			return false, nil
		}
		if n.Status == "ERROR" {
			reason := n.Fault
			if reason == "" {
				reason = "the server went to ERROR"
			}
			return true, &Error{Op: "wait for " + target, Kind: ErrFailed, Reason: reason}
		}
		return n.Status == target, nil
	})
}

// waitIdle polls the server until no task runs on it.
func (inv *Inventory) waitIdle(ctx context.Context, id string) (Node, error) {
	return inv.poll(ctx, id, func(n Node) (bool, error) { return n.TaskState == "", nil })
}

// poll reads the server with exponential back-off until done says so.
func (inv *Inventory) poll(ctx context.Context, id string, done func(Node) (bool, error)) (Node, error) {
	wait := inv.cfg.PollInterval
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return Node{}, ctx.Err()
		case <-timer.C:
		}
		n, err := inv.fetch(ctx, id)
		if err != nil && !errors.Is(err, ErrUnavailable) {
			return n, err
		}
		if err == nil {
			ok, derr := done(n)
			if ok || derr != nil {
				return n, derr
			}
		}
		timer.Reset(wait)
		wait = min(2*wait, inv.cfg.MaxPollInterval)
	}
}

// SetMetadata writes one metadata item on a server and updates the cache.
func (inv *Inventory) SetMetadata(ctx context.Context, id, key, value string) (Node, error) {
	op := fmt.Sprintf("set metadata %s on %s", key, id)
	_, err := servers.CreateMetadatum(ctx, inv.cloud.Compute, id, servers.MetadatumOpts{key: value}).Extract()
	if err != nil {
		return Node{}, classify(op, err)
	}
	return inv.fetch(ctx, id)
}
