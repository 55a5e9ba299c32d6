// Package host is the host half of libvirt's hypervisor driver over the
// cloud: the hypervisor type and versions we claim, the hostname, the
// capabilities XML and the node info (the cloud's nodes summed up as one
// host).
//
// Like every driver family it knows nothing about the wire (rpc) and does not
// import the other families: the node totals come through the Capacity it is
// given (the domain driver, wired by cmd).
package host

import (
	"context"
	"os"
)

// Identity facts we present. quintupleo answers as a QEMU/KVM host so that
// clients written for one (qemu:///system URIs, `hvm` OS type) need no change.
const (
	hypervisorType    = "QEMU"
	hypervisorVersion = 7002000 // QEMU 7.2.0, Debian 12's, what virsh 9.0 is used with
	libVersion        = 9000000 // libvirt 9.0.0, the virsh we are tested with
)

// Capacity sums up the cloud's nodes (model.go says what the sums mean).
type Capacity interface {
	// Capacity is every domain's memory (KiB) and vCPUs, and the memory
	// of the active ones.
	Capacity(ctx context.Context) (memoryKiB, activeKiB uint64, vcpus int32, err error)
}

// Config tunes a Driver.
type Config struct {
	Hostname string   // reported by virConnectGetHostname; "" = this machine's
	Capacity Capacity // what NodeInfo sums; nil = an empty cloud
}

// Driver answers the host procedures. Its methods are safe for concurrent use.
type Driver struct {
	hostname string
	capacity Capacity
}

// New returns a host driver.
func New(cfg Config) *Driver {
	if cfg.Hostname == "" {
		cfg.Hostname, _ = os.Hostname()
	}
	return &Driver{hostname: cfg.Hostname, capacity: cfg.Capacity}
}

// NodeInfo answers virNodeGetInfo.
type NodeInfo struct {
	Model   string // e.g. "x86_64"
	Memory  uint64 // KiB
	CPUs    int32
	MHz     int32
	Nodes   int32
	Sockets int32
	Cores   int32
	Threads int32
}

// Type answers virConnectGetType.
func (h *Driver) Type() string { return hypervisorType }

// Version answers virConnectGetVersion.
func (h *Driver) Version() uint64 { return hypervisorVersion }

// LibVersion answers virConnectGetLibVersion.
func (h *Driver) LibVersion() uint64 { return libVersion }

// Hostname answers virConnectGetHostname.
func (h *Driver) Hostname(context.Context) (string, error) { return h.hostname, nil }

// NodeInfo answers virNodeGetInfo: the host model's memory and CPUs, one
// socket of that many cores in one NUMA cell.
func (h *Driver) NodeInfo(ctx context.Context) (NodeInfo, error) {
	m, err := h.model(ctx)
	if err != nil {
		return NodeInfo{}, err
	}
	return NodeInfo{Model: "x86_64", Memory: m.memoryKiB, CPUs: m.cpus, MHz: 2000, Nodes: 1, Sockets: 1,
		Cores: m.cpus, Threads: 1}, nil
}
