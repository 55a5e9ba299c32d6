package rpc

import (
	"context"

	"github.com/digitalocean/go-libvirt"
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

func nodeGetSecurityModel(ctx context.Context, c *conn, _ *none) (*libvirt.NodeGetSecurityModelRet, error) {
	// No security driver, as a QEMU host with security_driver="none": an
	// empty model, so virsh dominfo does not ask for labels.
	return &libvirt.NodeGetSecurityModelRet{Model: cString(""), Doi: cString("")}, nil
}
