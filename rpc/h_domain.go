package rpc

import (
	"context"

	"github.com/digitalocean/go-libvirt"

	"quintupleo/driver/domain"
	"quintupleo/virt"
)

// Domain handlers. Every call after a lookup carries the
// remote_nonnull_domain from the lookup reply; like libvirt's remote driver
// we identify the domain by its UUID and ask the Domains driver for fresh facts.

func domainLookupByName(ctx context.Context, c *conn, a *libvirt.DomainLookupByNameArgs) (*libvirt.DomainLookupByNameRet, error) {
	d, err := c.srv.drivers.Domains.LookupByName(ctx, a.Name)
	if err != nil {
		return nil, err
	}
	return &libvirt.DomainLookupByNameRet{Dom: wireDomain(d)}, nil
}

func domainLookupByUUID(ctx context.Context, c *conn, a *libvirt.DomainLookupByUUIDArgs) (*libvirt.DomainLookupByUUIDRet, error) {
	d, err := c.srv.drivers.Domains.LookupByUUID(ctx, virt.UUID(a.UUID))
	if err != nil {
		return nil, err
	}
	return &libvirt.DomainLookupByUUIDRet{Dom: wireDomain(d)}, nil
}

func domainLookupByID(ctx context.Context, c *conn, a *libvirt.DomainLookupByIDArgs) (*libvirt.DomainLookupByIDRet, error) {
	d, err := c.srv.drivers.Domains.LookupByID(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	return &libvirt.DomainLookupByIDRet{Dom: wireDomain(d)}, nil
}

func (c *conn) domain(ctx context.Context, dom libvirt.Domain) (domain.Domain, error) {
	return c.srv.drivers.Domains.LookupByUUID(ctx, virt.UUID(dom.UUID))
}

func b2i(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

func domainGetState(ctx context.Context, c *conn, a *libvirt.DomainGetStateArgs) (*libvirt.DomainGetStateRet, error) {
	d, err := c.domain(ctx, a.Dom)
	if err != nil {
		return nil, err
	}
	return &libvirt.DomainGetStateRet{State: int32(d.State), Reason: d.Reason}, nil
}

func domainGetInfo(ctx context.Context, c *conn, a *libvirt.DomainGetInfoArgs) (*libvirt.DomainGetInfoRet, error) {
	d, err := c.domain(ctx, a.Dom)
	if err != nil {
		return nil, err
	}
	return &libvirt.DomainGetInfoRet{
		State:     uint8(d.State),
		MaxMem:    d.MaxMemoryKiB,
		Memory:    d.MemoryKiB,
		NrVirtCPU: d.VCPUs,
		CPUTime:   d.CPUTimeNs,
	}, nil
}

// osType is what the QEMU driver reports for a full-virtualisation guest.
const osType = "hvm"

func domainGetOSType(ctx context.Context, c *conn, a *libvirt.DomainGetOsTypeArgs) (*libvirt.DomainGetOsTypeRet, error) {
	if _, err := c.domain(ctx, a.Dom); err != nil {
		return nil, err
	}
	return &libvirt.DomainGetOsTypeRet{Type: osType}, nil
}

func domainIsActive(ctx context.Context, c *conn, a *libvirt.DomainIsActiveArgs) (*libvirt.DomainIsActiveRet, error) {
	d, err := c.domain(ctx, a.Dom)
	if err != nil {
		return nil, err
	}
	return &libvirt.DomainIsActiveRet{Active: b2i(d.State.Active())}, nil
}

func domainIsPersistent(ctx context.Context, c *conn, a *libvirt.DomainIsPersistentArgs) (*libvirt.DomainIsPersistentRet, error) {
	d, err := c.domain(ctx, a.Dom)
	if err != nil {
		return nil, err
	}
	return &libvirt.DomainIsPersistentRet{Persistent: b2i(d.Persistent)}, nil
}

func domainIsUpdated(ctx context.Context, c *conn, a *libvirt.DomainIsUpdatedArgs) (*libvirt.DomainIsUpdatedRet, error) {
	// A Nova instance has no pending live-vs-config difference.
	if _, err := c.domain(ctx, a.Dom); err != nil {
		return nil, err
	}
	return &libvirt.DomainIsUpdatedRet{Updated: 0}, nil
}

func domainGetAutostart(ctx context.Context, c *conn, a *libvirt.DomainGetAutostartArgs) (*libvirt.DomainGetAutostartRet, error) {
	d, err := c.domain(ctx, a.Dom)
	if err != nil {
		return nil, err
	}
	return &libvirt.DomainGetAutostartRet{Autostart: b2i(d.Autostart)}, nil
}

func domainHasManagedSaveImage(ctx context.Context, c *conn, a *libvirt.DomainHasManagedSaveImageArgs) (*libvirt.DomainHasManagedSaveImageRet, error) {
	if _, err := c.domain(ctx, a.Dom); err != nil {
		return nil, err
	}
	return &libvirt.DomainHasManagedSaveImageRet{Result: 0}, nil
}

func domainGetXMLDesc(ctx context.Context, c *conn, a *libvirt.DomainGetXMLDescArgs) (*libvirt.DomainGetXMLDescRet, error) {
	if uint32(a.Flags)&virt.XMLSecure != 0 && c.isReadOnly() {
		return nil, errReadOnly("virDomainGetXMLDesc with secure flag")
	}
	x, err := c.srv.drivers.Domains.XMLDesc(ctx, virt.UUID(a.Dom.UUID), uint32(a.Flags))
	if err != nil {
		return nil, err
	}
	return &libvirt.DomainGetXMLDescRet{XML: x}, nil
}

// cString is a libvirt char<N> array as the daemon sends it: the bytes of s
// and the terminating NUL.
func cString(s string) []int8 {
	out := make([]int8, len(s)+1)
	for i := range len(s) {
		out[i] = int8(s[i])
	}
	return out
}

func domainGetSecurityLabel(ctx context.Context, c *conn, a *libvirt.DomainGetSecurityLabelArgs) (*libvirt.DomainGetSecurityLabelRet, error) {
	if _, err := c.domain(ctx, a.Dom); err != nil {
		return nil, err
	}
	// No security driver: an empty label, not enforcing.
	return &libvirt.DomainGetSecurityLabelRet{Label: cString(""), Enforcing: 0}, nil
}

func domainGetMessages(ctx context.Context, c *conn, a *libvirt.DomainGetMessagesArgs) (*libvirt.DomainGetMessagesRet, error) {
	if _, err := c.domain(ctx, a.Dom); err != nil {
		return nil, err
	}
	return &libvirt.DomainGetMessagesRet{Msgs: []string{}}, nil
}

func domainGetMaxMemory(ctx context.Context, c *conn, a *libvirt.DomainGetMaxMemoryArgs) (*libvirt.DomainGetMaxMemoryRet, error) {
	d, err := c.domain(ctx, a.Dom)
	if err != nil {
		return nil, err
	}
	return &libvirt.DomainGetMaxMemoryRet{Memory: d.MaxMemoryKiB}, nil
}

func domainGetMaxVcpus(ctx context.Context, c *conn, a *libvirt.DomainGetMaxVcpusArgs) (*libvirt.DomainGetMaxVcpusRet, error) {
	d, err := c.domain(ctx, a.Dom)
	if err != nil {
		return nil, err
	}
	if !d.State.Active() {
		return nil, domain.NotRunning()
	}
	return &libvirt.DomainGetMaxVcpusRet{Num: int32(d.VCPUs)}, nil
}

func domainGetVcpusFlags(ctx context.Context, c *conn, a *libvirt.DomainGetVcpusFlagsArgs) (*libvirt.DomainGetVcpusFlagsRet, error) {
	d, err := c.domain(ctx, a.Dom)
	if err != nil {
		return nil, err
	}
	// A flavor fixes the count: maximum, live and config are all the same.
	return &libvirt.DomainGetVcpusFlagsRet{Num: int32(d.VCPUs)}, nil
}

// REMOTE_VCPUINFO_MAX and REMOTE_CPUMAPS_MAX.
const (
	remoteVcpuinfoMax = 16384
	remoteCpumapsMax  = 8388608
)

func domainGetVcpus(ctx context.Context, c *conn, a *libvirt.DomainGetVcpusArgs) (*libvirt.DomainGetVcpusRet, error) {
	if a.Maxinfo < 0 || a.Maxinfo > remoteVcpuinfoMax {
		return nil, errRPC("maxinfo > REMOTE_VCPUINFO_MAX", nil)
	}
	if a.Maplen < 0 || int64(a.Maxinfo)*int64(a.Maplen) > remoteCpumapsMax {
		return nil, errRPC("maxinfo * maplen > REMOTE_CPUMAPS_MAX", nil)
	}
	d, err := c.domain(ctx, a.Dom)
	if err != nil {
		return nil, err
	}
	if !d.State.Active() {
		return nil, virt.OperationInvalid(virt.FromQEMU, "cannot list vcpu pinning for an inactive domain", nil)
	}
	// The CPU times come from the cloud, or the call fails: a zero would
	// read as a real, idle vCPU.
	times, err := c.srv.drivers.Domains.VCPUTimes(ctx, d.UUID)
	if err != nil {
		return nil, err
	}
	n := min(int(a.Maxinfo), len(times))
	ret := &libvirt.DomainGetVcpusRet{Info: make([]libvirt.VcpuInfo, n), Cpumaps: make([]byte, int(a.Maxinfo)*int(a.Maplen))}
	for i := range n {
		ret.Info[i] = libvirt.VcpuInfo{Number: uint32(i), State: 1 /* VIR_VCPU_RUNNING */, CPUTime: times[i], CPU: -1}
	}
	return ret, nil
}

func domainSnapshotNum(ctx context.Context, c *conn, a *libvirt.DomainSnapshotNumArgs) (*libvirt.DomainSnapshotNumRet, error) {
	if _, err := c.domain(ctx, a.Dom); err != nil {
		return nil, err
	}
	return &libvirt.DomainSnapshotNumRet{Num: 0}, nil
}

// Changes.

func domainCreate(ctx context.Context, c *conn, a *libvirt.DomainCreateArgs) (*none, error) {
	_, err := c.srv.drivers.Domains.Start(ctx, virt.UUID(a.Dom.UUID))
	return nil, err
}

func domainCreateWithFlags(ctx context.Context, c *conn, a *libvirt.DomainCreateWithFlagsArgs) (*libvirt.DomainCreateWithFlagsRet, error) {
	d, err := c.srv.drivers.Domains.Start(ctx, virt.UUID(a.Dom.UUID))
	if err != nil {
		return nil, err
	}
	return &libvirt.DomainCreateWithFlagsRet{Dom: wireDomain(d)}, nil
}

func domainDestroy(ctx context.Context, c *conn, a *libvirt.DomainDestroyArgs) (*none, error) {
	return nil, c.srv.drivers.Domains.Destroy(ctx, virt.UUID(a.Dom.UUID))
}

func domainDestroyFlags(ctx context.Context, c *conn, a *libvirt.DomainDestroyFlagsArgs) (*none, error) {
	// VIR_DOMAIN_DESTROY_GRACEFUL changes nothing: Nova's stop is the only power-off.
	return nil, c.srv.drivers.Domains.Destroy(ctx, virt.UUID(a.Dom.UUID))
}

func domainShutdown(ctx context.Context, c *conn, a *libvirt.DomainShutdownArgs) (*none, error) {
	return nil, c.srv.drivers.Domains.Shutdown(ctx, virt.UUID(a.Dom.UUID))
}

func domainShutdownFlags(ctx context.Context, c *conn, a *libvirt.DomainShutdownFlagsArgs) (*none, error) {
	return nil, c.srv.drivers.Domains.Shutdown(ctx, virt.UUID(a.Dom.UUID))
}

func domainReboot(ctx context.Context, c *conn, a *libvirt.DomainRebootArgs) (*none, error) {
	return nil, c.srv.drivers.Domains.Reboot(ctx, virt.UUID(a.Dom.UUID))
}

func domainReset(ctx context.Context, c *conn, a *libvirt.DomainResetArgs) (*none, error) {
	return nil, c.srv.drivers.Domains.Reset(ctx, virt.UUID(a.Dom.UUID))
}

func domainSetAutostart(ctx context.Context, c *conn, a *libvirt.DomainSetAutostartArgs) (*none, error) {
	return nil, c.srv.drivers.Domains.SetAutostart(ctx, virt.UUID(a.Dom.UUID), a.Autostart != 0)
}

func domainCreateXML(ctx context.Context, c *conn, a *libvirt.DomainCreateXMLArgs) (*libvirt.DomainCreateXMLRet, error) {
	d, err := c.srv.drivers.Domains.CreateXML(ctx, a.XMLDesc, uint32(a.Flags))
	if err != nil {
		return nil, err
	}
	return &libvirt.DomainCreateXMLRet{Dom: wireDomain(d)}, nil
}

func domainDefineXML(ctx context.Context, c *conn, a *libvirt.DomainDefineXMLArgs) (*libvirt.DomainDefineXMLRet, error) {
	d, err := c.srv.drivers.Domains.DefineXML(ctx, a.XML, 0)
	if err != nil {
		return nil, err
	}
	return &libvirt.DomainDefineXMLRet{Dom: wireDomain(d)}, nil
}

func domainDefineXMLFlags(ctx context.Context, c *conn, a *libvirt.DomainDefineXMLFlagsArgs) (*libvirt.DomainDefineXMLFlagsRet, error) {
	d, err := c.srv.drivers.Domains.DefineXML(ctx, a.XML, uint32(a.Flags))
	if err != nil {
		return nil, err
	}
	return &libvirt.DomainDefineXMLFlagsRet{Dom: wireDomain(d)}, nil
}

func domainUndefine(ctx context.Context, c *conn, a *libvirt.DomainUndefineArgs) (*none, error) {
	return nil, c.srv.drivers.Domains.Undefine(ctx, virt.UUID(a.Dom.UUID), 0)
}

func domainUndefineFlags(ctx context.Context, c *conn, a *libvirt.DomainUndefineFlagsArgs) (*none, error) {
	return nil, c.srv.drivers.Domains.Undefine(ctx, virt.UUID(a.Dom.UUID), uint32(a.Flags))
}
