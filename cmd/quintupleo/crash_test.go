package main

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"quintupleo/cloudsim"
	"quintupleo/internal/stacktest"
	"quintupleo/internal/testtool"
)

// Crash safety of provisioning (docs/reliability.md, "Crash (SIGKILL) and
// restart"): a define whose process is SIGKILLed in the middle leaves debris
// in the cloud, which the next start removes; another replica's define still
// in progress is left alone.

// crashTimeout is the victims' --action-timeout: the age past which a
// define's leftovers are debris, kept short so the test waits little.
const crashTimeout = 3 * time.Second

// simCloudsYAML starts a cloudsim and writes its clouds.yaml (cloud "sim").
func simCloudsYAML(t *testing.T, opts cloudsim.Options) (*cloudsim.Sim, string) {
	t.Helper()
	sim := stacktest.StartSim(t, opts)
	return sim, stacktest.CloudsYAML(t, sim)
}

// startServeOver starts `quintupleo serve` over the cloud of yaml and waits
// for its libvirt listener.
func startServeOver(t *testing.T, bin, yaml string, timeout time.Duration) *serveProcess {
	t.Helper()
	p, addrs := launchServeProcess(t, bin, "serve", "--os-cloud", "sim", "--clouds-yaml", yaml,
		"--listen-tcp", "127.0.0.1:0", "--define-network", "provision", "--log-level", "debug",
		"--refresh-interval", "200ms", "--poll-interval", "10ms", "--action-timeout", timeout.String())
	select {
	case a := <-addrs:
		p.libvirtAddr = a[1]
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not log its libvirt listener within 60s")
	}
	return p
}

// startDefine runs `virsh define` of a two-NIC domain against p, returning
// at once.
func startDefine(t *testing.T, p *serveProcess, name string, mac byte) *exec.Cmd {
	t.Helper()
	xml := writeXML(t, tripleoDomainXML(name, "", fmt.Sprintf("00:7d:ac:00:%02x:01", mac), fmt.Sprintf("00:7d:ac:00:%02x:02", mac)))
	cmd := exec.Command(testtool.Require(t, "virsh"), "-c", "qemu+tcp://"+p.libvirtAddr+"/system", "define", xml)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("virsh define %s: %s", name, out.String())
		}
	})
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// TestCrashMidDefineCleanedAtNextStart holds a define at each step with a
// hanging cloud request, SIGKILLs serve there, restarts it, and expects the
// cloud as it was before the define, each removal logged.
func TestCrashMidDefineCleanedAtNextStart(t *testing.T) {
	testtool.Require(t, "virsh")
	sim, yaml := simCloudsYAML(t, cloudsim.Options{Nodes: 2, TransitionDelay: 10 * time.Millisecond})
	bin := testtool.BuildQuintupleo(t)
	before := stateOf(sim)
	steps := []struct {
		name, endpoint string // the request held when serve is killed
		logged         []string
	}{
		{"after the ports, before the server", "POST /compute/v2.1/servers",
			[]string{"removed a port of a define that did not finish"}},
		{"after the server create, before it is stopped", "os-stop",
			[]string{"removed the server of a define that did not finish"}},
		{"stopped, before the define is marked done", "DELETE /compute/v2.1/servers/{id}/metadata/{key}",
			[]string{"removed the server of a define that did not finish"}},
	}
	victim, parent := startServeOver(t, bin, yaml, crashTimeout), t
	for i, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			id, err := sim.AddFault(cloudsim.Fault{Endpoint: step.endpoint, Hang: true, Count: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer sim.RemoveFault(id)
			held := sim.Count(step.endpoint)
			startDefine(t, victim, "crashed"+string(rune('a'+i)), byte(i))
			waitFor(t, promptly, "the define to reach "+step.endpoint, func() bool { return sim.Count(step.endpoint) > held })
			if err := victim.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			_ = victim.cmd.Wait()
			if stateOf(sim).equal(before) {
				t.Fatal("the killed define left nothing behind: the test does not test")
			}
			victim = startServeOver(parent, bin, yaml, crashTimeout) // outlives this step
			waitFor(t, 4*crashTimeout+promptly, "the debris removed", func() bool { return stateOf(sim).equal(before) })
			for _, line := range step.logged {
				waitFor(t, promptly, "the removal logged", func() bool { return strings.Contains(victim.logText(), line) })
			}
		})
	}
}

// TestSweepSparesAnotherReplicasDefine: a replica with a long
// --action-timeout is in the middle of a define (its os-stop is slow) when
// one with a short timeout starts and sweeps: the define completes, and the
// sweeper removes nothing.
func TestSweepSparesAnotherReplicasDefine(t *testing.T) {
	testtool.Require(t, "virsh")
	sim, yaml := simCloudsYAML(t, cloudsim.Options{Nodes: 2, TransitionDelay: 10 * time.Millisecond})
	bin := testtool.BuildQuintupleo(t)
	slow := 8 * time.Second // longer than the sweeper's timeout and its second look
	id, err := sim.AddFault(cloudsim.Fault{Endpoint: "os-stop", Latency: slow, Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.RemoveFault(id)
	busy := startServeOver(t, bin, yaml, 60*time.Second)
	define := startDefine(t, busy, "inprogress", 9)
	waitFor(t, promptly, "the define to reach os-stop", func() bool { return sim.Count("os-stop") > 0 })
	sweeper := startServeOver(t, bin, yaml, crashTimeout)
	waitFor(t, promptly, "the sweeper's first look", func() bool {
		return strings.Contains(sweeper.logText(), "looked for the debris of interrupted defines")
	})
	if err := define.Wait(); err != nil {
		t.Fatalf("the define in progress failed: %v\nserve log:\n%s", err, busy.logText())
	}
	if _, ok := sim.Server("inprogress"); !ok {
		t.Fatal("the defined server is gone")
	}
	if strings.Contains(sweeper.logText(), "removed") {
		t.Errorf("the sweeper removed a live define's work:\n%s", sweeper.logText())
	}
}
