package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"quintupleo/cloudsim"
	"quintupleo/internal/testtool"
)

// A GET /servers/detail that never answers must not wedge the server: the
// request is abandoned at --cloud-timeout and the next refresh brings the
// view up to date, so virsh sees a change made in the cloud during the hang
// within one refresh interval plus the deadline.
func TestVirshRecoversFromAHungListing(t *testing.T) {
	const cloudTimeout = time.Second
	e := startEnv(t, func(_ *cloudsim.Options, c *serveConfig) { c.cloudTimeout = cloudTimeout })
	refresh := e.st.inv.Config().RefreshInterval
	if got := listTable(t, e.mustVirsh(t, "list", "--all"))["node-2"]; got[1] != "shut off" {
		t.Fatalf("node-2 before the hang: %v", got)
	}

	if _, err := e.sim.AddFault(cloudsim.Fault{Endpoint: "GET /compute/v2.1/servers/detail", Hang: true, Count: 1}); err != nil {
		t.Fatal(err)
	}
	// A one-shot fault vanishes when it fires: from then on a refresh is
	// stuck in the hanging request.
	waitFor(t, 10*time.Second, "the hang to catch a refresh", func() bool { return len(e.sim.Faults()) == 0 })
	hung := time.Now()
	if err := e.sim.SetPower("node-2", true); err != nil {
		t.Fatal(err)
	}

	// Bound: the rest of the hung request's deadline, the next refresh
	// (at most one interval later), plus one virsh run and scheduling on a
	// shared machine under the race detector (1 s was 0.2 s short once on
	// a loaded CI machine). A listing never abandoned fails below at once.
	bound := cloudTimeout + refresh + 2*time.Second
	var last map[string][2]string
	for {
		last = listTable(t, e.mustVirsh(t, "list", "--all"))
		if last["node-2"][1] == "running" {
			break
		}
		if time.Since(hung) > bound+5*time.Second {
			t.Fatalf("node-2 still %v %s after the hang began: the hung listing was never abandoned", last["node-2"], time.Since(hung).Round(time.Millisecond))
		}
		time.Sleep(20 * time.Millisecond)
	}
	took := time.Since(hung)
	t.Logf("change made during the hang visible to virsh after %s (bound %s)", took.Round(time.Millisecond), bound)
	if took > bound {
		t.Errorf("recovery took %s, want within %s (deadline %s + refresh %s + 2s)", took.Round(time.Millisecond), bound, cloudTimeout, refresh)
	}
	// Actions work too.
	e.mustVirsh(t, "destroy", "node-2")
}

// A cloud that accepts TCP connections but never answers must not stop
// serve: it starts within the deadline, its warning names the URL it asked
// and the deadline, and what needs the cloud answers the libvirt error.
func TestServeStartsAndReportsACloudThatDoesNotAnswer(t *testing.T) {
	addr := silentListener(t)
	dir := t.TempDir()
	cloudsYAML := filepath.Join(dir, "clouds.yaml")
	authURL := "http://" + addr + "/v3"
	yaml := fmt.Sprintf(`clouds:
  silent:
    auth:
      auth_url: %s
      username: admin
      password: secret
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
`, authURL)
	if err := os.WriteFile(cloudsYAML, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	bin := testtool.BuildQuintupleo(t)

	const cloudTimeout = time.Second
	start := time.Now()
	p, addrs := launchServeProcess(t, bin, "serve", "--os-cloud", "silent", "--clouds-yaml", cloudsYAML,
		"--listen-tcp", "127.0.0.1:0", "--cloud-timeout", cloudTimeout.String())
	select {
	case a := <-addrs:
		p.libvirtAddr = a[1]
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not open its libvirt listener within 30s:\n%s", p.logText())
	}
	waitFor(t, promptly, "ready", func() bool { return strings.Contains(p.logText(), "msg=ready") })
	took := time.Since(start)
	t.Logf("serve ready after %s:\n%s", took.Round(time.Millisecond), p.logText())
	// The deadline plus process start-up and reading the clouds.yaml.
	if bound := cloudTimeout + 3*time.Second; took > bound {
		t.Errorf("serve took %s to start, want within %s", took.Round(time.Millisecond), bound)
	}
	log := p.logText()
	_, warn, _ := strings.Cut(log, "cloud unavailable at start")
	warn, _, _ = strings.Cut(warn, "\n")
	if !strings.Contains(log, "level=WARN msg=\"cloud unavailable at start") {
		t.Errorf("no start-up warning:\n%s", log)
	}
	for _, want := range []string{authURL + "/auth/tokens", "within " + cloudTimeout.String()} {
		if !strings.Contains(warn, want) {
			t.Errorf("the start-up warning does not say %q:\n%s", want, log)
		}
	}
	if _, errOut, code := virshAt(t, p.libvirtAddr, "list", "--all"); code != 1 || !strings.Contains(errOut, cloudUnavailable+authURL) {
		t.Errorf("virsh list --all with a silent cloud: exit %d, want 1 with %q:\n%s", code, cloudUnavailable+authURL, errOut)
	}
}

// silentListener accepts TCP connections and never answers (a cloud behind a
// dead proxy, a half-up API); t.Cleanup closes it and every connection.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// waitFor polls cond every few milliseconds until it holds, failing the test
// after bound.
func waitFor(t *testing.T, bound time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", bound, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
