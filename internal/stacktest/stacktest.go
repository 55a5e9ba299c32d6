// Package stacktest builds, for tests, the whole quintupleo stack the way cmd
// wires it — cloudsim → nodes → translate → rpc — with a TCP listener for the
// real virsh and a Dial for in-process clients (the SSH side's virsh and the
// qemu+ssh bridge). Test code only: nothing outside _test.go files imports it.
package stacktest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"quintupleo/cloudsim"
	"quintupleo/nodes"
	"quintupleo/rpc"
	"quintupleo/translate"
)

// Stack is cloudsim → nodes → translate → rpc, as cmd wires it, with a TCP
// listener for the real virsh (on Port) and a Dial for in-process clients.
type Stack struct {
	Sim  *cloudsim.Sim
	Srv  *rpc.Server
	Port string
	wg   sync.WaitGroup
}

// New starts a stack over a cloudsim with n nodes; t.Cleanup stops it.
func New(t testing.TB, n int) *Stack {
	t.Helper()
	sim, err := cloudsim.New(cloudsim.Options{Nodes: n, TransitionDelay: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	cloud, err := nodes.Connect(ctx, nodes.CloudConfig{Cloud: "sim", CloudsYAMLData: sim.CloudsYAML("sim")})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	inv := nodes.NewInventory(cloud, nodes.InventoryConfig{RefreshInterval: 100 * time.Millisecond, PollInterval: 5 * time.Millisecond, ActionTimeout: 20 * time.Second, Logger: log})
	if err := inv.Refresh(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	hv := translate.New(inv, translate.Config{Hostname: "virthost", Logger: log})
	st := &Stack{Sim: sim, Srv: rpc.NewServer(hv, rpc.WithLogger(log))}
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
