package rpc

import (
	"context"

	"github.com/digitalocean/go-libvirt"

	"quintupleo/virt"
)

// Domain calls beyond lifecycle and define: suspend and resume, the NMI,
// metadata, interface addresses.

func domainSuspend(ctx context.Context, c *conn, a *libvirt.DomainSuspendArgs) (*none, error) {
	return nil, c.srv.drivers.Domains.Suspend(ctx, virt.UUID(a.Dom.UUID))
}

func domainResume(ctx context.Context, c *conn, a *libvirt.DomainResumeArgs) (*none, error) {
	return nil, c.srv.drivers.Domains.Resume(ctx, virt.UUID(a.Dom.UUID))
}

func domainInjectNMI(ctx context.Context, c *conn, a *libvirt.DomainInjectNmiArgs) (*none, error) {
	return nil, c.srv.drivers.Domains.InjectNMI(ctx, virt.UUID(a.Dom.UUID), a.Flags)
}

// optString is a remote_string: nil when absent.
func optString(s libvirt.OptString) *string {
	if len(s) == 0 {
		return nil
	}
	return &s[0]
}

func domainSetMetadata(ctx context.Context, c *conn, a *libvirt.DomainSetMetadataArgs) (*none, error) {
	return nil, c.srv.drivers.Domains.SetMetadata(ctx, virt.UUID(a.Dom.UUID), a.Type,
		optString(a.Metadata), optString(a.Key), optString(a.Uri), uint32(a.Flags))
}

func domainGetMetadata(ctx context.Context, c *conn, a *libvirt.DomainGetMetadataArgs) (*libvirt.DomainGetMetadataRet, error) {
	md, err := c.srv.drivers.Domains.GetMetadata(ctx, virt.UUID(a.Dom.UUID), a.Type, optString(a.Uri), uint32(a.Flags))
	if err != nil {
		return nil, err
	}
	return &libvirt.DomainGetMetadataRet{Metadata: md}, nil
}

// VIR_IP_ADDR_TYPE_IPV4 and _IPV6.
const (
	ipAddrIPv4 = 0
	ipAddrIPv6 = 1
)

func domainInterfaceAddresses(ctx context.Context, c *conn, a *libvirt.DomainInterfaceAddressesArgs) (*libvirt.DomainInterfaceAddressesRet, error) {
	ifs, err := c.srv.drivers.Domains.InterfaceAddresses(ctx, virt.UUID(a.Dom.UUID), a.Source, a.Flags)
	if err != nil {
		return nil, err
	}
	ret := &libvirt.DomainInterfaceAddressesRet{Ifaces: make([]libvirt.DomainInterface, 0, len(ifs))}
	for _, ifc := range ifs {
		w := libvirt.DomainInterface{Name: ifc.Name, Hwaddr: libvirt.OptString{ifc.MAC}, Addrs: []libvirt.DomainIPAddr{}}
		for _, ad := range ifc.Addrs {
			typ := int32(ipAddrIPv4)
			if ad.IPv6 {
				typ = ipAddrIPv6
			}
			w.Addrs = append(w.Addrs, libvirt.DomainIPAddr{Type: typ, Addr: ad.Addr, Prefix: ad.Prefix})
		}
		ret.Ifaces = append(ret.Ifaces, w)
	}
	return ret, nil
}
