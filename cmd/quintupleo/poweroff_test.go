package main

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"quintupleo/cloudsim"
	"quintupleo/internal/testtool"
)

// slowStop is the guest's graceful-shutdown time in the power-off tests:
// Nova's os-stop with a guest that ignores ACPI (a node in iPXE) takes the
// whole os_shutdown_timeout, here half of Nova's default. The tests never
// wait it out: the sim is told the guest went off once the answers are
// checked.
const slowStop = 30 * time.Second

// bmcAnswerWithin is the bound on a power-off call under
// --power-off-returns=accepted: well inside ipmitool's retransmission
// window through VirtualBMC (about 20 s), far from slowStop.
const bmcAnswerWithin = 5 * time.Second

// vbmcPowerScript makes VirtualBMC's libvirt calls (virtualbmc/vbmc.py) for
// `ipmitool power off`, `power status` and a retried `power off`: a new
// connection per IPMI request, lookupByName, isActive, destroy when active.
// Each power-off must answer within argv[3] seconds.
const vbmcPowerScript = `
import sys, time, libvirt
uri, name, bound = sys.argv[1], sys.argv[2], float(sys.argv[3])
def request(f):
    conn = libvirt.open(uri)
    try:
        return f(conn.lookupByName(name))
    finally:
        conn.close()
def power_off(dom):
    if dom.isActive():
        dom.destroy()
for what in ("power off", "power status", "power off again", "power status"):
    t0 = time.monotonic()
    if what.startswith("power off"):
        request(power_off)
        took = time.monotonic() - t0
        print(what, "answered in time" if took < bound else "took %.1fs" % took)
    else:
        print(what, "on" if request(lambda d: d.isActive()) else "off",
              request(lambda d: d.state()) == [libvirt.VIR_DOMAIN_SHUTDOWN, libvirt.VIR_DOMAIN_SHUTDOWN_USER] and "in shutdown (user)")
`

const vbmcPowerWant = `power off answered in time
power status on in shutdown (user)
power off again answered in time
power status on in shutdown (user)
`

// TestPowerOffAtAcceptedFitsBMCClients: against a cloud whose graceful stop
// takes 30 s, --power-off-returns=accepted answers virsh destroy and
// VirtualBMC's destroy once Nova accepted os-stop, reports the domain "in
// shutdown (user)" — still active, so a BMC's power status says on —
// while Nova stops it, answers a retried power-off at once, and reports
// "shut off (destroyed)" with its STOPPED event once Nova says SHUTOFF.
func TestPowerOffAtAcceptedFitsBMCClients(t *testing.T) {
	py := debianPython(t)
	e := startEnv(t, func(o *cloudsim.Options, c *serveConfig) {
		o.ShutdownDelay = slowStop
		c.powerOff = powerOffAtAccepted
	})
	e.mustVirsh(t, "start", "node-1")
	e.mustVirsh(t, "start", "node-2")
	events := e.eventStream(t)

	began := time.Now()
	e.mustVirsh(t, "destroy", "node-1")
	if took := time.Since(began); took > bmcAnswerWithin {
		t.Fatalf("virsh destroy took %s against a %s graceful stop, want under %s", took, slowStop, bmcAnswerWithin)
	}
	if got := strings.TrimSpace(e.mustVirsh(t, "domstate", "--reason", "node-1")); got != "in shutdown (user)" {
		t.Errorf("domstate --reason right after destroy = %q, want in shutdown (user)", got)
	}
	if row := listTable(t, e.mustVirsh(t, "list")); row["node-1"][1] != "in shutdown" {
		t.Errorf("virsh list row of node-1 = %q, want in shutdown", row["node-1"])
	}

	ctx, cancel := context.WithTimeout(t.Context(), e.clientMax)
	defer cancel()
	out, errOut, code := testtool.Run(t, exec.CommandContext(ctx, py, "-c", vbmcPowerScript, e.uri, "node-2",
		strings.TrimSuffix(bmcAnswerWithin.String(), "s")))
	if code != 0 || out != vbmcPowerWant {
		t.Fatalf("VirtualBMC's calls: exit %d\n%s\nstderr: %s\nwant:\n%s", code, out, errOut, vbmcPowerWant)
	}
	if actions, _ := e.nova.take(); strings.Count(strings.Join(actions, " "), "os-stop") != 2 {
		t.Errorf("Nova actions %q: want one os-stop per domain (the retried power-off rides the one under way)", actions)
	}

	// The guests go off (as if os_shutdown_timeout ran out): Nova says SHUTOFF.
	for _, n := range []string{"node-1", "node-2"} {
		if err := e.sim.SetPower(n, false); err != nil {
			t.Fatal(err)
		}
		waitLine(t, events, "event 'lifecycle' for domain '"+n+"': Stopped Destroyed")
		if got := strings.TrimSpace(e.mustVirsh(t, "domstate", "--reason", n)); got != "shut off (destroyed)" {
			t.Errorf("domstate --reason of %s once Nova says SHUTOFF = %q", n, got)
		}
	}
}
