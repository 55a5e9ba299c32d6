package domain

import (
	"testing"

	"quintupleo/nodes"
	"quintupleo/virt"
)

// powersOf is, for each libvirt state, the node power states it may
// refine: an active domain is a node that is on (or, "in shutdown", powering
// off); shut off and crashed are off, or not yet up while Nova brings it up;
// "no state" is a node being built or one Nova says nothing of.
func powersOf(s virt.State) []nodes.Power {
	switch s {
	case virt.StateRunning, virt.StateBlocked, virt.StatePaused, virt.StatePMSuspended:
		return []nodes.Power{nodes.PowerOn}
	case virt.StateShutdown:
		return []nodes.Power{nodes.PoweringOff}
	case virt.StateShutoff, virt.StateCrashed:
		return []nodes.Power{nodes.PowerOff, nodes.PoweringOn}
	case virt.StateNoState:
		return []nodes.Power{nodes.PoweringOn, nodes.PowerUnknown}
	}
	return nil
}

// CheckPowerAgrees fails t unless MapState's answer for n refines
// nodes.PowerStateOf's, so that every front end reports the same power.
// Deleted servers are no domain and are skipped.
func CheckPowerAgrees(t *testing.T, n NovaState) {
	t.Helper()
	if n.Deleted() {
		return
	}
	s, _ := MapState(n)
	p := nodes.PowerStateOf(nodes.Node{Status: n.Status, VMState: n.VMState, TaskState: n.TaskState, PowerState: n.PowerState})
	for _, ok := range powersOf(s) {
		if p == ok {
			return
		}
	}
	t.Errorf("%+v: libvirt state %d, but nodes says the power is %s (allowed: %v)", n, s, p, powersOf(s))
}

// TestStateTableAgreesWithNodesPower walks every Nova state the table's rows
// can tell apart — every status, vm_state, task_state and power_state a row
// names, plus the task states nodes reads, in every combination — and holds
// the libvirt state to the nodes power decision. (state_test.go does the same
// for every pinned row and every recorded Nova sequence.)
func TestStateTableAgreesWithNodesPower(t *testing.T) {
	statuses := map[string]bool{"": true, "ACTIVE": true, "SHUTOFF": true, "UNKNOWN": true}
	vms := map[string]bool{"": true, "active": true, "stopped": true}
	tasks := map[string]bool{"": true, "powering-on": true, "resuming": true, "unshelving": true, "rescuing": true,
		"rebooting_hard": true, "reboot_started_hard": true, "spawning": true, "deleting": true, "rebuilding": true}
	powers := map[int]bool{PowerNoState: true, PowerRunning: true, PowerPaused: true, PowerShutdown: true, PowerCrashed: true, PowerSuspend: true}
	for _, r := range stateRules {
		for _, v := range r.status {
			statuses[v] = true
		}
		for _, v := range r.vm {
			vms[v] = true
		}
		for _, v := range r.task {
			tasks[v] = true
		}
		for _, v := range r.power {
			powers[v] = true
		}
	}
	checked := 0
	for st := range statuses {
		for vm := range vms {
			for task := range tasks {
				for power := range powers {
					CheckPowerAgrees(t, NovaState{Status: st, VMState: vm, TaskState: task, PowerState: power})
					checked++
				}
			}
		}
	}
	t.Logf("%d Nova states checked", checked)
}
