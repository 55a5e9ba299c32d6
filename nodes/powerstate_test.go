package nodes_test

import (
	"fmt"
	"testing"

	"quintupleo/nodes"
)

// The power decision, pinned where it goes beyond on and off: driver/domain
// holds its libvirt table to PowerStateOf over every state, but libvirt's
// "shut off" cannot tell off from powering on, so those are pinned here.
func TestPowerStateOf(t *testing.T) {
	tests := []struct {
		status, vm, task string
		power            int
		want             nodes.Power
	}{
		{"ACTIVE", "active", "", 1, nodes.PowerOn},
		{"SHUTOFF", "stopped", "", 4, nodes.PowerOff},
		{"PAUSED", "paused", "", 3, nodes.PowerOn},
		{"RESCUE", "rescued", "", 4, nodes.PowerOn}, // Nova Zed's fake driver
		{"RESCUE", "rescued", "unrescuing", 4, nodes.PowerOn},
		{"HARD_REBOOT", "active", "reboot_started_hard", 4, nodes.PowerOn},
		{"ACTIVE", "active", "", 6, nodes.PowerOff}, // crashed
		{"ERROR", "error", "", 1, nodes.PowerOn},
		{"ERROR", "error", "", 0, nodes.PowerOff},
		// Towards off: powering off while the guest still runs, off once
		// it does not.
		{"ACTIVE", "active", "powering-off", 1, nodes.PoweringOff},
		{"ACTIVE", "active", "shelving", 1, nodes.PoweringOff},
		{"ACTIVE", "active", "powering-off", 4, nodes.PowerOff},
		{"ACTIVE", "active", "suspending", 1, nodes.PowerOn},
		// Towards on: powering on until the guest runs.
		{"BUILD", "building", "spawning", 0, nodes.PoweringOn},
		{"SHUTOFF", "stopped", "powering-on", 4, nodes.PoweringOn},
		{"SHUTOFF", "stopped", "rebooting_hard", 4, nodes.PoweringOn},
		{"SHUTOFF", "stopped", "rescuing", 4, nodes.PoweringOn},
		{"SHELVED_OFFLOADED", "shelved_offloaded", "unshelving", 0, nodes.PoweringOn},
		{"SUSPENDED", "suspended", "resuming", 4, nodes.PoweringOn},
		// Not a power change.
		{"SHUTOFF", "stopped", "deleting", 4, nodes.PowerOff},
		{"REBUILD", "stopped", "rebuilding", 4, nodes.PowerOff},
		{"SUSPENDED", "suspended", "", 4, nodes.PowerOff},
		// Power state unknown: vm_state decides; nothing known is unknown.
		{"ACTIVE", "active", "", 0, nodes.PowerOn},
		{"SHUTOFF", "stopped", "", 0, nodes.PowerOff},
		{"", "", "", 0, nodes.PowerUnknown},
	}
	for _, tc := range tests {
		n := nodes.Node{Status: tc.status, VMState: tc.vm, TaskState: tc.task, PowerState: tc.power}
		t.Run(fmt.Sprintf("%s/%s/%s/%d", tc.status, tc.vm, tc.task, tc.power), func(t *testing.T) {
			if got := nodes.PowerStateOf(n); got != tc.want {
				t.Errorf("PowerStateOf = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestPowerNames(t *testing.T) {
	for p, want := range map[nodes.Power]string{
		nodes.PowerUnknown: "unknown", nodes.PowerOff: "off", nodes.PowerOn: "on",
		nodes.PoweringOn: "powering on", nodes.PoweringOff: "powering off",
	} {
		if p.String() != want || p.Transitioning() != (p == nodes.PoweringOn || p == nodes.PoweringOff) {
			t.Errorf("%d: %q, transitioning %v", p, p.String(), p.Transitioning())
		}
	}
}
