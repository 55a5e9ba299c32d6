package domain

import (
	"context"
	"fmt"
	"slices"

	"quintupleo/nodes"
	"quintupleo/nodes/neutron"
	"quintupleo/virt"
)

// Calls on a running guest beyond power: suspend and resume (Nova's pause
// and unpause), the NMI (trigger_crash_dump) and the interface addresses
// (the ports' fixed IPs), each with the qemu driver's checks and wording.

// Suspend answers virDomainSuspend with Nova's pause, waited for. As qemu's
// driver, a paused domain is left as it is (success) and a domain that does
// not run is refused.
func (h *Driver) Suspend(ctx context.Context, u virt.UUID) error {
	n, d, err := h.pausable(ctx, u)
	if err != nil || d.State == virt.StatePaused {
		return err
	}
	if _, err := h.act.Do(ctx, n.ID, nodes.ActionPause); err != nil {
		return FromNodes(err)
	}
	return nil
}

// Resume answers virDomainResume with Nova's unpause, waited for; a
// running domain is left as it is, as qemu's driver does. The domain then
// reads "running (unpaused)" on every replica (MetaReason).
func (h *Driver) Resume(ctx context.Context, u virt.UUID) error {
	n, d, err := h.pausable(ctx, u)
	if err != nil || d.State != virt.StatePaused {
		return err
	}
	// Marked first (Nova takes metadata writes while paused), so that
	// every replica reads the reason once it sees the domain run; a mark
	// left by a failed unpause means nothing while the domain is paused.
	if n.Metadata[MetaReason] != reasonUnpaused {
		if _, err := h.act.SetMetadata(ctx, n.ID, MetaReason, reasonUnpaused); err != nil {
			return FromNodes(err)
		}
	}
	if _, err := h.act.Do(ctx, n.ID, nodes.ActionUnpause); err != nil {
		return FromNodes(err)
	}
	return nil
}

// pausable finds a domain suspend and resume may act on: active, not
// pm-suspended (qemu's checks, in its order).
func (h *Driver) pausable(ctx context.Context, u virt.UUID) (nodes.Node, Domain, error) {
	n, d, err := h.find(ctx, u)
	switch {
	case err != nil:
		return n, d, err
	case !d.State.Active():
		return n, d, NotRunning()
	case d.State == virt.StatePMSuspended:
		return n, d, virt.OperationInvalid(from, "domain is pm-suspended", nil)
	}
	return n, d, nil
}

// InjectNMI answers virDomainInjectNMI with Nova's trigger_crash_dump.
// Nova sends it to the compute host and answers at once; like libvirt,
// nothing is waited for.
func (h *Driver) InjectNMI(ctx context.Context, u virt.UUID, flags uint32) error {
	if flags != 0 {
		return virt.InvalidArg(from, fmt.Sprintf("unsupported flags (0x%x) in function qemuDomainInjectNMI", flags))
	}
	n, d, err := h.find(ctx, u)
	if err != nil {
		return err
	}
	if !d.State.Active() {
		return NotRunning()
	}
	return FromNodes(h.act.TriggerCrashDump(ctx, n.ID))
}

// VCPUTimes answers virDomainGetVcpus' CPU times: each of the domain's
// vCPUs' CPU time in nanoseconds, from Nova's server diagnostics (admin-only
// by default). A cloud that gives none, or not for every vCPU (Nova's fake
// driver describes one whatever the flavor), is libvirt's "Operation not
// supported" with the reason: never a made-up time.
func (h *Driver) VCPUTimes(ctx context.Context, u virt.UUID) ([]uint64, error) {
	n, d, err := h.find(ctx, u)
	if err != nil {
		return nil, err
	}
	if !d.State.Active() {
		return nil, NotRunning()
	}
	diag, err := h.inv.Diagnostics(ctx, n.ID)
	if err != nil {
		return nil, FromNodes(err)
	}
	times := make([]uint64, d.VCPUs)
	for i := range times {
		t, ok := diag.CPUTime[i]
		if !ok {
			return nil, virt.OperationUnsupported(from, fmt.Sprintf("Nova's server diagnostics give the CPU time of %d of the domain's %d vCPUs",
				len(diag.CPUTime), d.VCPUs), nil)
		}
		times[i] = t
	}
	return times, nil
}

// Interface is one entry of virDomainInterfaceAddresses.
type Interface struct {
	Name  string // the host-side device: "tap" + the port ID's first 11 characters, as Nova's libvirt driver names it
	MAC   string
	Addrs []IPAddr
}

// IPAddr is one address of an Interface.
type IPAddr struct {
	IPv6   bool
	Addr   string
	Prefix uint32 // 0 when unknown (as libvirt's ARP source reports)
}

// InterfaceAddresses answers virDomainInterfaceAddresses. The cloud's DHCP
// is Neutron's, so the lease source gives each port's fixed IPs (from Nova)
// with their subnets' prefix lengths (from Neutron); the ARP source gives
// the same addresses without prefix, as libvirt's does; there is no guest
// agent to ask. As qemu's driver, a domain that does not run is refused.
func (h *Driver) InterfaceAddresses(ctx context.Context, u virt.UUID, source, flags uint32) ([]Interface, error) {
	if flags != 0 {
		return nil, virt.InvalidArg(from, fmt.Sprintf("unsupported flags (0x%x) in function qemuDomainInterfaceAddresses", flags))
	}
	n, d, err := h.find(ctx, u)
	if err != nil {
		return nil, err
	}
	if !d.State.Active() {
		return nil, NotRunning()
	}
	// The lease source is the network's DHCP leases: Neutron's fixed IPs;
	// the ARP source the host's ARP table: the same addresses, no prefix;
	// the agent source the guest agent, which a cloud server has none of
	// for us.
	switch source {
	case virt.AddrSourceLease, virt.AddrSourceARP:
	case virt.AddrSourceAgent:
		return nil, virt.ArgumentUnsupported(from, "QEMU guest agent is not configured")
	default:
		return nil, virt.ArgumentUnsupported(from, fmt.Sprintf("Unknown IP address data source %d", source))
	}
	facts, err := h.inv.PortFacts(ctx, n.ID)
	if err != nil {
		return nil, FromNodes(err)
	}
	var out []Interface
	for i, p := range n.Ports {
		// The L2 placeholder subnet's addresses are the cloud's bookkeeping,
		// never configured in a guest (neutron.L2SubnetCIDR).
		ips := slices.DeleteFunc(slices.Clone(p.FixedIPs), func(ip nodes.IP) bool { return neutron.InL2Subnet(ip.Addr) })
		if len(ips) == 0 {
			continue // no lease: libvirt lists only interfaces it has addresses for
		}
		f := facts[p.MAC]
		ifc := Interface{Name: fmt.Sprintf("net%d", i), MAC: p.MAC}
		if len(f.ID) >= 11 {
			ifc.Name = "tap" + f.ID[:11]
		}
		for _, ip := range ips {
			a := IPAddr{IPv6: ip.Version == 6, Addr: ip.Addr}
			if source == virt.AddrSourceLease {
				a.Prefix = uint32(f.Prefixes[ip.Addr])
			}
			ifc.Addrs = append(ifc.Addrs, a)
		}
		out = append(out, ifc)
	}
	return out, nil
}
