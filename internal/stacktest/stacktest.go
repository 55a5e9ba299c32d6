// Package stacktest builds, for tests, the whole quintupleo stack with the
// builders cmd uses (package stack) — cloudsim → nodes → driver/{host,domain} → rpc —
// with a TCP listener for the real virsh and a Dial for in-process clients
// (the SSH side's virsh and the qemu+ssh bridge). Test code only: nothing
// outside _test.go files imports it.
package stacktest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"quintupleo/cloudsim"
	"quintupleo/driver/network"
	"quintupleo/internal/stack"
	"quintupleo/nodes"
	"quintupleo/rpc"
)

// Stack is cloudsim → nodes → driver/{host,domain} → rpc, built as cmd builds it, with
// a TCP listener for the real virsh (on Port) and a Dial for in-process
// clients.
type Stack struct {
	Sim  *cloudsim.Sim
	Srv  *rpc.Server
	Port string
	lv   *stack.Libvirt
}

// New starts a stack over n nodes; t.Cleanup stops it as serve stops on a
// signal. The cloud is a fresh cloudsim, or — when QUINTUPLEO_CLOUD names a
// real cloud (the real-cloud tier, docs/realcloud.md) — that cloud, its node
// fixture reset to n nodes with QUINTUPLEO_NODES_CMD first (Sim is then nil).
func New(t testing.TB, n int) *Stack {
	t.Helper()
	cloudCfg, sim := cloudFor(t, n)
	invCfg := nodes.InventoryConfig{RefreshInterval: 100 * time.Millisecond}
	actCfg := nodes.ExecutorConfig{PollInterval: 5 * time.Millisecond, ActionTimeout: 20 * time.Second}
	if sim == nil {
		// Real Nova is slower: the same waits with wider bounds.
		invCfg = nodes.InventoryConfig{RefreshInterval: time.Second}
		actCfg = nodes.ExecutorConfig{PollInterval: 50 * time.Millisecond, ActionTimeout: 5 * time.Minute}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	invCfg.Logger, actCfg.Logger = log, log
	b := stack.New(log)
	inv, err := stack.AddInventory(t.Context(), b, cloudCfg, invCfg)
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	drivers, _ := stack.AddDrivers(b, inv, nodes.NewExecutor(inv, actCfg), stack.DriverConfig{Hostname: "virthost", Logger: log,
		Provision: &nodes.ProvisionConfig{DefaultNetwork: "provision", Timeout: actCfg.ActionTimeout, PollInterval: actCfg.PollInterval},
		Networks:  &network.Config{Logger: log, TTL: invCfg.RefreshInterval, PollInterval: invCfg.RefreshInterval}})
	lv := stack.AddLibvirt(b, drivers, stack.LibvirtConfig{TCP: "127.0.0.1:0", Options: []rpc.Option{rpc.WithLogger(log)}})
	if err := b.Bind(); err != nil {
		b.Close()
		t.Fatal(err)
	}
	st := &Stack{Sim: sim, Srv: lv.Server, lv: lv}
	_, st.Port, _ = net.SplitHostPort(lv.TCP.Addr().String())
	Run(t, b)
	return st
}

// Run runs a built and bound stack until the test ends; t.Cleanup stops it
// as serve stops on a signal and fails the test if it ended in error.
func Run(t testing.TB, b *stack.Stack) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("stack: %v", err)
		}
	})
}

// Dial is what cmd gives the SSH side (stack.Libvirt.Dial): a net.Pipe
// served by the stack's RPC server.
func (st *Stack) Dial(ctx context.Context, readOnly bool) (net.Conn, error) {
	return st.lv.Dial(ctx, readOnly)
}

// cloudFor returns the cloud a test stack runs on: a started cloudsim with n
// nodes, or the real cloud of the real-cloud tier with its fixture reset.
func cloudFor(t testing.TB, n int) (nodes.CloudConfig, *cloudsim.Sim) {
	t.Helper()
	if name := os.Getenv("QUINTUPLEO_CLOUD"); name != "" && name != "sim" {
		nodesCmd := os.Getenv("QUINTUPLEO_NODES_CMD")
		if nodesCmd == "" {
			t.Fatalf("QUINTUPLEO_CLOUD=%s needs QUINTUPLEO_NODES_CMD (e.g. ../shared/tools/realcloud/nodes.sh) to reset the node fixture", name)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, nodesCmd, strconv.Itoa(n))
		cmd.Env = append(os.Environ(), "OS_CLOUD="+name)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("reset the node fixture (%s %d): %v\n%s", nodesCmd, n, err, out)
		}
		return nodes.CloudConfig{Cloud: name, CloudsYAML: os.Getenv("OS_CLIENT_CONFIG_FILE")}, nil
	}
	sim := StartSim(t, cloudsim.Options{Nodes: n, TransitionDelay: 5 * time.Millisecond})
	return SimConfig(sim), sim
}

// StartSim starts a cloudsim on a loopback port; t.Cleanup closes it.
func StartSim(t testing.TB, opts cloudsim.Options) *cloudsim.Sim {
	t.Helper()
	sim, err := cloudsim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	return sim
}

// CloudsYAML writes a clouds.yaml naming sim "sim" into a temporary
// directory and returns its path, for the real binary's --clouds-yaml.
func CloudsYAML(t testing.TB, sim *cloudsim.Sim) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "clouds.yaml")
	if err := os.WriteFile(path, sim.CloudsYAML("sim"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// SimConfig is the nodes.CloudConfig that reaches sim.
func SimConfig(sim *cloudsim.Sim) nodes.CloudConfig {
	return nodes.CloudConfig{Cloud: "sim", CloudsYAMLData: sim.CloudsYAML("sim")}
}

// Connect starts a cloudsim and connects to it: the sim and the
// authenticated service clients.
func Connect(t testing.TB, opts cloudsim.Options) (*cloudsim.Sim, *nodes.Cloud) {
	t.Helper()
	sim := StartSim(t, opts)
	cloud, err := nodes.Connect(t.Context(), SimConfig(sim))
	if err != nil {
		t.Fatal(err)
	}
	return sim, cloud
}
