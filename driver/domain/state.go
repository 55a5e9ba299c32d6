package domain

import (
	"slices"

	"quintupleo/nodes"
	"quintupleo/virt"
)

// State mapping: Nova's view of a server (status, vm_state, task_state,
// power_state) → libvirt's (virDomainState, reason). It refines the power
// state every front end reports (nodes.PowerStateOf: on, off, powering on or
// off) into libvirt's states and reasons, and must agree with it:
// power_test.go checks every row and every recorded sequence against it.
//
// The mapping is the data table stateRules below, evaluated top to bottom,
// first match wins. The same table, with the reasoning for each choice, is in
// testdata/README ("State mapping"); state_test.go checks every row and replays
// every real Nova poll sequence in testdata/nova/*.seq.json through it.
//
// Guiding rules:
//   - A domain is active (listed by `virsh list`, `list --name`, has an id)
//     exactly while a guest is executing: Ironic's ssh driver and Nova's
//     VirtualPowerManager read "in list --name" as POWER_ON.
//   - Transitions towards "off" stay active until Nova reports the guest off
//     (ACTIVE + powering-off = libvirt's "in shutdown"); transitions towards
//     "on" stay inactive until Nova reports ACTIVE — libvirt likewise only makes
//     a domain active once its guest runs, and our start waits for that.
//   - Nova states with no libvirt twin take the closest libvirt meaning
//     (SUSPENDED and SHELVED* are "shut off (saved)": libvirt's managed save,
//     which `virsh start` resumes, as our start resumes/unshelves).

// Nova power_state values (nova/compute/power_state.py), as nodes names
// them.
const (
	PowerNoState  = nodes.NovaPowerNoState
	PowerRunning  = nodes.NovaPowerRunning
	PowerPaused   = nodes.NovaPowerPaused
	PowerShutdown = nodes.NovaPowerShutdown
	PowerCrashed  = nodes.NovaPowerCrashed
	PowerSuspend  = nodes.NovaPowerSuspend
)

// NovaState is what Nova reports for a server (OS-EXT-STS:* and status).
type NovaState struct {
	Status     string // "ACTIVE", "SHUTOFF", "BUILD", "ERROR", "PAUSED", "SUSPENDED", "RESCUE", "REBOOT", "HARD_REBOOT", "SHELVED", "SHELVED_OFFLOADED", "DELETED", "SOFT_DELETED", "MIGRATING", "RESIZE", "VERIFY_RESIZE", "REVERT_RESIZE", "REBUILD", "PASSWORD", "UNKNOWN", …
	VMState    string // "active", "stopped", "building", "error", "paused", "suspended", "rescued", "shelved", "shelved_offloaded", "deleted", "soft-delete", "resized", …
	TaskState  string // "" when null; "powering-on", "powering-off", "rebooting", "reboot_started_hard", "rebuilding", "rescuing", "unrescuing", "spawning", "deleting", …
	PowerState int    // 0 NOSTATE, 1 RUNNING, 3 PAUSED, 4 SHUTDOWN, 6 CRASHED, 7 SUSPENDED
}

// Deleted reports whether the server is gone (DELETED or SOFT_DELETED): it is
// no libvirt domain at all, and callers drop it from every list. MapState
// answers NOSTATE for it.
func (n NovaState) Deleted() bool {
	return n.Status == "DELETED" || n.Status == "SOFT_DELETED" ||
		n.VMState == "deleted" || n.VMState == "soft-delete"
}

// stateRule is one row of the mapping. An empty field matches anything; a
// non-empty one matches if any listed value equals Nova's.
type stateRule struct {
	status []string
	vm     []string
	task   []string
	power  []int
	state  virt.State
	reason int32
}

// stateRules is the mapping table, first match wins. Keep testdata/README's
// table in step with it. Never modified at run time.
var stateRules = []stateRule{
	// Gone: not a domain. (Callers check NovaState.Deleted and drop it.)
	{status: []string{"DELETED", "SOFT_DELETED"}, state: virt.StateNoState, reason: virt.NostateUnknown},
	{vm: []string{"deleted", "soft-delete"}, state: virt.StateNoState, reason: virt.NostateUnknown},

	// The hypervisor says the guest crashed: libvirt's "crashed", whatever Nova's
	// status (Nova's power sync soon turns it into SHUTOFF or ERROR).
	{power: []int{PowerCrashed}, state: virt.StateCrashed, reason: virt.CrashedUnknown},

	// Still being created: nothing runs yet, and it is not "shut off" either
	// (start cannot help; it becomes running on its own). libvirt's "no state",
	// inactive.
	{status: []string{"BUILD"}, state: virt.StateNoState, reason: virt.NostateUnknown},
	{vm: []string{"building"}, state: virt.StateNoState, reason: virt.NostateUnknown},

	// ERROR: show what actually runs. A running guest stays running (Ironic
	// must not think it off); anything else is "shut off (failed)". The fault
	// message goes into the XML <description>.
	{status: []string{"ERROR"}, power: []int{PowerRunning}, state: virt.StateRunning, reason: virt.RunningUnknown},
	{status: []string{"ERROR"}, power: []int{PowerPaused}, state: virt.StatePaused, reason: virt.PausedUnknown},
	{status: []string{"ERROR"}, state: virt.StateShutoff, reason: virt.ShutoffFailed},
	{vm: []string{"error"}, power: []int{PowerRunning}, state: virt.StateRunning, reason: virt.RunningUnknown},
	{vm: []string{"error"}, state: virt.StateShutoff, reason: virt.ShutoffFailed},

	// A graceful stop (os-stop, shelve) in progress while the guest still runs:
	// libvirt's "in shutdown" (active, so Ironic still sees it on).
	{task: []string{"powering-off", "shelving"}, power: []int{PowerRunning}, state: virt.StateShutdown, reason: virt.ShutdownUser},

	// Rescued: the instance runs its rescue (e.g. iPXE) image — that is the
	// "network boot" of the rescue boot-device strategy. Nova Zed's fake driver
	// reports power_state 4 while rescued; the libvirt driver reports 1.
	{status: []string{"RESCUE"}, state: virt.StateRunning, reason: virt.RunningBooted},
	{vm: []string{"rescued"}, state: virt.StateRunning, reason: virt.RunningBooted},

	// Reboots keep the guest running as far as libvirt is concerned.
	{status: []string{"REBOOT", "HARD_REBOOT"}, state: virt.StateRunning, reason: virt.RunningBooted},

	// Paused by the user (os-pause).
	{status: []string{"PAUSED"}, state: virt.StatePaused, reason: virt.PausedUser},
	{vm: []string{"paused"}, state: virt.StatePaused, reason: virt.PausedUser},

	// Suspended (Nova's libvirt driver does a managed save) and shelved (the
	// disk is saved to an image, the guest is gone): "shut off (saved)"; start
	// resumes or unshelves.
	{status: []string{"SUSPENDED", "SHELVED", "SHELVED_OFFLOADED"}, state: virt.StateShutoff, reason: virt.ShutoffSaved},
	{vm: []string{"suspended", "shelved", "shelved_offloaded"}, state: virt.StateShutoff, reason: virt.ShutoffSaved},

	// Everything else (ACTIVE, SHUTOFF, MIGRATING, RESIZE, VERIFY_RESIZE,
	// REVERT_RESIZE, REBUILD, PASSWORD, UNKNOWN, …) follows the hypervisor's
	// power state, which is what a libvirt host would report.
	{power: []int{PowerRunning}, state: virt.StateRunning, reason: virt.RunningBooted},
	{power: []int{PowerPaused}, state: virt.StatePaused, reason: virt.PausedUnknown},
	{power: []int{PowerSuspend}, state: virt.StatePMSuspended, reason: virt.PMSuspendedUnknown},
	// Nova cannot tell a clean shutdown from a destroy (os-stop shuts down
	// gracefully, then destroys after the timeout); "shutdown" is the usual
	// case. A caller that just destroyed the domain itself may report
	// virt.ShutoffDestroyed instead.
	{power: []int{PowerShutdown}, state: virt.StateShutoff, reason: virt.ShutoffShutdown},

	// power_state NOSTATE: trust the vm_state.
	{vm: []string{"active", "resized"}, state: virt.StateRunning, reason: virt.RunningUnknown},
	{vm: []string{"stopped"}, state: virt.StateShutoff, reason: virt.ShutoffUnknown},

	// Nothing known.
	{state: virt.StateNoState, reason: virt.NostateUnknown},
}

func (r stateRule) matches(n NovaState) bool {
	return matchAny(r.status, n.Status) && matchAny(r.vm, n.VMState) &&
		matchAny(r.task, n.TaskState) && matchAny(r.power, n.PowerState)
}

// matchAny: an empty set matches every value.
func matchAny[T comparable](set []T, v T) bool {
	return len(set) == 0 || slices.Contains(set, v)
}

// MapState maps Nova's view to libvirt's (state, reason), as a data table
// ([]stateRule) evaluated in order, first match wins. A deleted server maps to
// (virt.StateNoState, 0); callers drop it (see NovaState.Deleted).
func MapState(n NovaState) (virt.State, int32) {
	for _, r := range stateRules {
		if r.matches(n) {
			return r.state, r.reason
		}
	}
	return virt.StateNoState, virt.NostateUnknown // unreachable: the last rule matches all
}
