package network

import (
	"context"
	"net/netip"
	"strings"

	"quintupleo/nodes/neutron"
	"quintupleo/virt"
)

// Lease is one DHCP lease (virNetworkDHCPLease).
type Lease struct {
	MAC    string
	IP     string
	Prefix int
}

// DHCPLeases is virNetworkGetDHCPLeases. Neutron's DHCP hands each port
// the fixed IP Neutron allocated it, for as long as the port exists, so
// the leases are the ports' fixed IPs on the network's DHCP-enabled
// subnets (none when no subnet has DHCP on: nothing answers DHCP then).
// They never expire (expiry 0). mac, when not empty, keeps that MAC's.
func (d *Driver) DHCPLeases(ctx context.Context, u virt.UUID, mac string) ([]Lease, error) {
	n, err := d.LookupByUUID(ctx, u)
	if err != nil {
		return nil, err
	}
	dhcp := map[string]int{} // subnet ID → prefix length
	for _, s := range n.Cloud.Subnets {
		if p, err := netip.ParsePrefix(s.CIDR); err == nil && s.DHCP {
			dhcp[s.ID] = p.Bits()
		}
	}
	if len(dhcp) == 0 {
		return nil, nil
	}
	ports, err := d.cloud.Ports(ctx, n.Cloud.ID)
	if err != nil {
		return nil, fromCloud(err)
	}
	return leasesOf(ports, dhcp, mac), nil
}

func leasesOf(ports []neutron.Port, dhcp map[string]int, mac string) []Lease {
	var out []Lease
	for _, p := range ports {
		if mac != "" && !strings.EqualFold(p.MAC, mac) {
			continue
		}
		for _, ip := range p.FixedIPs {
			if bits, ok := dhcp[ip.SubnetID]; ok {
				out = append(out, Lease{MAC: p.MAC, IP: ip.IP, Prefix: bits})
			}
		}
	}
	return out
}
