package main

// End-to-end tests of `quintupleo serve`: the real stack (cloudsim over real
// HTTP, or a real cloud → nodes → driver/{host,domain} → rpc on a TCP listener), driven
// by the real virsh from Debian's libvirt-clients and by go-libvirt's client.

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"

	"quintupleo/cloudsim"
	"quintupleo/internal/stacktest"
	"quintupleo/internal/testtool"
	"quintupleo/nodes"
)

// The cloud of the end-to-end tests comes from the environment:
//
//	QUINTUPLEO_CLOUD        unset or "sim": each test gets its own cloudsim with 5 nodes.
//	                        Otherwise the clouds.yaml cloud of that name (found through
//	                        OS_CLIENT_CONFIG_FILE or the standard search path), served
//	                        exactly as `quintupleo serve --os-cloud NAME` would.
//	QUINTUPLEO_NODES_CMD    with a real cloud: the command that (re)creates the node
//	                        fixture idempotently; each test runs `CMD 5` first (realcloud's
//	                        nodes.sh; see docs/realcloud.md). OS_CLOUD is set to NAME for it.
//	QUINTUPLEO_ACTION_TIMEOUT  with a real cloud: serve's --action-timeout and the bound of
//	                        every client call (default 5m).
//
// Only the tests in portableE2E run against a real cloud; the others need the
// simulator (fault injection, transition timing, stopping the cloud, reading
// its request log) and fail at once if started against a real cloud.
const (
	envCloud         = "QUINTUPLEO_CLOUD"
	envNodesCmd      = "QUINTUPLEO_NODES_CMD"
	envActionTimeout = "QUINTUPLEO_ACTION_TIMEOUT"
	fixtureNodes     = 5
)

// portableE2E is the real-cloud tier's test selection: scripts/realcloud-tier.sh
// runs exactly these (TestPortableE2ESelection keeps the two in step).
var portableE2E = []string{
	"TestAnsibleVirtNet",
	"TestAnsibleVirtPauseAndFreemem",
	"TestAnsibleVirtPool",
	"TestBootDeviceMetadataStrategy",
	"TestBootDeviceRebuildStrategy",
	"TestBootDeviceRescueStrategy",
	"TestDefineRefusesWhatTheCloudCannotChange",
	"TestDevtestSectionC",
	"TestGoLibvirtClient",
	"TestIronicDrivesRedfish",
	"TestLibvirtPythonGuestAndHostAPIs",
	"TestLibvirtPythonNetworks",
	"TestLibvirtPythonStorageLookups",
	"TestMetadataChangeEventsFromAnyReplica",
	"TestNetworkDefineWithSubnet",
	"TestServeSSHEndpoint",
	"TestUnixSocketsReadWriteAndReadOnly",
	"TestVcpuinfoFromNovaDiagnostics",
	"TestVirshDefineAndUndefineNewDomain",
	"TestVirshDominfoAndXML",
	"TestVirshErrors",
	"TestVirshEventsFromUsAndFromTheCloud",
	"TestVirshHostCommands",
	"TestVirshListShowsTheCloudsNodes",
	"TestVirshPowerCycle",
	"TestVirshReadOnlyRefusesChanges",
	"TestVirtInstallImportUsesDomainCapabilities",
}

// portableRunPattern is the -run pattern that selects portableE2E.
func portableRunPattern() string { return "^(" + strings.Join(portableE2E, "|") + ")$" }

// realCloud is the clouds.yaml cloud under test, "" for cloudsim.
func realCloud() string {
	if n := os.Getenv(envCloud); n != "sim" {
		return n
	}
	return ""
}

// env is one running quintupleo over its cloud: its own cloudsim, or the
// real cloud named by QUINTUPLEO_CLOUD (then sim is nil).
type env struct {
	sim       *cloudsim.Sim
	st        *serveStack
	uri       string            // qemu+tcp://127.0.0.1:PORT/system
	clientMax time.Duration     // bound of one client command; 0 = 60s
	cloud     nodes.CloudConfig // the cloud behind it, for changes made "elsewhere in the cloud"
	nova      *novaRecorder     // what quintupleo sent to Nova
}

type envOption func(*cloudsim.Options, *serveConfig)

func startEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	simOpts := cloudsim.Options{Nodes: fixtureNodes, TransitionDelay: 30 * time.Millisecond}
	cfg := serveConfig{
		listenTCP:     "127.0.0.1:0",
		refresh:       100 * time.Millisecond,
		actionTimeout: 20 * time.Second,
		pollInterval:  10 * time.Millisecond,
		defineNetwork: "provision",
	}
	clientMax := 60 * time.Second
	var sim *cloudsim.Sim
	if name := realCloud(); name != "" {
		root, _, _ := strings.Cut(t.Name(), "/")
		if !slices.Contains(portableE2E, root) {
			t.Fatalf("%s needs the simulator and is not in portableE2E; run the real tier with -run '%s'", root, portableRunPattern())
		}
		// Options may set quintupleo's configuration, never the simulator's.
		probe := simOpts
		for _, o := range opts {
			o(&probe, &cfg)
		}
		if probe.Nodes != simOpts.Nodes || probe.TransitionDelay != simOpts.TransitionDelay ||
			probe.ShutdownDelay != simOpts.ShutdownDelay || probe.TokenTTL != simOpts.TokenTTL || len(probe.Faults) != 0 {
			t.Fatalf("%s changes the simulator's options, which a real cloud cannot honour", root)
		}
		timeout := 5 * time.Minute
		if v := os.Getenv(envActionTimeout); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				t.Fatalf("%s: %v", envActionTimeout, err)
			}
			timeout = d
		}
		// Real Nova is slower than the sim (real RPC, scheduler): the same
		// waits with wider bounds, and a refresh as cheap as the CLI's.
		cfg.refresh, cfg.actionTimeout, cfg.pollInterval = time.Second, timeout, 50*time.Millisecond
		clientMax = timeout + time.Minute
		cfg.osCloud, cfg.cloudsYAML = name, os.Getenv("OS_CLIENT_CONFIG_FILE")
		resetFixture(t, name, clientMax)
	} else {
		for _, o := range opts {
			o(&simOpts, &cfg)
		}
		sim = stacktest.StartSim(t, simOpts)
		cfg.osCloud, cfg.cloudsYAML = "sim", stacktest.CloudsYAML(t, sim)
	}

	e := runStack(t, cfg)
	e.sim, e.clientMax = sim, clientMax
	return e
}

// runStack builds and runs quintupleo as serve does, with a recorder under
// its HTTP client; t.Cleanup stops it.
func runStack(t *testing.T, cfg serveConfig) *env {
	t.Helper()
	rec := &novaRecorder{next: http.DefaultTransport}
	if cfg.httpClient != nil {
		rec.next = cfg.httpClient.Transport // a test's own recorder under ours
	}
	cfg.httpClient = &http.Client{Transport: rec}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if cfg.obs.output != nil {
		log = cfg.obs.logger(cfg.obs.output)
	} else if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	st, err := newStack(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("stack run: %v", err)
		}
	})
	return &env{st: st, uri: "qemu+tcp://" + st.tcp.Addr().String() + "/system",
		cloud: nodes.CloudConfig{Cloud: cfg.osCloud, CloudsYAML: cfg.cloudsYAML}, nova: rec}
}

// novaRecorder sits under quintupleo's HTTP client and records the server
// actions and writes it sends, whichever cloud is behind it: tests assert
// what quintupleo asked of Nova on cloudsim and on a real cloud alike.
type novaRecorder struct {
	next http.RoundTripper

	mu sync.Mutex
	// mu guards:
	actions []string // server action names (os-start, rescue, …), in order
	writes  []string // "METHOD path" of every non-GET request
}

func (r *novaRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet && !strings.HasSuffix(req.URL.Path, "/auth/tokens") {
		var action string
		if strings.HasSuffix(req.URL.Path, "/action") && req.GetBody != nil {
			if body, err := req.GetBody(); err == nil {
				var m map[string]json.RawMessage
				if json.NewDecoder(body).Decode(&m) == nil {
					for k := range m {
						action = k
					}
				}
				body.Close()
			}
		}
		r.mu.Lock()
		r.writes = append(r.writes, req.Method+" "+req.URL.Path)
		if action != "" {
			r.actions = append(r.actions, action)
		}
		r.mu.Unlock()
	}
	return r.next.RoundTrip(req)
}

// take returns the actions and writes recorded since the last take.
func (r *novaRecorder) take() (actions, writes []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	actions, writes = r.actions, r.writes
	r.actions, r.writes = nil, nil
	return actions, writes
}

// server reads a server straight from the cloud (not through quintupleo).
func (e *env) server(t *testing.T, name string) *servers.Server {
	t.Helper()
	c := e.cloudClient(t)
	id := e.serverID(t, name)
	s, err := servers.Get(t.Context(), c, id).Extract()
	if err != nil {
		t.Fatalf("get server %s: %v", name, err)
	}
	return s
}

// resetFixture runs QUINTUPLEO_NODES_CMD 5 against the real cloud: node-0…4
// SHUTOFF with empty metadata, nothing else named node-*, whatever the
// previous test left.
func resetFixture(t *testing.T, cloud string, bound time.Duration) {
	t.Helper()
	cmdline := os.Getenv(envNodesCmd)
	if cmdline == "" {
		t.Fatalf("%s=%s needs %s (e.g. ../shared/tools/realcloud/nodes.sh) to reset the node fixture", envCloud, cloud, envNodesCmd)
	}
	ctx, cancel := context.WithTimeout(t.Context(), bound)
	defer cancel()
	cmd := exec.CommandContext(ctx, cmdline, strconv.Itoa(fixtureNodes))
	cmd.Env = append(os.Environ(), "OS_CLOUD="+cloud)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("reset the node fixture (%s %d): %v\n%s", cmdline, fixtureNodes, err, out)
	}
}

// virsh runs the real virsh against the env and returns stdout, stderr and
// the exit status.
func (e *env) virsh(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	bin := testtool.Require(t, "virsh")
	bound := e.clientMax
	if bound == 0 {
		bound = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(t.Context(), bound)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"-c", e.uri}, args...)...)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "HOME="+t.TempDir())
	return testtool.Run(t, cmd)
}

// mustVirsh runs virsh and fails the test unless it exits 0.
func (e *env) mustVirsh(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := e.virsh(t, args...)
	if code != 0 {
		t.Fatalf("virsh %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// listTable parses `virsh list` output into name → [id, state].
func listTable(t *testing.T, out string) map[string][2]string {
	t.Helper()
	lines := strings.Split(out, "\n")
	// virsh widens the Id column to the longest id (" Id    Name" once an
	// id has three digits, as real Nova's instance numbers soon do).
	if len(lines) < 2 || !slices.Equal(strings.Fields(lines[0]), []string{"Id", "Name", "State"}) || strings.Trim(lines[1], "-") != "" {
		t.Fatalf("not a virsh list table:\n%s", out)
	}
	rows := map[string][2]string{}
	for _, l := range lines[2:] {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		rows[f[1]] = [2]string{f[0], strings.Join(f[2:], " ")}
	}
	return rows
}

func names(out string) []string {
	var ns []string
	for _, l := range strings.Split(out, "\n") {
		if l != "" {
			ns = append(ns, l)
		}
	}
	return ns
}

// TestPortableE2ESelection keeps the real tier's -run pattern and
// portableE2E in step, and every listed test in existence.
func TestPortableE2ESelection(t *testing.T) {
	script, err := os.ReadFile(filepath.Join("..", "..", "scripts", "realcloud-tier.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(script), "'"+portableRunPattern()+"'") {
		t.Errorf("scripts/realcloud-tier.sh does not run -run '%s'", portableRunPattern())
	}
	src, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, f := range src {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
	}
	for _, name := range portableE2E {
		if !strings.Contains(all.String(), "func "+name+"(t *testing.T)") {
			t.Errorf("portableE2E lists %s, which does not exist", name)
		}
	}
}
