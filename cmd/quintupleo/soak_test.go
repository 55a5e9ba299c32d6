package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/digitalocean/go-libvirt"

	"quintupleo/cloudsim"
	"quintupleo/internal/testtool"
	"quintupleo/nodes"
)

// The soak (docs/reliability.md, "Soak"): about 200 clients — go-libvirt,
// the real virsh and OpenSSH — against one serve over cloudsim for a minute
// while a fault mix comes and goes, then checks that nothing was lost:
// every client-visible outcome agrees with cloudsim's request log and final
// state, no action was done twice, nothing half-made is left, and serve
// still serves. Run it with QUINTUPLEO_SOAK=1 (QUINTUPLEO_SOAK_DURATION
// changes the minute); it is not in the fast tier.

const (
	soakPowerOwners  = 40 // go-libvirt clients, each starting and destroying its own node
	soakDefiners     = 30 // go-libvirt clients, each defining and undefining its own domain
	soakReaders      = 90 // go-libvirt clients listing and reading domains
	soakVirsh        = 30 // real virsh processes, one after the other per client
	soakSSH          = 10 // real ssh running virsh in the confined shell
	soakCloudTimeout = 3 * time.Second
)

// soakFaults is the mix, one set at a time, each for a few seconds; "" is
// a calm spell and "expire" expires every token.
var soakFaults = []string{
	"",
	"endpoint=GET /compute/v2.1/servers/detail,error-rate=0.5,status=503",
	"endpoint=os-start,error-rate=0.3,status=500",
	"endpoint=os-stop,error-rate=0.3,status=503,proxy",
	"endpoint=os-stop,error-rate=0.3,status=504,after",
	"endpoint=POST /network/v2.0/ports,error-rate=0.3,status=503",
	"endpoint=POST /compute/v2.1/servers,error-rate=0.2,status=500",
	"latency=100ms",
	"endpoint=os-start,hang,count=3",
	"rate-limit=0.2,retry-after=1s",
	"expire",
	"endpoint=DELETE /compute/v2.1/servers/{id},error-rate=0.3,status=504,after",
	"",
}

// soakCall is one client action and what the client saw.
type soakCall struct {
	target, op string // node or domain name; start, destroy, define, undefine
	t0, t1     time.Time
	err        error
}

// soakLog collects what the clients did.
type soakLog struct {
	mu    sync.Mutex
	calls []soakCall
	// created: every server the cloud made, by name, with when it first
	// appeared (cloudsim's OnChange).
	created map[string]map[string]time.Time
	reads   atomic.Int64
	readErr atomic.Int64
	broken  []string // errors that are not libvirt's (a connection lost)
}

func (s *soakLog) add(c soakCall) {
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.mu.Unlock()
}

func (s *soakLog) brokenf(format string, args ...any) {
	s.mu.Lock()
	s.broken = append(s.broken, fmt.Sprintf(format, args...))
	s.mu.Unlock()
}

func (s *soakLog) onChange(v cloudsim.ServerInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.created[v.Name] == nil {
		s.created[v.Name] = map[string]time.Time{}
	}
	if _, ok := s.created[v.Name][v.ID]; !ok {
		s.created[v.Name][v.ID] = time.Now()
	}
}

// isLibvirtErr: the server answered with an error (not a lost connection).
func isLibvirtErr(err error) bool {
	var le libvirt.Error
	return errors.As(err, &le)
}

func TestSoak(t *testing.T) {
	if os.Getenv("QUINTUPLEO_SOAK") == "" {
		t.Skip("the soak runs with QUINTUPLEO_SOAK=1 (docs/reliability.md)")
	}
	duration := time.Minute
	if v := os.Getenv("QUINTUPLEO_SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatal(err)
		}
		duration = d
	}
	virsh := testtool.Require(t, "virsh")
	testtool.Require(t, "ssh")
	log := &soakLog{created: map[string]map[string]time.Time{}}
	sim, yaml := simCloudsYAML(t, cloudsim.Options{Nodes: soakPowerOwners, TransitionDelay: 20 * time.Millisecond,
		RequestLogSize: 1 << 21, OnChange: log.onChange})
	var client sshClient
	var keys serveConfig
	withSSH(t, &client)(nil, &keys)
	metricsAddr := testtool.FreeAddr(t)
	p := startServeProcess(t, testtool.BuildQuintupleo(t), "serve", "--os-cloud", "sim", "--clouds-yaml", yaml,
		"--listen-tcp", "127.0.0.1:0", "--listen-ssh", "127.0.0.1:0", "--listen-metrics", metricsAddr,
		"--ssh-authorized-keys", keys.sshAuthKeys, "--ssh-host-key", keys.sshHostKey,
		"--define-network", "provision", "--refresh-interval", "500ms", "--poll-interval", "20ms",
		"--action-timeout", "20s", "--cloud-timeout", soakCloudTimeout.String())
	uri := "qemu+tcp://" + p.libvirtAddr + "/system"
	fdsBefore, rssBefore := procUsage(t, p)
	goBefore := goroutines(t, metricsAddr)

	ctx, stop := context.WithTimeout(t.Context(), duration)
	defer stop()
	var wg sync.WaitGroup
	run := func(n int, f func(i int)) {
		for i := range n {
			wg.Add(1)
			go func() { defer wg.Done(); f(i) }()
		}
	}
	run(soakPowerOwners, func(i int) { soakPowerOwner(ctx, log, p.libvirtAddr, fmt.Sprintf("node-%d", i)) })
	run(soakDefiners, func(i int) { soakDefiner(ctx, log, p.libvirtAddr, i) })
	run(soakReaders, func(int) { soakReader(ctx, log, p.libvirtAddr) })
	run(soakVirsh, func(int) {
		soakProcessLoop(ctx, log, func(ctx context.Context) *exec.Cmd {
			if rand.IntN(2) == 0 {
				return exec.CommandContext(ctx, virsh, "-c", uri, "list", "--all")
			}
			return exec.CommandContext(ctx, virsh, "-c", uri, "domstate", fmt.Sprintf("node-%d", rand.IntN(soakPowerOwners)))
		})
	})
	run(soakSSH, func(int) {
		soakProcessLoop(ctx, log, func(ctx context.Context) *exec.Cmd {
			return client.command(ctx, t, p.sshAddr, "virsh list --all")
		})
	})
	faultsSeen := soakCycleFaults(ctx, t, sim, duration)
	wg.Wait()
	sim.ClearFaults()
	t.Logf("soak: %s, %d clients, %d actions, %d reads (%d answered with a libvirt error), fault sets %d",
		duration, soakPowerOwners+soakDefiners+soakReaders+soakVirsh+soakSSH, len(log.calls), log.reads.Load(), log.readErr.Load(), faultsSeen)

	soakCheckBroken(t, log)
	settled := soakSettle(t, sim, p.libvirtAddr)
	soakCheckPower(t, log, sim)
	soakCheckDefines(t, log, sim)
	soakCheckDebris(t, sim)
	if strings.Contains(p.logText(), "panic") {
		t.Error("serve logged a panic")
	}
	if err := p.cmd.Process.Signal(syscall.Signal(0)); err != nil { // the null signal: it lives
		t.Fatalf("serve is gone: %v", err)
	}
	fdsAfter, rssAfter := procUsage(t, p)
	t.Logf("soak: view agreed with the cloud %s after the clients left; fds %d → %d, RSS %d → %d MiB",
		settled.Round(time.Millisecond), fdsBefore, fdsAfter, rssBefore>>20, rssAfter>>20)
	// The cloud's HTTP connection pool keeps up to 16 idle connections
	// (nodes/client.go); beyond that, descriptors left mean a leak.
	if fdsAfter > fdsBefore+16+4 {
		t.Errorf("serve holds %d descriptors after the clients left, %d before", fdsAfter, fdsBefore)
	}
	// Goroutines: each idle pooled cloud connection keeps two (its reader
	// and writer loops); beyond that, goroutines left mean a leak. Those of
	// connections closing just now are given a few seconds.
	var goAfter int
	waitFor(t, 10*time.Second, "serve's goroutines to settle", func() bool {
		goAfter = goroutines(t, metricsAddr)
		return goAfter <= goBefore+2*16+8
	})
	t.Logf("soak: goroutines %d → %d", goBefore, goAfter)
}

// goroutines is serve's go_goroutines, read from its metrics endpoint.
func goroutines(t *testing.T, addr string) int {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "go_goroutines "); ok {
			n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("go_goroutines %q: %v", v, err)
			}
			return int(n)
		}
	}
	t.Fatalf("metrics carry no go_goroutines:\n%s", body)
	return 0
}

// soakPowerOwner starts node when it is shut off and destroys it when it
// runs, until ctx ends; it alone acts on node.
func soakPowerOwner(ctx context.Context, log *soakLog, addr, node string) {
	l, err := dialGoLibvirt(addr)
	if err != nil {
		log.brokenf("power owner %s: connect: %v", node, err)
		return
	}
	defer l.Disconnect()
	for ctx.Err() == nil {
		d, err := l.DomainLookupByName(node)
		if err != nil {
			soakReadFailed(log, "lookup "+node, err)
			continue
		}
		state, _, err := l.DomainGetState(d, 0)
		if err != nil {
			soakReadFailed(log, "state "+node, err)
			continue
		}
		c := soakCall{target: node, t0: time.Now()}
		switch libvirt.DomainState(state) {
		case libvirt.DomainRunning:
			c.op, c.err = "destroy", l.DomainDestroy(d)
		case libvirt.DomainShutoff:
			c.op, c.err = "start", l.DomainCreate(d)
		default:
			time.Sleep(50 * time.Millisecond)
			continue
		}
		c.t1 = time.Now()
		if c.err != nil && !isLibvirtErr(c.err) {
			log.brokenf("%s %s: %v", c.op, node, c.err)
			return
		}
		log.add(c)
	}
}

// soakDefiner defines and undefines its own domain until ctx ends.
func soakDefiner(ctx context.Context, log *soakLog, addr string, i int) {
	name := fmt.Sprintf("soak-%d", i)
	xml := tripleoDomainXML(name, "", fmt.Sprintf("00:7d:ad:00:%02x:01", i))
	l, err := dialGoLibvirt(addr)
	if err != nil {
		log.brokenf("definer %s: connect: %v", name, err)
		return
	}
	defer l.Disconnect()
	for ctx.Err() == nil {
		c := soakCall{target: name, t0: time.Now()}
		d, lerr := l.DomainLookupByName(name)
		switch {
		case lerr == nil:
			c.op, c.t0 = "undefine", time.Now()
			c.err = l.DomainUndefineFlags(d, 0)
		case isLibvirtErr(lerr) && strings.Contains(lerr.Error(), "Domain not found"):
			c.op, c.t0 = "define", time.Now()
			_, c.err = l.DomainDefineXMLFlags(xml, 0)
		default:
			soakReadFailed(log, "lookup "+name, lerr)
			continue
		}
		c.t1 = time.Now()
		if c.err != nil && !isLibvirtErr(c.err) {
			log.brokenf("%s %s: %v", c.op, name, c.err)
			return
		}
		log.add(c)
	}
}

// soakReader lists and reads domains until ctx ends.
func soakReader(ctx context.Context, log *soakLog, addr string) {
	l, err := dialGoLibvirt(addr)
	if err != nil {
		log.brokenf("reader: connect: %v", err)
		return
	}
	defer l.Disconnect()
	for ctx.Err() == nil {
		var err error
		switch rand.IntN(3) {
		case 0:
			_, _, err = l.ConnectListAllDomains(1, libvirt.ConnectListDomainsActive|libvirt.ConnectListDomainsInactive)
		case 1:
			var d libvirt.Domain
			if d, err = l.DomainLookupByName(fmt.Sprintf("node-%d", rand.IntN(soakPowerOwners))); err == nil {
				_, _, err = l.DomainGetState(d, 0)
			}
		default:
			var d libvirt.Domain
			if d, err = l.DomainLookupByName(fmt.Sprintf("node-%d", rand.IntN(soakPowerOwners))); err == nil {
				_, err = l.DomainGetXMLDesc(d, 0)
			}
		}
		log.reads.Add(1)
		if err != nil {
			if !isLibvirtErr(err) {
				log.brokenf("reader: %v", err)
				return
			}
			log.readErr.Add(1)
		}
		time.Sleep(time.Duration(rand.IntN(50)) * time.Millisecond)
	}
}

// soakReadFailed counts a failed read, and a lost connection as broken.
func soakReadFailed(log *soakLog, what string, err error) {
	log.reads.Add(1)
	log.readErr.Add(1)
	if !isLibvirtErr(err) {
		log.brokenf("%s: %v", what, err)
	}
	time.Sleep(50 * time.Millisecond)
}

// soakProcessLoop runs the command cmd makes, one after the other, until
// ctx ends. A failure must be libvirt's error, printed by virsh.
func soakProcessLoop(ctx context.Context, log *soakLog, cmd func(context.Context) *exec.Cmd) {
	for ctx.Err() == nil {
		c := cmd(ctx)
		out, err := c.CombinedOutput()
		log.reads.Add(1)
		if err != nil && ctx.Err() == nil {
			log.readErr.Add(1)
			if s := string(out); !strings.Contains(s, "error: ") || strings.Contains(s, "failed to connect") ||
				strings.Contains(s, "I/O error") || strings.Contains(s, "Connection") {
				log.brokenf("%s: %v: %s", strings.Join(c.Args, " "), err, out)
			}
		}
		time.Sleep(time.Duration(50+rand.IntN(100)) * time.Millisecond)
	}
}

// soakCycleFaults switches the fault sets until ctx ends, each for an equal
// share of duration, and returns how many sets it applied.
func soakCycleFaults(ctx context.Context, t *testing.T, sim *cloudsim.Sim, duration time.Duration) int {
	each := duration / time.Duration(len(soakFaults))
	n := 0
	for _, spec := range soakFaults {
		sim.ClearFaults()
		switch spec {
		case "":
		case "expire":
			sim.ExpireTokens()
		default:
			f, err := cloudsim.ParseFault(spec)
			if err != nil {
				t.Fatalf("%s: %v", spec, err)
			}
			if _, err := sim.AddFault(f); err != nil {
				t.Fatal(err)
			}
		}
		n++
		select {
		case <-ctx.Done():
			return n
		case <-time.After(each):
		}
	}
	<-ctx.Done()
	return n
}

func soakCheckBroken(t *testing.T, log *soakLog) {
	t.Helper()
	for i, b := range log.broken {
		if i == 10 {
			t.Errorf("… and %d more", len(log.broken)-10)
			break
		}
		t.Errorf("not a libvirt answer: %s", b)
	}
}

// soakSettle waits until no server has a task in flight, then until
// serve's view (names and running or not) is the cloud's; it returns how
// long the second wait took.
func soakSettle(t *testing.T, sim *cloudsim.Sim, addr string) time.Duration {
	t.Helper()
	waitFor(t, time.Minute, "the cloud to settle", func() bool {
		for _, s := range sim.Servers() {
			if s.TaskState != "" || s.Status == "BUILD" {
				return false
			}
		}
		return true
	})
	l, err := dialGoLibvirt(addr)
	if err != nil {
		t.Fatalf("serve no longer serves: %v", err)
	}
	defer l.Disconnect()
	start := time.Now()
	var view, cloud map[string]bool
	deadline := start.Add(30 * time.Second)
	for {
		view, cloud = map[string]bool{}, map[string]bool{}
		doms, _, err := l.ConnectListAllDomains(1, libvirt.ConnectListDomainsActive|libvirt.ConnectListDomainsInactive)
		if err != nil {
			t.Fatalf("list after the soak: %v", err)
		}
		for _, d := range doms {
			st, _, err := l.DomainGetState(d, 0)
			if err != nil {
				t.Fatalf("state of %s after the soak: %v", d.Name, err)
			}
			view[d.Name] = libvirt.DomainState(st) == libvirt.DomainRunning
		}
		for _, s := range sim.Servers() {
			cloud[s.Name] = s.Status == "ACTIVE"
		}
		if fmt.Sprint(view) == fmt.Sprint(cloud) {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve's view never became the cloud's:\nview  %v\ncloud %v", view, cloud)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// soakCheckPower holds every start and destroy to the request log: at most
// one os-start or os-stop accepted by Nova per call (never two), the one a
// success asked for, none of the opposite; a failure after which Nova did
// act is the documented ambiguous case (a fault after Nova acted, or a wait
// that failed), counted. Each node's final state is the cloud's (checked by
// soakSettle) and its last successful action's, unless a later call failed
// ambiguously.
func soakCheckPower(t *testing.T, log *soakLog, sim *cloudsim.Sim) {
	t.Helper()
	ids := map[string]string{}
	for _, s := range sim.Servers() {
		ids[s.Name] = s.ID
	}
	handled := map[string][]cloudsim.RequestRecord{} // server ID → its handled actions
	for _, r := range sim.Requests() {
		// Nova acted: it handled the request and accepted it (a 401 of an
		// expired token, a 409 are handled but refused), or a fault
		// replaced its answer after it acted.
		acted := r.Handled && (r.Status < 300 || len(r.Faults) > 0)
		if acted && (r.Action == "os-start" || r.Action == "os-stop") {
			parts := strings.Split(r.Path, "/")
			id := parts[len(parts)-2]
			handled[id] = append(handled[id], r)
		}
	}
	want := map[string]string{"start": "os-start", "destroy": "os-stop"}
	var ok, failed, ambiguous int
	for _, c := range log.calls {
		if c.op != "start" && c.op != "destroy" {
			continue
		}
		var same, other int
		for _, r := range handled[ids[c.target]] {
			if r.Time.Before(c.t0) || r.Time.After(c.t1) {
				continue
			}
			if r.Action == want[c.op] {
				same++
			} else {
				other++
			}
		}
		switch {
		case same > 1 || other > 0:
			t.Errorf("%s %s (%v) from %s to %s: Nova handled %d of the action and %d of the opposite; its requests then:\n%s",
				c.op, c.target, c.err, c.t0.Format("15:04:05.000"), c.t1.Format("15:04:05.000"), same, other, soakRequestsOf(sim, ids[c.target], c))
		case c.err == nil && same != 1:
			t.Errorf("%s %s succeeded, but Nova handled it %d times", c.op, c.target, same)
		case c.err == nil:
			ok++
		case same == 1:
			ambiguous++
		default:
			failed++
		}
	}
	t.Logf("soak: power actions: %d succeeded (each handled once), %d failed with nothing done, %d failed after Nova acted",
		ok, failed, ambiguous)
}

// soakRequestsOf lists the requests about server id during c.
func soakRequestsOf(sim *cloudsim.Sim, id string, c soakCall) string {
	var b strings.Builder
	for _, r := range sim.Requests() {
		if strings.Contains(r.Path, id) && !r.Time.Before(c.t0.Add(-time.Second)) && !r.Time.After(c.t1) {
			fmt.Fprintf(&b, "  %s %s %s %s %d handled=%v faults=%v\n", r.Time.Format("15:04:05.000"), r.Method, r.Endpoint, r.Query, r.Status, r.Handled, r.Faults)
		}
	}
	return b.String()
}

// soakCheckDefines: a define makes at most one server; a successful one
// exactly one; a domain's final presence is its last successful call's, and
// a server that is left was made by a successful define.
func soakCheckDefines(t *testing.T, log *soakLog, sim *cloudsim.Sim) {
	t.Helper()
	live := map[string][]string{}
	for _, s := range sim.Servers() {
		live[s.Name] = append(live[s.Name], s.ID)
	}
	last := map[string]soakCall{}
	madeBy := map[string]bool{} // server IDs made during a successful define
	var ok, failed int
	undefines := map[bool]int{}
	for _, c := range log.calls {
		if c.op != "define" && c.op != "undefine" {
			continue
		}
		last[c.target] = c
		if c.op != "define" {
			undefines[c.err == nil]++
			continue
		}
		var made []string
		for id, at := range log.created[c.target] {
			if !at.Before(c.t0) && !at.After(c.t1) {
				made = append(made, id)
			}
		}
		switch {
		case len(made) > 1:
			t.Errorf("define %s made %d servers: %v", c.target, len(made), made)
		case c.err == nil && len(made) != 1:
			t.Errorf("define %s succeeded and made %d servers", c.target, len(made))
		case c.err == nil:
			madeBy[made[0]] = true
			ok++
		default:
			failed++
		}
	}
	for name, c := range last {
		ls := live[name]
		switch {
		case len(ls) > 1:
			t.Errorf("%s: %d servers left", name, len(ls))
		case len(ls) == 1 && !madeBy[ls[0]]:
			t.Errorf("%s: server %s left, made by no successful define", name, ls[0])
		case c.err == nil && c.op == "define" && len(ls) != 1:
			t.Errorf("%s: defined last, but %d servers", name, len(ls))
		case c.err == nil && c.op == "undefine" && len(ls) != 0:
			t.Errorf("%s: undefined last, but its server is there", name)
		}
	}
	t.Logf("soak: defines: %d succeeded (one server each), %d failed (none left); undefines: %d succeeded, %d failed; %d domains defined at the end",
		ok, failed, undefines[true], undefines[false], countLive(live, "soak-"))
}

func countLive(live map[string][]string, prefix string) int {
	n := 0
	for name, ids := range live {
		if strings.HasPrefix(name, prefix) {
			n += len(ids)
		}
	}
	return n
}

// soakCheckDebris: no server is marked as defining, and every port of ours
// is bound to a live server of its name.
func soakCheckDebris(t *testing.T, sim *cloudsim.Sim) {
	t.Helper()
	byID := map[string]string{}
	for _, s := range sim.Servers() {
		byID[s.ID] = s.Name
		if _, marked := s.Metadata[nodes.MetaDefining]; marked {
			t.Errorf("server %s %s still marked as being defined", s.ID, s.Name)
		}
	}
	for _, pt := range sim.Ports() {
		if !strings.HasPrefix(pt.Name, nodes.PortNamePrefix) {
			continue
		}
		if name, ok := byID[pt.DeviceID]; !ok || !strings.HasPrefix(pt.Name, nodes.PortNamePrefix+name+":") {
			t.Errorf("debris: port %s %s bound to %q", pt.ID, pt.Name, pt.DeviceID)
		}
	}
}

// procUsage is p's open descriptors and resident memory (bytes).
func procUsage(t *testing.T, p *serveProcess) (int, int64) {
	t.Helper()
	dir := "/proc/" + strconv.Itoa(p.cmd.Process.Pid)
	fds, err := filepath.Glob(dir + "/fd/*")
	if err != nil {
		t.Fatal(err)
	}
	status, err := os.ReadFile(dir + "/status")
	if err != nil {
		t.Fatal(err)
	}
	var rss int64
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			rss = kb << 10
		}
	}
	return len(fds), rss
}
