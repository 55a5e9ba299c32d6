package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digitalocean/go-libvirt"

	"quintupleo/cloudsim"
	"quintupleo/internal/testtool"
)

// waitState waits until the cloud holds exactly want (a clean-up runs after
// the call that failed has answered, when the client went away).
func waitState(t *testing.T, sim *cloudsim.Sim, want cloudState) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !stateOf(sim).equal(want) {
		if time.Now().After(deadline) {
			t.Fatalf("the cloud kept debris:\nwant %v\ngot  %v", want, stateOf(sim))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDefineFaultsLeaveNothingBehind faults each step of a define in turn:
// the client gets a libvirt error and the cloud holds exactly what it held.
func TestDefineFaultsLeaveNothingBehind(t *testing.T) {
	e := startEnv(t)
	xml := writeXML(t, tripleoDomainXML("faulty", "", "00:7d:ab:00:01:01", "00:7d:ab:00:01:02"))
	steps := []struct {
		name  string
		fault string
		want  string
	}{
		// Reads are retried (nodes/retry.go): only one that keeps failing fails.
		{"flavors", "endpoint=GET /compute/v2.1/flavors/detail,error-rate=1", "operation failed: cloud unavailable"},
		{"first port", "endpoint=POST /network/v2.0/ports,error-rate=1,count=1", "operation failed: cloud unavailable"},
		{"second port", "endpoint=POST /network/v2.0/ports,error-rate=0.5,count=1", "operation failed: cloud unavailable"},
		{"server create", "endpoint=POST /compute/v2.1/servers,error-rate=1,status=503,count=1", "operation failed: cloud unavailable"},
		// The listing that settles a name race (and, meanwhile, the refreshes).
		{"name claim", "endpoint=GET /compute/v2.1/servers/detail,error-rate=1", "operation failed: cloud unavailable"},
		{"os-stop", "endpoint=os-stop,error-rate=1,count=1", "operation failed: cloud unavailable"},
		{"server poll", "endpoint=GET /compute/v2.1/servers/{id},error-rate=1,status=404,count=1", "Domain not found"},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			before := stateOf(e.sim)
			f, err := cloudsim.ParseFault(step.fault)
			if err != nil {
				t.Fatal(err)
			}
			id, err := e.sim.AddFault(f)
			if err != nil {
				t.Fatal(err)
			}
			_, errOut, code := e.virsh(t, "define", xml)
			e.sim.RemoveFault(id)
			if code == 0 || !strings.Contains(errOut, step.want) {
				t.Errorf("define with %s faulted: exit %d, %s", step.name, code, errOut)
			}
			waitState(t, e.sim, before)
		})
	}
	// And with no fault it works.
	e.mustVirsh(t, "define", xml)
}

// TestDefineClientGoneLeavesNothingBehind: virsh is killed while the cloud
// holds the call (os-stop hangs); the half-made server and ports go away.
func TestDefineClientGoneLeavesNothingBehind(t *testing.T) {
	e := startEnv(t)
	before := stateOf(e.sim)
	id, err := e.sim.AddFault(cloudsim.Fault{Endpoint: "os-stop", Hang: true, Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.sim.RemoveFault(id)
	ctx, cancel := context.WithCancel(t.Context())
	cmd := exec.CommandContext(ctx, testtool.Require(t, "virsh"), "-c", e.uri, "define",
		writeXML(t, tripleoDomainXML("gone", "", "00:7d:ab:00:02:01")))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.sim.Count("os-stop") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("define never reached os-stop")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	_ = cmd.Wait()
	waitState(t, e.sim, before)
}

// TestDefineRefusedMAC: a member may not choose a MAC on another project's
// shared network (Neutron's policy): libvirt's error, nothing created.
func TestDefineRefusedMAC(t *testing.T) {
	e := startEnv(t, func(o *cloudsim.Options, c *serveConfig) {
		o.Role = "member"
		c.networkMap = map[string]string{"brbm": "shared-net"}
	})
	if _, err := e.sim.AddNetwork(cloudsim.NetworkSpec{Name: "shared-net", CIDR: "10.9.0.0/24", OtherProject: true, Shared: true}); err != nil {
		t.Fatal(err)
	}
	before := stateOf(e.sim)
	_, errOut, code := e.virsh(t, "define", writeXML(t, tripleoDomainXML("refused", "", "00:7d:ab:00:03:01")))
	want := "error: unsupported configuration: the cloud cannot create domain 'refused': create port with MAC 00:7d:ab:00:03:01 on network 'shared-net': (rule:create_port and rule:create_port:mac_address) is disallowed by policy"
	if code == 0 || !strings.Contains(errOut, want) {
		t.Errorf("define with a refused MAC: exit %d\n%s\nwant %s", code, errOut, want)
	}
	waitState(t, e.sim, before)
}

// TestDefineFiftyInParallel: 50 defines at once, each on its own
// connection, all succeed with their MACs.
func TestDefineFiftyInParallel(t *testing.T) {
	e := startEnv(t)
	const n = 50
	var wg sync.WaitGroup
	errs := make([]error, n)
	conns := make([]*libvirt.Libvirt, n)
	for i := range n {
		conns[i] = e.golibvirt(t)
	}
	for i, l := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = l.DomainDefineXML(tripleoDomainXML(fmt.Sprintf("par-%02d", i), "", fmt.Sprintf("00:7d:ab:01:00:%02x", i)))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("define par-%02d: %v", i, err)
		}
	}
	for i := range n {
		s, ok := e.sim.Server(fmt.Sprintf("par-%02d", i))
		if want := fmt.Sprintf("00:7d:ab:01:00:%02x", i); !ok || s.Status != "SHUTOFF" || len(s.MACs) != 1 || s.MACs[0] != want {
			t.Errorf("par-%02d: %+v, want SHUTOFF with MAC %s", i, s, want)
		}
	}
}

// TestTwoReplicasDefineTheSameName: two quintupleo over one cloud define the
// same domain at the same moment: one server, one success, one "already
// exists", no stray port.
func TestTwoReplicasDefineTheSameName(t *testing.T) {
	a := startEnv(t)
	b := runStack(t, serveConfig{listenTCP: "127.0.0.1:0", refresh: 100 * time.Millisecond, actionTimeout: 20 * time.Second,
		pollInterval: 10 * time.Millisecond, defineNetwork: "provision", cloudFlags: cloudFlags{osCloud: a.cloud.Cloud, cloudsYAML: a.cloud.CloudsYAML}})
	b.sim = a.sim
	for round := range 5 {
		name := fmt.Sprintf("race-%d", round)
		// With and without a MAC: the race is then settled by Neutron's
		// MAC uniqueness, or by the name claim on Nova.
		mac := ""
		if round%2 == 0 {
			mac = fmt.Sprintf("00:7d:ab:02:00:%02x", round)
		}
		xml := tripleoDomainXML(name, "", mac)
		if mac == "" {
			xml = strings.Replace(xml, "      <mac address=''/>\n", "", 1)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, e := range []*env{a, b} {
			l := e.golibvirt(t)
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = l.DomainDefineXML(xml)
			}()
		}
		wg.Wait()
		ok, exists := 0, 0
		for _, err := range errs {
			var le libvirt.Error
			switch {
			case err == nil:
				ok++
			case errors.As(err, &le) && le.Code == uint32(libvirt.ErrOperationFailed) && strings.Contains(le.Message, "domain '"+name+"' already exists with uuid"):
				exists++
			default:
				t.Errorf("%s: unexpected error %v", name, err)
			}
		}
		var servers int
		for _, s := range a.sim.Servers() {
			if s.Name == name {
				servers++
			}
		}
		if ok != 1 || exists != 1 || servers != 1 {
			t.Errorf("%s: %d succeeded, %d already exists, %d servers; want 1, 1, 1 (errors %v)\nports %v", name, ok, exists, servers, errs, a.sim.Ports())
		}
		for _, p := range a.sim.Ports() {
			if p.DeviceID == "" {
				t.Errorf("%s: stray port %+v", name, p)
			}
		}
	}
}
