package nodes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"

	"quintupleo/nodes/cloudcall"
)

// ExecutorConfig tunes the waits of actions and chooses the boot strategy.
type ExecutorConfig struct {
	// ActionTimeout bounds an action from request to target state.
	// Default 5m (Nova's graceful shutdown alone defaults to 60s).
	ActionTimeout time.Duration
	// PollInterval is the first wait between polls of a server during an
	// action; it doubles up to MaxPollInterval. Defaults 100ms and 2s.
	PollInterval, MaxPollInterval time.Duration
	// Boot is how boot devices are kept and honoured (NewBootStrategy);
	// nil = the metadata strategy.
	Boot   BootStrategy
	Logger *slog.Logger
}

func (c *ExecutorConfig) setDefaults() {
	orDefault(&c.ActionTimeout, 5*time.Minute)
	orDefault(&c.PollInterval, 100*time.Millisecond)
	orDefault(&c.MaxPollInterval, 2*time.Second)
	c.Logger = loggerOrDiscard(c.Logger)
	if c.Boot == nil {
		c.Boot = metadataStrategy{}
	}
}

// Executor changes nodes: it sends Nova's server actions and returns once
// Nova reports their target state, keeping the inventory's cache current
// with what it reads on the way (read-your-writes). Power operations go
// through the boot strategy. One Executor serves every front end; its methods
// are safe for concurrent use.
type Executor struct {
	inv  *Inventory
	cfg  ExecutorConfig
	log  *slog.Logger
	boot BootStrategy
}

// NewExecutor builds the executor of actions on inv's nodes.
func NewExecutor(inv *Inventory, cfg ExecutorConfig) *Executor {
	cfg.setDefaults()
	return &Executor{inv: inv, cfg: cfg, log: cfg.Logger, boot: cfg.Boot}
}

// Config returns the effective configuration (defaults applied).
func (x *Executor) Config() ExecutorConfig { return x.cfg }

// Action is a Nova server action. Its String is the action as logs and
// error messages name it ("os-stop", "reboot SOFT").
type Action uint8

// The actions Do issues. Rescue and Rebuild, which need an image, have
// methods of their own.
const (
	ActionStart Action = iota + 1
	ActionStop
	ActionRebootSoft
	ActionRebootHard
	ActionUnpause
	ActionResume
	ActionUnshelve
	ActionUnrescue
	ActionPause
	actionRescue
	actionRebuild
)

// actionSpec is how one action is sent and when it is over.
type actionSpec struct {
	name string
	// target is the Nova status the action ends in; "" means the status
	// the server has when the action starts (a rebuild keeps it).
	target string
	// doneAtTarget says whether finding the server already at target after
	// a 409 means the action is redundant: true for start, stop, rescue;
	// false for reboot and rebuild, which must happen although the status
	// does not change.
	doneAtTarget bool
	send         func(ctx context.Context, c *gophercloud.ServiceClient, id, image string) error
}

// actions is the table of every Action.
func actions() map[Action]actionSpec {
	reboot := func(how servers.RebootMethod) func(context.Context, *gophercloud.ServiceClient, string, string) error {
		return func(ctx context.Context, c *gophercloud.ServiceClient, id, _ string) error {
			return servers.Reboot(ctx, c, id, servers.RebootOpts{Type: how}).ExtractErr()
		}
	}
	return map[Action]actionSpec{
		ActionStart: {"os-start", "ACTIVE", true, func(ctx context.Context, c *gophercloud.ServiceClient, id, _ string) error {
			return servers.Start(ctx, c, id).ExtractErr()
		}},
		ActionStop: {"os-stop", "SHUTOFF", true, func(ctx context.Context, c *gophercloud.ServiceClient, id, _ string) error {
			return servers.Stop(ctx, c, id).ExtractErr()
		}},
		ActionRebootSoft: {"reboot SOFT", "ACTIVE", false, reboot(servers.SoftReboot)},
		ActionRebootHard: {"reboot HARD", "ACTIVE", false, reboot(servers.HardReboot)},
		ActionUnpause: {"unpause", "ACTIVE", true, func(ctx context.Context, c *gophercloud.ServiceClient, id, _ string) error {
			return servers.Unpause(ctx, c, id).ExtractErr()
		}},
		ActionResume: {"resume", "ACTIVE", true, func(ctx context.Context, c *gophercloud.ServiceClient, id, _ string) error {
			return servers.Resume(ctx, c, id).ExtractErr()
		}},
		ActionUnshelve: {"unshelve", "ACTIVE", true, func(ctx context.Context, c *gophercloud.ServiceClient, id, _ string) error {
			return servers.Unshelve(ctx, c, id, servers.UnshelveOpts{}).ExtractErr()
		}},
		ActionUnrescue: {"unrescue", "ACTIVE", true, func(ctx context.Context, c *gophercloud.ServiceClient, id, _ string) error {
			return servers.Unrescue(ctx, c, id).ExtractErr()
		}},
		ActionPause: {"pause", "PAUSED", true, func(ctx context.Context, c *gophercloud.ServiceClient, id, _ string) error {
			return servers.Pause(ctx, c, id).ExtractErr()
		}},
		actionRescue: {"rescue", "RESCUE", true, func(ctx context.Context, c *gophercloud.ServiceClient, id, image string) error {
			_, err := servers.Rescue(ctx, c, id, servers.RescueOpts{RescueImageRef: image}).Extract()
			return err
		}},
		actionRebuild: {"rebuild", "", false, func(ctx context.Context, c *gophercloud.ServiceClient, id, image string) error {
			_, err := servers.Rebuild(ctx, c, id, servers.RebuildOpts{ImageRef: image}).Extract()
			return err
		}},
	}
}

func (a Action) String() string {
	if s, ok := actions()[a]; ok {
		return s.name
	}
	return fmt.Sprintf("Action(%d)", uint8(a))
}

// Do performs action a on server id and returns once Nova reports the
// target state, because clients re-check right after the call returns.
// While another task runs on the server (Nova answers 409), it waits for
// that task to end and tries again, within ActionTimeout. If the server is
// already where the action would take it when the conflict clears, that
// counts as done (another client asked for the same thing).
func (x *Executor) Do(ctx context.Context, id string, a Action) (Node, error) {
	return x.run(ctx, id, a, "")
}

// Rescue rescues server id with the given image and waits for RESCUE.
func (x *Executor) Rescue(ctx context.Context, id, imageID string) (Node, error) {
	return x.run(ctx, id, actionRescue, imageID)
}

// Unrescue leaves rescue and waits for ACTIVE.
func (x *Executor) Unrescue(ctx context.Context, id string) (Node, error) {
	return x.run(ctx, id, ActionUnrescue, "")
}

// Rebuild rebuilds server id with imageID (its disk is replaced) and waits
// until the rebuild ends (Nova keeps a stopped server stopped).
func (x *Executor) Rebuild(ctx context.Context, id, imageID string) (Node, error) {
	return x.run(ctx, id, actionRebuild, imageID)
}

// run is the one executor behind Do, Rescue, Unrescue and Rebuild: send a,
// ride out 409s, wait for the target state.
func (x *Executor) run(ctx context.Context, id string, a Action, image string) (_ Node, err error) {
	spec, ok := actions()[a]
	if !ok {
		return Node{}, fmt.Errorf("nodes: unknown action %s", a)
	}
	cloud, err := x.inv.connected()
	if err != nil {
		return Node{}, err
	}
	target := spec.target
	if target == "" {
		n, err := x.inv.Node(ctx, id)
		if err != nil {
			return Node{}, err
		}
		target = n.Status
	}
	op := fmt.Sprintf("%s %s", a, id)
	ctx, cancel := context.WithTimeout(ctx, x.cfg.ActionTimeout)
	defer cancel()
	done := x.inv.link.obs.ActionStarted(a.String())
	defer func() { done(err) }()

	// idleRetried: a 409 found the server idle once already (see below).
	idleRetried := false
	for {
		err := spec.send(ctx, cloud.Compute, id, image)
		if err == nil {
			break
		}
		err = classify(op, err)
		if !errors.Is(err, ErrConflict) {
			return Node{}, x.timeoutOr(ctx, op, err)
		}
		// 409: find out why.
		n, ferr := x.inv.fetch(ctx, id)
		if ferr != nil {
			return Node{}, x.timeoutOr(ctx, op, ferr)
		}
		if n.TaskState == "" {
			if spec.doneAtTarget && n.Status == target {
				notifyAccepted(ctx)
				return n, nil
			}
			// The task Nova refused for may have ended between its
			// answer and this read (a reboot that just finished): once,
			// send again rather than fail; a refusal for the server's
			// state itself comes back the same and is returned.
			if !idleRetried {
				idleRetried = true
				x.inv.link.obs.ConflictRetried(a.String())
				continue
			}
			return n, err
		}
		x.log.Debug("server busy; waiting for its task before retrying", "op", op, "task_state", n.TaskState)
		x.inv.link.obs.ConflictRetried(a.String())
		if _, werr := x.waitIdle(ctx, id); werr != nil {
			return Node{}, x.timeoutOr(ctx, op, werr)
		}
	}
	if wantsAccepted(ctx) {
		// Read the server once before answering, so that the front end's
		// client, reading right after the answer, sees Nova's task state
		// (e.g. powering-off) rather than the state before the action. A
		// failed read only leaves that to the first poll below.
		if _, err := x.inv.fetch(ctx, id); err != nil {
			x.log.Debug("server read after acceptance failed", "op", op, "err", err)
		}
	}
	notifyAccepted(ctx)

	n, err := x.waitFor(ctx, id, target)
	if errors.Is(err, ErrNotFound) {
		return n, &Error{Op: op, Kind: ErrNotFound, Err: ErrDeletedDuringAction}
	}
	if err != nil {
		return n, x.timeoutOr(ctx, op, err)
	}
	return n, nil
}

// timeoutOr turns an expired action deadline into ErrTimeout.
func (x *Executor) timeoutOr(ctx context.Context, op string, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &Error{Op: op, Kind: ErrTimeout,
			Reason: fmt.Sprintf("no target state within %s", x.cfg.ActionTimeout), Err: err}
	}
	return err
}

// waitFor polls the server until it has status target and no task, or goes to
// ERROR.
func (x *Executor) waitFor(ctx context.Context, id, target string) (Node, error) {
	return x.poll(ctx, id, func(n Node) (bool, error) {
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
func (x *Executor) waitIdle(ctx context.Context, id string) (Node, error) {
	return x.poll(ctx, id, func(n Node) (bool, error) { return n.TaskState == "", nil })
}

// poll reads the server with exponential back-off until done says so.
func (x *Executor) poll(ctx context.Context, id string, done func(Node) (bool, error)) (Node, error) {
	return cloudcall.Poller[Node]{
		Interval: x.cfg.PollInterval, MaxInterval: x.cfg.MaxPollInterval,
		Get:       func(ctx context.Context) (Node, error) { return x.inv.fetch(ctx, id) },
		Transient: func(err error) bool { return errors.Is(err, ErrUnavailable) },
	}.Until(ctx, done)
}

// SetMetadata writes one metadata item on a server and updates the cache.
func (x *Executor) SetMetadata(ctx context.Context, id, key, value string) (_ Node, err error) {
	op := fmt.Sprintf("set metadata %s on %s", key, id)
	cloud, err := x.inv.connected()
	if err != nil {
		return Node{}, err
	}
	done := x.inv.link.obs.ActionStarted(actSetMetadata)
	defer func() { done(err) }()
	_, err = servers.CreateMetadatum(ctx, cloud.Compute, id, servers.MetadatumOpts{key: value}).Extract()
	if err != nil {
		return Node{}, classify(op, err)
	}
	return x.inv.fetch(ctx, id)
}
