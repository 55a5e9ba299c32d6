package rpc_test

import (
	"context"

	"quintupleo/driver/host"
	"quintupleo/rpc"
)

// fakeHost is the host family for protocol tests: fixed facts.
type fakeHost struct{}

func (fakeHost) Type() string       { return "QEMU" }
func (fakeHost) Version() uint64    { return 7002000 }
func (fakeHost) LibVersion() uint64 { return 9000000 }
func (fakeHost) Hostname(context.Context) (string, error) {
	return "cloudhost", nil
}
func (fakeHost) Capabilities(context.Context) (string, error) {
	return "<capabilities>\n  <host>\n    <cpu>\n      <arch>x86_64</arch>\n    </cpu>\n  </host>\n</capabilities>\n", nil
}
func (fakeHost) NodeInfo(context.Context) (host.NodeInfo, error) {
	return host.NodeInfo{Model: "x86_64", Memory: 16777216, CPUs: 8, MHz: 2400, Nodes: 1, Sockets: 1, Cores: 8, Threads: 1}, nil
}

// drivers wires the fake host and the given domains, as cmd wires the real
// ones: no network or storage driver.
func drivers(d rpc.Domains) rpc.Drivers { return rpc.Drivers{Host: fakeHost{}, Domains: d} }
