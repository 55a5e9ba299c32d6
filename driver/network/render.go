package network

import (
	"fmt"
	"net/netip"
	"strings"

	"quintupleo/nodes/neutron"
)

// renderXML is n's network XML as libvirt writes it (two-space indent,
// single-quoted attributes, libvirt's element order), derived from the
// Neutron network and its subnets:
//
//   - no <forward>: a Neutron network is not NATed or routed by this host,
//     which is what libvirt's isolated network (no <forward>) says; a
//     router the cloud may attach is the cloud's, not the host's;
//   - no <bridge>: there is no bridge on this host (BridgeName is empty);
//   - <mtu> when Neutron's MTU is not the Ethernet default 1500 (overlay
//     networks have 1450 or so, which guests must use);
//   - one <ip> per subnet: the gateway as the address (a subnet without
//     one shows the network address), netmask for IPv4, prefix for IPv6;
//     <dhcp> with one <range> per allocation pool when Neutron's DHCP is on;
//     the L2 placeholder subnet of a network defined without <ip> is not
//     one (neutron.L2SubnetName).
func renderXML(n Network) string {
	var b strings.Builder
	b.WriteString("<network>\n")
	fmt.Fprintf(&b, "  <name>%s</name>\n", escapeText(n.Name))
	fmt.Fprintf(&b, "  <uuid>%s</uuid>\n", n.UUID)
	if n.Cloud.MTU > 0 && n.Cloud.MTU != 1500 {
		fmt.Fprintf(&b, "  <mtu size='%d'/>\n", n.Cloud.MTU)
	}
	for _, s := range n.Cloud.Subnets {
		if s.Name == neutron.L2SubnetName && s.CIDR == neutron.L2SubnetCIDR {
			continue // ours, for Nova; the network was defined without <ip>
		}
		writeIP(&b, s)
	}
	b.WriteString("</network>\n")
	return b.String()
}

func writeIP(b *strings.Builder, s neutron.Subnet) {
	pfx, err := netip.ParsePrefix(s.CIDR)
	if err != nil {
		return // Neutron validated it; nothing sensible to show otherwise
	}
	addr := pfx.Masked().Addr().String()
	if s.Gateway != "" {
		addr = s.Gateway
	}
	if pfx.Addr().Is4() {
		fmt.Fprintf(b, "  <ip address='%s' netmask='%s'>\n", addr, netmask(pfx.Bits()))
	} else {
		fmt.Fprintf(b, "  <ip family='ipv6' address='%s' prefix='%d'>\n", addr, pfx.Bits())
	}
	if s.DHCP {
		b.WriteString("    <dhcp>\n")
		for _, p := range s.Pools {
			fmt.Fprintf(b, "      <range start='%s' end='%s'/>\n", p.Start, p.End)
		}
		b.WriteString("    </dhcp>\n")
	}
	// libvirt writes an <ip> without children open and closed on two lines.
	b.WriteString("  </ip>\n")
}

// netmask is the dotted IPv4 netmask of a prefix length.
func netmask(bits int) string {
	m := ^uint32(0) << (32 - bits)
	if bits == 0 {
		m = 0
	}
	return fmt.Sprintf("%d.%d.%d.%d", byte(m>>24), byte(m>>16), byte(m>>8), byte(m))
}

func escapeText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
