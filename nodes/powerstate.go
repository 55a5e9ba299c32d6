package nodes

// Nova's power_state values (nova/compute/power_state.py): what the
// hypervisor last said of the guest.
const (
	NovaPowerNoState  = 0
	NovaPowerRunning  = 1
	NovaPowerPaused   = 3
	NovaPowerShutdown = 4
	NovaPowerCrashed  = 6
	NovaPowerSuspend  = 7
)

// Power is whether a node's machine is on, the one answer every front end
// gives: libvirt's domain state refines it (driver/domain's state table,
// which a test holds to it), a Redfish PowerState would name it as is.
type Power uint8

// The power states. The zero value is PowerUnknown.
const (
	// PowerUnknown: Nova says nothing a power state can be read from.
	PowerUnknown Power = iota
	// PowerOff: no guest executes and none is on its way up. A crashed
	// guest is off.
	PowerOff
	// PowerOn: a guest executes (running, paused, rescued, rebooting).
	PowerOn
	// PoweringOn: no guest executes yet, but Nova is bringing one up
	// (being built, powering-on, resuming, unshelving, a hard reboot or a
	// rescue of a stopped server).
	PoweringOn
	// PoweringOff: the guest still executes while Nova stops it
	// (powering-off, shelving).
	PoweringOff
)

func (p Power) String() string {
	switch p {
	case PowerOff:
		return "off"
	case PowerOn:
		return "on"
	case PoweringOn:
		return "powering on"
	case PoweringOff:
		return "powering off"
	}
	return "unknown"
}

// Transitioning reports whether Nova is changing the node's power.
func (p Power) Transitioning() bool { return p == PoweringOn || p == PoweringOff }

// towardsOn reports whether a task brings a stopped guest up.
func towardsOn(task string) bool {
	switch task {
	case "powering-on", "spawning", "resuming", "unshelving", "rescuing",
		"rebooting_hard", "reboot_pending_hard", "reboot_started_hard":
		return true
	}
	return false
}

// towardsOff reports whether a task stops a guest (which may still run).
func towardsOff(task string) bool { return task == "powering-off" || task == "shelving" }

// PowerStateOf decides a node's power from Nova's status, vm_state,
// task_state and power_state. The order of the cases is the precedence of
// driver/domain's state table: the hypervisor's word on a crash first, then
// creation, ERROR (what actually runs), a stop in progress, the statuses
// whose meaning does not depend on power_state, then power_state, then
// vm_state when power_state says nothing.
func PowerStateOf(n Node) Power {
	switch {
	case n.Deleted(), n.PowerState == NovaPowerCrashed:
		return PowerOff
	case n.Status == "BUILD" || n.VMState == "building":
		return PoweringOn
	case n.Status == "ERROR":
		return onIf(n.PowerState == NovaPowerRunning || n.PowerState == NovaPowerPaused)
	case n.VMState == "error":
		return onIf(n.PowerState == NovaPowerRunning)
	case towardsOff(n.TaskState) && n.PowerState == NovaPowerRunning:
		return PoweringOff
	case n.Status == "RESCUE" || n.VMState == "rescued", n.Status == "REBOOT" || n.Status == "HARD_REBOOT",
		n.Status == "PAUSED" || n.VMState == "paused":
		return PowerOn
	case n.Status == "SUSPENDED" || n.Status == "SHELVED" || n.Status == "SHELVED_OFFLOADED",
		n.VMState == "suspended" || n.VMState == "shelved" || n.VMState == "shelved_offloaded":
		return offOrComingUp(n)
	}
	switch n.PowerState {
	case NovaPowerRunning, NovaPowerPaused, NovaPowerSuspend:
		return PowerOn
	case NovaPowerShutdown:
		return offOrComingUp(n)
	}
	switch n.VMState {
	case "active", "resized":
		return PowerOn
	case "stopped":
		return offOrComingUp(n)
	}
	return PowerUnknown
}

func onIf(on bool) Power {
	if on {
		return PowerOn
	}
	return PowerOff
}

// offOrComingUp is a node whose guest does not execute: off, unless a task
// is bringing it up.
func offOrComingUp(n Node) Power {
	if towardsOn(n.TaskState) {
		return PoweringOn
	}
	return PowerOff
}
