package rpc

import (
	"context"
	"fmt"

	"github.com/digitalocean/go-libvirt"

	"quintupleo/virt"
)

func nodeGetInfo(ctx context.Context, c *conn, _ *none) (*libvirt.NodeGetInfoRet, error) {
	ni, err := c.srv.drivers.Host.NodeInfo(ctx)
	if err != nil {
		return nil, err
	}
	ret := &libvirt.NodeGetInfoRet{
		Memory:  ni.Memory,
		Cpus:    ni.CPUs,
		Mhz:     ni.MHz,
		Nodes:   ni.Nodes,
		Sockets: ni.Sockets,
		Cores:   ni.Cores,
		Threads: ni.Threads,
	}
	// char model[32], NUL-terminated.
	for i := 0; i < len(ni.Model) && i < len(ret.Model)-1; i++ {
		ret.Model[i] = int8(ni.Model[i])
	}
	return ret, nil
}

// nodeGetCPUMap answers virNodeGetCPUMap (libvirt-python's vcpus() asks it
// first) from the same host model as nodeinfo: every CPU present is online.
func nodeGetCPUMap(ctx context.Context, c *conn, a *libvirt.NodeGetCPUMapArgs) (*libvirt.NodeGetCPUMapRet, error) {
	if a.Flags != 0 {
		return nil, virt.InvalidArg(virt.FromNone, fmt.Sprintf("unsupported flags (0x%x) in function virHostCPUGetMap", a.Flags))
	}
	ni, err := c.srv.drivers.Host.NodeInfo(ctx)
	if err != nil {
		return nil, err
	}
	ret := &libvirt.NodeGetCPUMapRet{Ret: ni.CPUs}
	if a.NeedMap != 0 {
		ret.Cpumap = make([]byte, (ni.CPUs+7)/8)
		for i := range ni.CPUs {
			ret.Cpumap[i/8] |= 1 << (i % 8)
		}
	}
	if a.NeedOnline != 0 {
		ret.Online = uint32(ni.CPUs)
	}
	return ret, nil
}

func nodeGetSecurityModel(ctx context.Context, c *conn, _ *none) (*libvirt.NodeGetSecurityModelRet, error) {
	// No security driver, as a QEMU host with security_driver="none": an
	// empty model, so virsh dominfo does not ask for labels.
	return &libvirt.NodeGetSecurityModelRet{Model: cString(""), Doi: cString("")}, nil
}

func nodeGetFreeMemory(ctx context.Context, c *conn, _ *none) (*libvirt.NodeGetFreeMemoryRet, error) {
	free, err := c.srv.drivers.Host.FreeMemory(ctx)
	if err != nil {
		return nil, err
	}
	return &libvirt.NodeGetFreeMemoryRet{FreeMem: free}, nil
}

// REMOTE_NODE_MAX_CELLS and REMOTE_NODE_MEMORY_PARAMETERS_MAX.
const (
	remoteNodeMaxCells        = 1024
	remoteNodeMemoryParamsMax = 16
)

func nodeGetCellsFreeMemory(ctx context.Context, c *conn, a *libvirt.NodeGetCellsFreeMemoryArgs) (*libvirt.NodeGetCellsFreeMemoryRet, error) {
	if a.Maxcells > remoteNodeMaxCells {
		return nil, errRPC("maxCells > REMOTE_NODE_MAX_CELLS", nil)
	}
	cells, err := c.srv.drivers.Host.CellsFreeMemory(ctx, a.StartCell, a.Maxcells)
	if err != nil {
		return nil, err
	}
	return &libvirt.NodeGetCellsFreeMemoryRet{Cells: cells}, nil
}

// nodeGetMemoryStats follows libvirt's two-step protocol: nparams 0 asks
// how many fields there are; then exactly that many are asked for.
func nodeGetMemoryStats(ctx context.Context, c *conn, a *libvirt.NodeGetMemoryStatsArgs) (*libvirt.NodeGetMemoryStatsRet, error) {
	if a.Nparams > remoteNodeMemoryParamsMax {
		return nil, errRPC("nparams too large", nil)
	}
	stats, err := c.srv.drivers.Host.MemoryStats(ctx, a.CellNum, a.Flags)
	if err != nil {
		return nil, err
	}
	if a.Nparams == 0 {
		return &libvirt.NodeGetMemoryStatsRet{Params: []libvirt.NodeGetMemoryStats{}, Nparams: int32(len(stats))}, nil
	}
	if int(a.Nparams) != len(stats) {
		return nil, virt.InvalidArg(virt.FromNone, fmt.Sprintf("nparams in virHostMemGetStats must be %d", len(stats)))
	}
	ret := &libvirt.NodeGetMemoryStatsRet{Nparams: int32(len(stats))}
	for _, s := range stats {
		ret.Params = append(ret.Params, libvirt.NodeGetMemoryStats{Field: s.Field, Value: s.Value})
	}
	return ret, nil
}

func connectGetSysinfo(ctx context.Context, c *conn, a *libvirt.ConnectGetSysinfoArgs) (*libvirt.ConnectGetSysinfoRet, error) {
	s, err := c.srv.drivers.Host.Sysinfo(ctx, a.Flags)
	if err != nil {
		return nil, err
	}
	return &libvirt.ConnectGetSysinfoRet{Sysinfo: s}, nil
}

func connectGetDomainCapabilities(ctx context.Context, c *conn, a *libvirt.ConnectGetDomainCapabilitiesArgs) (*libvirt.ConnectGetDomainCapabilitiesRet, error) {
	str := func(s libvirt.OptString) string {
		if p := optString(s); p != nil {
			return *p
		}
		return ""
	}
	x, err := c.srv.drivers.Host.DomainCapabilities(ctx, str(a.Emulatorbin), str(a.Arch), str(a.Machine), str(a.Virttype), uint32(a.Flags))
	if err != nil {
		return nil, err
	}
	return &libvirt.ConnectGetDomainCapabilitiesRet{Capabilities: x}, nil
}
