package network

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"

	"libvirt.org/go/libvirtxml"

	"quintupleo/nodes/neutron"
	"quintupleo/virt"
)

// spec is what a net-define or net-create XML asks the cloud for.
type spec struct {
	name    string
	uuid    *virt.UUID
	subnets []neutron.SubnetSpec // NetworkID left empty
	ignored []string             // host-bridge details a cloud network has no use for
}

// forwardModes are libvirt's forward modes (virNetworkForwardType).
var forwardModes = []string{"nat", "route", "open", "bridge", "private", "vepa", "passthrough", "hostdev"}

// parseXML reads network XML with libvirtxml after checking it is
// well-formed, and refuses, before anything is created, what a cloud
// network cannot honour.
func parseXML(s string) (spec, error) {
	if err := virt.CheckXML(s, "(network_definition)", virt.FromNetwork); err != nil {
		return spec{}, err
	}
	if err := wellFormed(s); err != nil {
		return spec{}, err
	}
	var def libvirtxml.Network
	if err := def.Unmarshal(s); err != nil {
		return spec{}, virt.XMLError(virt.FromNetwork, err.Error(), err)
	}
	if def.Name == "" {
		return spec{}, virt.NoName(virt.FromNetwork)
	}
	if strings.Contains(def.Name, "/") {
		return spec{}, virt.XMLDetail(virt.FromXML, "invalid char in name: /", nil)
	}
	if virt.SanitizeName(def.Name, "") != def.Name {
		return spec{}, virt.ConfigUnsupported(virt.FromNetwork, fmt.Sprintf("network name '%s' cannot be kept in the cloud: "+
			"names are shell-safe ([A-Za-z0-9_.+-], not starting with '-' or '.')", def.Name))
	}
	sp := spec{name: def.Name}
	if def.UUID != "" {
		u, ok := virt.ParseUUID(def.UUID)
		if !ok {
			return spec{}, virt.Internal(virt.FromNetwork, "malformed uuid element", nil)
		}
		sp.uuid = &u
	}
	if err := checkForward(def.Forward); err != nil {
		return spec{}, err
	}
	if refused := unsupportedParts(&def); len(refused) > 0 {
		return spec{}, virt.ConfigUnsupported(virt.FromNetwork, fmt.Sprintf("%s of network '%s' cannot be honoured by a cloud network",
			strings.Join(refused, ", "), def.Name))
	}
	for _, ip := range def.IPs {
		sn, err := subnetOf(def.Name, ip)
		if err != nil {
			return spec{}, err
		}
		sp.subnets = append(sp.subnets, sn)
	}
	if def.Bridge != nil {
		sp.ignored = append(sp.ignored, "bridge")
	}
	if def.VirtualPort != nil {
		sp.ignored = append(sp.ignored, "virtualport")
	}
	if def.MAC != nil {
		sp.ignored = append(sp.ignored, "mac")
	}
	return sp, nil
}

// wellFormed rejects XML that is not well-formed, or whose root is not
// <network>, with libvirt's error codes.
func wellFormed(s string) error {
	d := xml.NewDecoder(strings.NewReader(s))
	depth, root := 0, ""
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		var syn *xml.SyntaxError
		if errors.As(err, &syn) {
			return virt.XMLDetail(virt.FromNetwork, fmt.Sprintf("(network_definition):%d: %s", syn.Line, syn.Msg), err)
		}
		if err != nil {
			return virt.XMLDetail(virt.FromNetwork, "(network_definition): "+err.Error(), err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 && root == "" {
				root = t.Name.Local
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
	if root == "" {
		return virt.XMLDetail(virt.FromNetwork, "(network_definition):1: Document is empty", nil)
	}
	if root != "network" {
		return virt.XMLError(virt.FromXML, fmt.Sprintf("expecting root element of 'network', not '%s'", root), nil)
	}
	return nil
}

// checkForward accepts no <forward> (an isolated network) and mode='bridge'
// (an L2 segment the host neither routes nor serves: what every Neutron
// network is to this host, and what devtest's brbm asks for). NAT and
// routing by the host, and the direct-device modes, cannot be honoured.
func checkForward(f *libvirtxml.NetworkForward) error {
	if f == nil {
		return nil
	}
	mode := f.Mode
	if mode == "" {
		mode = "nat" // libvirt's default for <forward/>
	}
	if !slices.Contains(forwardModes, mode) {
		return virt.ConfigUnsupported(virt.FromNetwork, fmt.Sprintf("unknown forwarding type '%s'", mode))
	}
	if mode != "bridge" {
		return virt.ConfigUnsupported(virt.FromNetwork, fmt.Sprintf("forward mode '%s' cannot be honoured by a cloud network: "+
			"the host does not forward a Neutron network's traffic; leave <forward> out or use mode='bridge'", mode))
	}
	return nil
}

// unsupportedParts names the elements a cloud network cannot honour.
func unsupportedParts(def *libvirtxml.Network) []string {
	var out []string
	add := func(present bool, name string) {
		if present {
			out = append(out, name)
		}
	}
	add(def.MTU != nil, "<mtu>")
	add(def.Domain != nil, "<domain>")
	add(def.DNS != nil, "<dns>")
	add(def.VLAN != nil, "<vlan>")
	add(def.Bandwidth != nil, "<bandwidth>")
	add(def.PortOptions != nil, "<port>")
	add(len(def.Routes) > 0, "<route>")
	add(len(def.PortGroups) > 0, "<portgroup>")
	add(def.DnsmasqOptions != nil, "<dnsmasq:options>")
	for _, ip := range def.IPs {
		add(ip.TFTP != nil, "<tftp>")
		if ip.DHCP != nil {
			add(len(ip.DHCP.Hosts) > 0, "<dhcp><host>")
			add(len(ip.DHCP.Bootp) > 0, "<dhcp><bootp>")
		}
	}
	return slices.Compact(out)
}

// subnetOf is the Neutron subnet of one <ip>: its address is the gateway
// (unless it is the network address: no gateway), DHCP is on exactly when
// <dhcp> is there, each <range> an allocation pool.
func subnetOf(network string, ip libvirtxml.NetworkIP) (neutron.SubnetSpec, error) {
	bad := func(why string) (neutron.SubnetSpec, error) {
		return neutron.SubnetSpec{}, virt.ConfigUnsupported(virt.FromNetwork, fmt.Sprintf("<ip address='%s'> of network '%s': %s", ip.Address, network, why))
	}
	if ip.Family != "" && ip.Family != "ipv4" {
		return bad("only IPv4 subnets are created")
	}
	addr, err := netip.ParseAddr(ip.Address)
	if err != nil || !addr.Is4() {
		return bad("not an IPv4 address")
	}
	bits := int(ip.Prefix)
	if ip.Netmask != "" {
		if bits, err = maskBits(ip.Netmask); err != nil {
			return bad(err.Error())
		}
	}
	if bits <= 0 || bits > 30 {
		return bad("needs a netmask or prefix between 1 and 30")
	}
	pfx := netip.PrefixFrom(addr, bits).Masked()
	sn := neutron.SubnetSpec{Name: network, CIDR: pfx.String(), DHCP: ip.DHCP != nil}
	if addr != pfx.Addr() {
		sn.Gateway = addr.String()
	}
	if ip.DHCP != nil {
		for _, r := range ip.DHCP.Ranges {
			sn.Pools = append(sn.Pools, neutron.Pool{Start: r.Start, End: r.End})
		}
	}
	return sn, nil
}

func maskBits(mask string) (int, error) {
	a, err := netip.ParseAddr(mask)
	if err != nil || !a.Is4() {
		return 0, fmt.Errorf("bad netmask '%s'", mask)
	}
	b := a.As4()
	m := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	bits := 0
	for m&(1<<31) != 0 {
		bits++
		m <<= 1
	}
	if m != 0 {
		return 0, fmt.Errorf("bad netmask '%s'", mask)
	}
	return bits, nil
}
