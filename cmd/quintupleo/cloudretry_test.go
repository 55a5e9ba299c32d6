package main

import (
	"strings"
	"testing"
	"time"

	"quintupleo/cloudsim"
)

// actionRequests counts the requests for a server action since seq: sent
// (every one that reached the cloud's front) and handled (those Nova itself
// acted on).
func (e *env) actionRequests(since int64, action string) (sent, handled int) {
	for _, r := range e.sim.Requests() {
		if r.Seq > since && r.Action == action {
			sent++
			if r.Handled {
				handled++
			}
		}
	}
	return sent, handled
}

// powerOff switches name off behind quintupleo's back and waits until its
// cache says so, so that the next start is a real one.
func (e *env) powerOff(t *testing.T, name string) {
	t.Helper()
	if err := e.sim.SetPower(name, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, name+" shut off", func() bool {
		out, _, _ := e.virsh(t, "domstate", name)
		return strings.TrimSpace(out) == "shut off"
	})
}

// TestCloudFaultsRetriedOnlyWhenNovaDidNotAct: `virsh start` with each kind
// of fault on os-start. A retry happens only when the answer proves Nova did
// not take the action (429, a load balancer's 503 without a request id), and
// Nova acts exactly once; an answer from Nova itself, or a proxy's error
// after Nova acted, reaches virsh as an error with no second os-start.
func TestCloudFaultsRetriedOnlyWhenNovaDidNotAct(t *testing.T) {
	e := startEnv(t)
	cases := []struct {
		name          string
		fault         string
		ok            bool // virsh start succeeds
		sent, handled int
		minTime       time.Duration
	}{
		{"429 with Retry-After", "rate-limit=1,retry-after=1s,count=1", true, 2, 1, time.Second},
		{"503 from the load balancer", "error-rate=1,status=503,proxy,count=2", true, 3, 1, 0},
		{"503 from Nova", "error-rate=1,status=503,count=1", false, 1, 0, 0},
		{"500 from Nova", "error-rate=1,status=500,count=1", false, 1, 0, 0},
		{"504 after Nova acted", "error-rate=1,status=504,after,count=1", false, 1, 1, 0},
		{"502 after Nova acted", "error-rate=1,status=502,after,count=1", false, 1, 1, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.powerOff(t, "node-1")
			f, err := cloudsim.ParseFault("endpoint=os-start," + c.fault)
			if err != nil {
				t.Fatal(err)
			}
			id, err := e.sim.AddFault(f)
			if err != nil {
				t.Fatal(err)
			}
			defer e.sim.RemoveFault(id)
			seq := e.lastSeq()
			start := time.Now()
			_, errOut, code := e.virsh(t, "start", "node-1")
			took := time.Since(start)
			if c.ok && code != 0 {
				t.Errorf("start: exit %d, %s", code, errOut)
			}
			if !c.ok && (code == 0 || !strings.Contains(errOut, "error: Failed to start domain 'node-1'")) {
				t.Errorf("start: exit %d, %q; want a libvirt error", code, errOut)
			}
			if sent, handled := e.actionRequests(seq, "os-start"); sent != c.sent || handled != c.handled {
				t.Errorf("os-start sent %d times, Nova acted on %d; want %d and %d", sent, handled, c.sent, c.handled)
			}
			if took < c.minTime {
				t.Errorf("start took %s; Retry-After asked for %s", took, c.minTime)
			}
			if c.handled == 1 {
				// Nova started it, whatever virsh was told: the cache
				// comes to show the truth.
				waitFor(t, 10*time.Second, "node-1 running", func() bool {
					out, _, _ := e.virsh(t, "domstate", "node-1")
					return strings.TrimSpace(out) == "running"
				})
			}
		})
	}
}

// TestCloudReadsRetried: reads are retried with back-off (a define's flavor
// listing fails twice, then the define succeeds), and boundedly (a listing
// that keeps failing ends the define in a libvirt error after 1+3 tries).
func TestCloudReadsRetried(t *testing.T) {
	e := startEnv(t)
	const flavors = "GET /compute/v2.1/flavors/detail"
	count := func(since int64) int {
		n := 0
		for _, r := range e.sim.Requests() {
			if r.Seq > since && r.Endpoint == flavors {
				n++
			}
		}
		return n
	}
	xml := writeXML(t, tripleoDomainXML("retried", "", "00:7d:ab:00:02:01", "00:7d:ab:00:02:02"))
	if _, err := e.sim.AddFault(cloudsim.Fault{Endpoint: flavors, ErrorRate: 1, Status: 500}); err != nil {
		t.Fatal(err)
	}
	seq := e.lastSeq()
	if _, errOut, code := e.virsh(t, "define", xml); code == 0 || !strings.Contains(errOut, "cloud unavailable") {
		t.Errorf("define with flavors always failing: exit %d, %s", code, errOut)
	}
	if n := count(seq); n != 4 {
		t.Errorf("flavor listing sent %d times; want 4 (1+3 retries)", n)
	}
	e.sim.ClearFaults()
	if _, err := e.sim.AddFault(cloudsim.Fault{Endpoint: flavors, ErrorRate: 1, Status: 502, Count: 2}); err != nil {
		t.Fatal(err)
	}
	seq = e.lastSeq()
	e.mustVirsh(t, "define", xml)
	if n := count(seq); n != 3 {
		t.Errorf("flavor listing sent %d times; want 3 (two faults, then success)", n)
	}
}
