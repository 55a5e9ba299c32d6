package main

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"quintupleo/cloudsim"
	"quintupleo/internal/stacktest"
	"quintupleo/internal/testtool"
	"quintupleo/nodes"
)

// Replicas over one cloud (docs/replicas.md): three `quintupleo serve`
// processes over one cloudsim must answer alike once the documented
// staleness window has passed, whichever replica acted and whether the
// change came from a replica or from the cloud itself.

// replicaRefresh and replicaRefreshTimeout are the replicas' inventory
// settings; replicaWindow is the staleness bound docs/replicas.md gives for
// them: one refresh interval plus one whole listing.
const (
	replicaRefresh        = 200 * time.Millisecond
	replicaRefreshTimeout = 2 * time.Second
	replicaWindow         = replicaRefresh + replicaRefreshTimeout
)

// replica is one running `quintupleo serve` and the lifecycle events a
// `virsh event --loop` connected to it has printed.
type replica struct {
	name string
	*env
	proc *serveProcess

	mu sync.Mutex
	// mu guards:
	events []string
}

// replicaCloud starts a cloudsim with n nodes for replicas to share and
// writes the clouds.yaml that reaches it.
func replicaCloud(t *testing.T, n int) (*cloudsim.Sim, string) {
	t.Helper()
	sim := stacktest.StartSim(t, cloudsim.Options{Nodes: n, TransitionDelay: 30 * time.Millisecond})
	return sim, stacktest.CloudsYAML(t, sim)
}

// startReplicas starts n serve processes over the cloud of cloudsYAML,
// each with its own libvirt listener, and an event stream on each.
func startReplicas(t *testing.T, cloudsYAML string, n int, extra ...string) []*replica {
	t.Helper()
	bin := testtool.BuildQuintupleo(t)
	var rs []*replica
	for i := range n {
		args := append([]string{"serve", "--os-cloud", "sim", "--clouds-yaml", cloudsYAML,
			"--listen-tcp", "127.0.0.1:0", "--hostname", "virthost", "--log-level", "debug",
			"--refresh-interval", replicaRefresh.String(), "--refresh-timeout", replicaRefreshTimeout.String(),
			"--poll-interval", "10ms", "--action-timeout", "20s"}, extra...)
		p, addrs := launchServeProcess(t, bin, args...)
		select {
		case a := <-addrs:
			p.libvirtAddr = a[1]
		case <-time.After(60 * time.Second):
			t.Fatal("serve did not log its libvirt listener within 60s")
		}
		r := &replica{name: string(rune('A' + i)), proc: p,
			env: &env{uri: "qemu+tcp://" + p.libvirtAddr + "/system", clientMax: 60 * time.Second}}
		r.watchEvents(t)
		rs = append(rs, r)
	}
	return rs
}

// watchEvents runs `virsh event --event lifecycle --loop` against r and
// returns once the replica has registered its callback: serve logs a call
// at debug level after its reply is sent, so an event after that line
// reaches the stream.
func (r *replica) watchEvents(t *testing.T) {
	t.Helper()
	lines := virshEvents(t, r.uri, "--event", "lifecycle")
	go func() {
		for l := range lines {
			if strings.HasPrefix(l, "event ") {
				r.mu.Lock()
				r.events = append(r.events, l)
				r.mu.Unlock()
			}
		}
	}()
	waitFor(t, 30*time.Second, "replica "+r.name+"'s event registration", func() bool {
		return strings.Contains(r.proc.logText(), "proc=CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY")
	})
}

// eventLines is what r's event stream has printed so far.
func (r *replica) eventLines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// snapshot is everything a client can read of the domains on r, in one
// virsh process: the list with ids and states, and per domain its info,
// state with reason, and XML (boot device, title, description, metadata).
func (r *replica) snapshot(t *testing.T) string {
	t.Helper()
	doms := names(r.mustVirsh(t, "list", "--all", "--name"))
	cmds := []string{"list --all"}
	for _, d := range doms {
		cmds = append(cmds, "dominfo "+d, "domstate --reason "+d, "dumpxml "+d)
	}
	out, errOut, code := r.virsh(t, strings.Join(cmds, " ; "))
	if code != 0 {
		// A domain undefined between the two calls: the next round sees it.
		return fmt.Sprintf("virsh exit %d: %s", code, errOut)
	}
	return out
}

// agree waits until every replica shows the same snapshot and check accepts
// it, and fails the test if a round of reads started after the staleness
// window (counted from since, when the action returned) still disagrees.
// Reads follow one another without pause: each is a virsh process.
func agree(t *testing.T, rs []*replica, since time.Time, what string, check func(snap string) error) string {
	t.Helper()
	deadline := since.Add(replicaWindow)
	for {
		round := time.Now()
		snaps := make([]string, len(rs))
		for i, r := range rs {
			snaps[i] = r.snapshot(t)
		}
		err := check(snaps[0])
		same := true
		for _, s := range snaps[1:] {
			same = same && s == snaps[0]
		}
		if same && err == nil {
			t.Logf("%s: replicas agree (read %v–%v after the action)", what,
				round.Sub(since).Round(time.Millisecond), time.Since(since).Round(time.Millisecond))
			return snaps[0]
		}
		if round.After(deadline) {
			for i, s := range snaps {
				t.Logf("replica %s:\n%s", rs[i].name, s)
			}
			t.Fatalf("%s: replicas still disagree (or: %v) %v after the action; the documented window is %v",
				what, err, round.Sub(since).Round(time.Millisecond), replicaWindow)
		}
	}
}

// waitReplicaEvent waits until every replica's event stream has printed want,
// within the staleness window counted from since.
func waitReplicaEvent(t *testing.T, rs []*replica, since time.Time, want string) {
	t.Helper()
	for _, r := range rs {
		waitFor(t, time.Until(since.Add(replicaWindow)), fmt.Sprintf("event %q on replica %s (saw %q)", want, r.name, r.eventLines()),
			func() bool {
				return slices.ContainsFunc(r.eventLines(), func(l string) bool { return strings.HasSuffix(l, want) })
			})
	}
}

// snapHas is a snapshot check: every want appears in the snapshot.
func snapHas(want ...string) func(string) error {
	return func(snap string) error {
		for _, w := range want {
			if !strings.Contains(snap, w) {
				return fmt.Errorf("no %q", w)
			}
		}
		return nil
	}
}

// replicaState is a snapshot check: domain dom's `domstate --reason` reads want.
// The snapshot prints the states in list order; dominfo precedes each.
func replicaState(dom, want string) func(string) error {
	return func(snap string) error {
		_, rest, ok := strings.Cut(snap, "Name:           "+dom+"\n")
		if !ok {
			return fmt.Errorf("no domain %s", dom)
		}
		_, rest, _ = strings.Cut(rest, "\n\n")
		got, _, _ := strings.Cut(rest, "\n")
		if got != want {
			return fmt.Errorf("%s is %q, want %q", dom, got, want)
		}
		return nil
	}
}

func allOf(checks ...func(string) error) func(string) error {
	return func(snap string) error {
		for _, c := range checks {
			if err := c(snap); err != nil {
				return err
			}
		}
		return nil
	}
}

// TestReplicasAgree sends mixed actions to three replicas over one cloud
// and changes the cloud behind their backs; after each, all three must give
// the same names, UUIDs, ids, states and reasons, boot devices, titles and
// lifecycle events.
func TestReplicasAgree(t *testing.T) {
	testtool.Require(t, "virsh")
	testtool.Require(t, "stdbuf")
	sim, yaml := replicaCloud(t, 4)
	rs := startReplicas(t, yaml, 3, "--define-network", "provision")
	a, b, c := rs[0], rs[1], rs[2]
	agree(t, rs, time.Now(), "at start", snapHas("node-0", "node-3"))

	// do runs a virsh command on one replica and returns when it returned.
	do := func(r *replica, args ...string) time.Time {
		r.mustVirsh(t, args...)
		return time.Now()
	}

	at := do(a, "start", "node-0")
	waitReplicaEvent(t, rs, at, "'node-0': Started Booted")
	agree(t, rs, at, "start on A", replicaState("node-0", "running (booted)"))

	// The reason of a destroy is known to the replica that did it only,
	// unless it lives in the cloud.
	at = do(b, "destroy", "node-0")
	waitReplicaEvent(t, rs, at, "'node-0': Stopped Destroyed")
	agree(t, rs, at, "destroy on B", replicaState("node-0", "shut off (destroyed)"))

	// The boot device, set on C through an edited definition.
	xml := strings.Replace(c.mustVirsh(t, "dumpxml", "node-1"), "<boot dev='hd'/>", "<boot dev='network'/>", 1)
	at = do(c, "define", writeXML(t, xml))
	agree(t, rs, at, "boot device on C", snapHas("<boot dev='network'/>"))

	at = do(a, "start", "node-1")
	agree(t, rs, at, "start on A", replicaState("node-1", "running (booted)"))
	at = do(a, "shutdown", "node-1")
	waitReplicaEvent(t, rs, at, "'node-1': Stopped Shutdown")
	agree(t, rs, at, "shutdown on A", replicaState("node-1", "shut off (shutdown)"))

	// Suspend on one, resume on another: "unpaused" everywhere.
	at = do(b, "start", "node-2")
	agree(t, rs, at, "start on B", replicaState("node-2", "running (booted)"))
	at = do(c, "suspend", "node-2")
	waitReplicaEvent(t, rs, at, "'node-2': Suspended Paused")
	agree(t, rs, at, "suspend on C", replicaState("node-2", "paused (user)"))
	at = do(a, "resume", "node-2")
	waitReplicaEvent(t, rs, at, "'node-2': Resumed Unpaused")
	agree(t, rs, at, "resume on A", replicaState("node-2", "running (unpaused)"))

	// Define on B, a title on A, undefine on C.
	at = do(b, "define", writeXML(t, tripleoDomainXML("replica_new", "", "00:7d:ab:00:40:01")))
	waitReplicaEvent(t, rs, at, "'replica_new': Defined Added")
	agree(t, rs, at, "define on B", snapHas("replica_new"))
	at = do(a, "desc", "replica_new", "--config", "--title", "--new-desc", "made on B, titled on A")
	agree(t, rs, at, "title on A", snapHas("<title>made on B, titled on A</title>"))
	at = do(c, "undefine", "replica_new")
	waitReplicaEvent(t, rs, at, "'replica_new': Undefined Removed")
	agree(t, rs, at, "undefine on C", func(snap string) error {
		if strings.Contains(snap, "replica_new") {
			return fmt.Errorf("replica_new still listed")
		}
		return nil
	})

	// Out of band: the guest halts (Nova's power sync) and is started
	// behind every replica's back.
	at = do(a, "start", "node-3")
	agree(t, rs, at, "start on A", replicaState("node-3", "running (booted)"))
	if err := sim.SetPower("node-3", false); err != nil {
		t.Fatal(err)
	}
	at = time.Now()
	waitReplicaEvent(t, rs, at, "'node-3': Stopped Shutdown")
	agree(t, rs, at, "guest halted in the cloud", replicaState("node-3", "shut off (shutdown)"))

	// A destroyed domain started again and then stopped in the cloud: the
	// destroy is history on every replica.
	at = do(c, "start", "node-0")
	agree(t, rs, at, "start on C", replicaState("node-0", "running (booted)"))
	if err := sim.SetPower("node-0", false); err != nil {
		t.Fatal(err)
	}
	at = time.Now()
	agree(t, rs, at, "node-0 halted in the cloud", replicaState("node-0", "shut off (shutdown)"))

	// Every replica saw the same lifecycle events in the same order, but
	// for the passing states a replica may list or miss between two
	// refreshes (docs/replicas.md): "in shutdown" (Shutdown Finished) and
	// the run of a new server's boot image before define stops it.
	at = time.Now()
	waitReplicaEvent(t, rs, at, "'node-0': Stopped Shutdown")
	stable := func(r *replica) []string {
		return slices.DeleteFunc(r.eventLines(), func(l string) bool {
			return strings.HasSuffix(l, "Shutdown Finished") ||
				strings.Contains(l, "'replica_new'") && !strings.Contains(l, "Defined") && !strings.Contains(l, "Undefined")
		})
	}
	for _, r := range rs[1:] {
		if got, want := stable(r), stable(a); !slices.Equal(got, want) {
			t.Errorf("events on replica %s:\n%s\nreplica A:\n%s", r.name, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

// bootDevOf is a snapshot check: domain dom's XML boots from want.
func bootDevOf(dom, want string) func(string) error {
	return func(snap string) error {
		_, xml, ok := strings.Cut(snap, "<name>"+dom+"</name>")
		if !ok {
			return fmt.Errorf("no XML of %s", dom)
		}
		xml, _, _ = strings.Cut(xml, "</domain>")
		_, dev, ok := strings.Cut(xml, "<boot dev='")
		if !ok {
			return fmt.Errorf("no <boot dev> in the XML of %s", dom)
		}
		if dev, _, _ = strings.Cut(dev, "'"); dev != want {
			return fmt.Errorf("%s boots from %q, want %q", dom, dev, want)
		}
		return nil
	}
}

// TestReplicasShareTheRescueBootDevice: with the rescue strategy, a boot
// device chosen on one replica while the node is rescued (Ironic's switch to
// disk after a deploy, when Nova refuses metadata writes) is read by another
// replica, and a power cycle through that one boots from it. The replicas
// share one --state-dir, as docs/replicas.md used to advise: a file read at
// start cannot carry a change between running replicas.
func TestReplicasShareTheRescueBootDevice(t *testing.T) {
	testtool.Require(t, "virsh")
	testtool.Require(t, "stdbuf")
	sim, yaml := replicaCloud(t, 2)
	rs := startReplicas(t, yaml, 2, "--boot-strategy", "rescue", "--ipxe-image", "ipxe-boot", "--state-dir", t.TempDir())
	a, b := rs[0], rs[1]
	agree(t, rs, time.Now(), "at start", bootDevOf("node-1", "hd"))

	at := time.Now()
	t.Setenv("EDITOR", ironicSedEditor("network"))
	a.mustVirsh(t, "edit", "node-1")
	agree(t, rs, at, "network boot set on A", bootDevOf("node-1", "network"))
	at = time.Now()
	a.mustVirsh(t, "start", "node-1")
	if s, _ := sim.Server("node-1"); s.Status != "RESCUE" {
		t.Fatalf("a network boot left the server %s, want RESCUE", s.Status)
	}
	agree(t, rs, at, "network boot on A", allOf(replicaState("node-1", "running (booted)"), bootDevOf("node-1", "network")))

	// The deploy is done: Ironic sets disk on A while the node is rescued.
	at = time.Now()
	t.Setenv("EDITOR", ironicSedEditor("hd"))
	a.mustVirsh(t, "edit", "node-1")
	agree(t, rs, at, "disk boot set on A while rescued", allOf(replicaState("node-1", "running (booted)"), bootDevOf("node-1", "hd")))

	// A power cycle through B boots the disk: unrescue, stop, start.
	at = time.Now()
	b.mustVirsh(t, "reset", "node-1")
	s, _ := sim.Server("node-1")
	if s.Status != "ACTIVE" || s.Metadata[nodes.MetaPXEFirst] != "" || s.Description != nil {
		t.Errorf("after the power cycle through B: %s, metadata %v, description %v; want ACTIVE (a disk boot), pxe-first cleared and no description",
			s.Status, s.Metadata, shown(s.Description))
	}
	agree(t, rs, at, "power cycle on B", allOf(replicaState("node-1", "running (booted)"), bootDevOf("node-1", "hd")))
}
