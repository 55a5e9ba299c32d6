// Package stacktest builds, for tests, the whole quintupleo stack the way cmd
// wires it — cloudsim → nodes → driver/{host,domain} → rpc — with a TCP listener for the
// real virsh and a Dial for in-process clients (the SSH side's virsh and the
// qemu+ssh bridge). Test code only: nothing outside _test.go files imports it.
package stacktest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"quintupleo/cloudsim"
	"quintupleo/driver/domain"
	"quintupleo/driver/host"
	"quintupleo/nodes"
	"quintupleo/rpc"
)

// Stack is cloudsim → nodes → driver/{host,domain} → rpc, as cmd wires it, with a TCP
// listener for the real virsh (on Port) and a Dial for in-process clients.
type Stack struct {
	Sim  *cloudsim.Sim
	Srv  *rpc.Server
	Port string
	wg   sync.WaitGroup
}

// New starts a stack over n nodes; t.Cleanup stops it. The cloud is a fresh
// cloudsim, or — when QUINTUPLEO_CLOUD names a real cloud (the real-cloud
// tier, docs/realcloud.md) — that cloud, its node fixture reset to n nodes
// with QUINTUPLEO_NODES_CMD first (Sim is then nil).
func New(t testing.TB, n int) *Stack {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cloudCfg, sim := cloudFor(t, n)
	invCfg := nodes.InventoryConfig{RefreshInterval: 100 * time.Millisecond, PollInterval: 5 * time.Millisecond, ActionTimeout: 20 * time.Second}
	if sim == nil {
		// Real Nova is slower: the same waits with wider bounds.
		invCfg = nodes.InventoryConfig{RefreshInterval: time.Second, PollInterval: 50 * time.Millisecond, ActionTimeout: 5 * time.Minute}
	}
	cloud, err := nodes.Connect(ctx, cloudCfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	invCfg.Logger = log
	inv := nodes.NewInventory(cloud, invCfg)
	if err := inv.Refresh(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	hv := domain.New(inv, domain.Config{Logger: log})
	drivers := rpc.Drivers{Host: host.New(host.Config{Hostname: "virthost", Capacity: hv}), Domains: hv}
	st := &Stack{Sim: sim, Srv: rpc.NewServer(drivers, rpc.WithLogger(log))}
	ln, err := rpc.ListenTCP("127.0.0.1:0", false)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	_, st.Port, _ = net.SplitHostPort(ln.Addr().String())
	st.wg.Add(3)
	go func() { defer st.wg.Done(); _ = inv.Run(ctx) }()
	go func() { defer st.wg.Done(); _ = hv.Run(ctx) }()
	go func() {
		defer st.wg.Done()
		if err := st.Srv.Serve(ln); !errors.Is(err, rpc.ErrServerClosed) {
			t.Errorf("rpc Serve: %v", err)
		}
	}()
	t.Cleanup(func() {
		st.Srv.Close()
		cancel()
		st.wg.Wait()
	})
	return st
}

// Dial is what cmd gives the SSH side: a net.Pipe served by ServeConn.
func (st *Stack) Dial(ctx context.Context, readOnly bool) (net.Conn, error) {
	a, b := net.Pipe()
	st.wg.Add(1)
	go func() {
		defer st.wg.Done()
		if readOnly {
			_ = st.Srv.ServeConnReadOnly(context.WithoutCancel(ctx), b)
		} else {
			_ = st.Srv.ServeConn(context.WithoutCancel(ctx), b)
		}
	}()
	return a, nil
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
