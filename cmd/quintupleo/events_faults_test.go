package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"

	"quintupleo/cloudsim"
	"quintupleo/internal/testtool"
	"quintupleo/nodes"
)

// cloudClient is a gophercloud compute client straight to the env's cloud,
// for changes made "elsewhere in the cloud".
func (e *env) cloudClient(t *testing.T) *gophercloud.ServiceClient {
	t.Helper()
	cloud, err := nodes.Connect(t.Context(), e.cloud)
	if err != nil {
		t.Fatal(err)
	}
	return cloud.Compute
}

func (e *env) serverID(t *testing.T, name string) string {
	t.Helper()
	return strings.TrimSpace(e.mustVirsh(t, "domuuid", name))
}

// eventStream runs `virsh event --all --loop` and delivers its lines.
func (e *env) eventStream(t *testing.T) <-chan string {
	t.Helper()
	return e.eventStreamOf(t, "--all")
}

// eventStreamOf runs `virsh event SELECTION --loop` (--all, --event NAME)
// against the env and delivers its lines once virsh has registered.
func (e *env) eventStreamOf(t *testing.T, selection ...string) <-chan string {
	t.Helper()
	before := e.st.dom.Subscribers()
	lines := virshEvents(t, e.uri, selection...)
	// Events that happen before virsh has registered its callbacks are not
	// delivered to it (as with libvirtd): wait for the registration.
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for e.st.dom.Subscribers() <= before {
		select {
		case <-tick.C:
		case <-t.Context().Done():
			t.Fatal("virsh event never registered")
		}
	}
	return lines
}

// virshEvents runs `virsh -c uri event ARGS --loop` until the test ends and
// delivers its lines.
func virshEvents(t *testing.T, uri string, args ...string) <-chan string {
	t.Helper()
	bin := testtool.Require(t, "virsh")
	ctx, cancel := context.WithCancel(t.Context())
	// virsh block-buffers stdout into a pipe; stdbuf (coreutils) makes it
	// line-buffered so each event arrives as it is printed.
	cmd := exec.CommandContext(ctx, "stdbuf", append(append([]string{"-oL", bin, "-c", uri, "event"}, args...), "--loop")...)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "HOME="+t.TempDir())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
	})
	return lines
}

// waitLine waits for a line containing want, bounded by the test's context
// and a generous deadline.
func waitLine(t *testing.T, lines <-chan string, want string) {
	t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	var seen []string
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("event stream ended before %q; saw %q", want, seen)
			}
			if strings.Contains(l, want) {
				return
			}
			seen = append(seen, l)
		case <-deadline.C:
			t.Fatalf("no event line %q; saw %q", want, seen)
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		}
	}
}

func TestVirshEventsFromUsAndFromTheCloud(t *testing.T) {
	e := startEnv(t)
	lines := e.eventStream(t)
	// virsh registers its callbacks before it prints anything; give it a
	// known first event to prove the stream is live, made by another client.
	e.mustVirsh(t, "start", "node-1")
	waitLine(t, lines, "event 'lifecycle' for domain 'node-1': Started Booted")
	e.mustVirsh(t, "destroy", "node-1")
	waitLine(t, lines, "event 'lifecycle' for domain 'node-1': Stopped Destroyed")

	// A change made directly in the cloud, not through quintupleo.
	compute := e.cloudClient(t)
	id := e.serverID(t, "node-4")
	if err := servers.Start(t.Context(), compute, id).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitLine(t, lines, "event 'lifecycle' for domain 'node-4': Started Booted")
	if err := servers.Stop(t.Context(), compute, id).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitLine(t, lines, "event 'lifecycle' for domain 'node-4': Stopped Shutdown")
}

func TestVirshCloudFaults(t *testing.T) {
	e := startEnv(t)

	// Nova 500 on os-start: a libvirt error, exit 1, the node unchanged, the
	// server still serving.
	if _, err := e.sim.SetFault(cloudsim.Fault{Endpoint: "os-start", ErrorRate: 1, Status: 500, Count: 1}); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := e.virsh(t, "start", "node-0")
	if code != 1 || !strings.Contains(errOut, "error: Failed to start domain 'node-0'") || !strings.Contains(errOut, "cloud unavailable") {
		t.Errorf("start with Nova 500: exit %d, stderr %q", code, errOut)
	}
	if got := strings.TrimSpace(e.mustVirsh(t, "domstate", "node-0")); got != "shut off" {
		t.Errorf("after failed start, domstate = %q", got)
	}
	e.sim.ClearFaults()
	e.mustVirsh(t, "start", "node-0")

	// A 409 while another task runs is waited out: start node-2 directly in
	// the cloud, slowly, and ask quintupleo to start it too before Nova is
	// done; then a destroy that races a running transition.
	compute := e.cloudClient(t)
	id := e.serverID(t, "node-2")
	if err := servers.Start(t.Context(), compute, id).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	// Immediately: quintupleo may still think it is shut off (cache), Nova
	// answers 409 (task powering-on) and quintupleo waits for the task.
	if _, errOut, code := e.virsh(t, "start", "node-2"); code != 0 && !strings.Contains(errOut, "Domain is already active") {
		t.Errorf("start racing a cloud-side start: exit %d, stderr %q", code, errOut)
	}
	if got := strings.TrimSpace(e.mustVirsh(t, "domstate", "node-2")); got != "running" {
		t.Errorf("after racing start, domstate = %q", got)
	}

	// Cloud unreachable for the action: the error is libvirt's, exit 1.
	if _, err := e.sim.SetFault(cloudsim.Fault{Endpoint: "os-stop", ErrorRate: 1, Status: 503}); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := e.virsh(t, "destroy", "node-2"); code != 1 || !strings.Contains(errOut, "error: Failed to destroy domain 'node-2'") {
		t.Errorf("destroy with Nova 503: exit %d, stderr %q", code, errOut)
	}
	e.sim.ClearFaults()
	if got := strings.TrimSpace(e.mustVirsh(t, "domstate", "node-2")); got != "running" {
		t.Errorf("after failed destroy, domstate = %q", got)
	}
}

func TestVirshActionTimeout(t *testing.T) {
	e := startEnv(t, func(o *cloudsim.Options, c *serveConfig) {
		o.TransitionDelay = 5 * time.Second
		c.actionTimeout = 300 * time.Millisecond
	})
	_, errOut, code := e.virsh(t, "start", "node-0")
	if code != 1 || !strings.Contains(errOut, "Timed out during operation") {
		t.Errorf("start beyond the action timeout: exit %d, stderr %q", code, errOut)
	}
	if len(names(e.mustVirsh(t, "list", "--all", "--name"))) != 5 {
		t.Error("server stopped serving after a timeout")
	}
}

func TestVirshCloudUnreachable(t *testing.T) {
	e := startEnv(t)
	e.mustVirsh(t, "start", "node-3")
	e.sim.Close() // the cloud goes away

	// Reads are served from the shared view while it is fresh enough;
	// changes need the cloud and fail with a libvirt error, exit 1.
	if got := strings.TrimSpace(e.mustVirsh(t, "domstate", "node-3")); got != "running" {
		t.Errorf("domstate with the cloud gone = %q", got)
	}
	_, errOut, code := e.virsh(t, "destroy", "node-3")
	if code != 1 || !strings.Contains(errOut, "error: Failed to destroy domain 'node-3'") || !strings.Contains(errOut, "cloud unavailable") {
		t.Errorf("destroy with the cloud gone: exit %d, stderr %q", code, errOut)
	}
	if len(names(e.mustVirsh(t, "list", "--all", "--name"))) != 5 {
		t.Error("the server stopped serving when the cloud went away")
	}
}
