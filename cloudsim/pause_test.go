package cloudsim_test

import (
	"fmt"
	"strings"
	"testing"

	"quintupleo/cloudsim"
)

// TestPauseUnpauseAndCrashDump: pause and unpause move a server between
// ACTIVE and PAUSED (power_state 3) as Nova does, refusing the wrong states
// with Nova's 409; trigger_crash_dump exists from microversion 2.17 on (a
// plain 404 before) and refuses a guest that does not run.
func TestPauseUnpauseAndCrashDump(t *testing.T) {
	sim := testSim(t, cloudsim.Options{Nodes: 1})
	c := connect(t, sim)
	in, _ := sim.Server("node-0")
	id := in.ID
	action := func(mv, body string) (int, string) {
		return rawMV(t, c, "POST", c.compute.ServiceURL("servers", id, "action"), mv, body)
	}
	if code, b := action("2.79", `{"pause": null}`); code != 409 || !strings.Contains(b, fmt.Sprintf("Cannot 'pause' instance %s while it is in vm_state stopped", id)) {
		t.Errorf("pause of a stopped server: %d %s", code, b)
	}
	if code, b := action("2.79", `{"trigger_crash_dump": null}`); code != 409 || !strings.Contains(b, "Cannot 'trigger_crash_dump' instance") {
		t.Errorf("crash dump of a stopped server: %d %s", code, b)
	}
	if code, b := action("2.79", `{"os-start": null}`); code != 202 {
		t.Fatalf("start: %d %s", code, b)
	}
	waitState(t, sim, id, "ACTIVE")
	if code, b := action("2.16", `{"trigger_crash_dump": null}`); code != 404 || !strings.Contains(b, "The resource could not be found.") {
		t.Errorf("crash dump at 2.16: %d %s", code, b)
	}
	if code, b := action("2.17", `{"trigger_crash_dump": null}`); code != 202 {
		t.Errorf("crash dump at 2.17: %d %s", code, b)
	}
	if code, b := action("2.79", `{"unpause": null}`); code != 409 || !strings.Contains(b, "while it is in vm_state active") {
		t.Errorf("unpause of a running server: %d %s", code, b)
	}
	if code, b := action("2.79", `{"pause": null}`); code != 202 {
		t.Fatalf("pause: %d %s", code, b)
	}
	if in := waitState(t, sim, id, "PAUSED"); in.PowerState != 3 {
		t.Errorf("paused server: power_state %d, want 3", in.PowerState)
	}
	if code, b := action("2.79", `{"unpause": null}`); code != 202 {
		t.Fatalf("unpause: %d %s", code, b)
	}
	if in := waitState(t, sim, id, "ACTIVE"); in.PowerState != 1 {
		t.Errorf("unpaused server: power_state %d, want 1", in.PowerState)
	}
}
