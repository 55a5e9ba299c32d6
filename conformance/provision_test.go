package conformance_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
)

// TestServerCreateNetworksAndErrors: what provisioning needs from Nova and
// Neutron beyond the lifecycle: a server on a network (Nova makes the port
// and deletes it with the server), the refusals of a create (unknown
// flavor, image, network, port) leaving the cloud with nothing new, and a
// second port with a MAC already on the network.
func TestServerCreateNetworksAndErrors(t *testing.T) {
	h := newHarness(t, false)
	ctx := t.Context()
	c := h.cloud.Compute
	fx := h.fixture()
	const name = "conf-net"
	h.cleanup(name)

	var s *servers.Server
	h.must("server create on a network", func() (err error) {
		s, err = servers.Create(ctx, c, servers.CreateOpts{Name: name, FlavorRef: fx.flavor, ImageRef: fx.image,
			Networks: []servers.Network{{UUID: fx.network}}}, nil).Extract()
		return err
	})
	h.sequence("server create on a network", s.ID, settled("ACTIVE"))
	var made []ports.Port
	h.must("ports by device_id of a server on a network", func() error {
		pages, err := ports.List(h.cloud.Network, ports.ListOpts{DeviceID: s.ID}).AllPages(ctx)
		if err == nil {
			made, _ = ports.ExtractPorts(pages)
			h.fact("Nova made one port, owned compute:nova", len(made) == 1 && made[0].DeviceOwner == "compute:nova")
		}
		return err
	})
	h.must("server delete", func() error { return servers.Delete(ctx, c, s.ID).ExtractErr() })
	h.sequence("server delete", s.ID, nil)
	if len(made) == 1 {
		h.expect("port Nova made, after server delete", http.StatusNotFound, func() error {
			return ports.Get(ctx, h.cloud.Network, made[0].ID).Err
		})
	}

	create := func(opts servers.CreateOpts) func() error {
		return func() error {
			opts.Name = name
			if opts.Networks == nil {
				opts.Networks = "none"
			}
			return servers.Create(ctx, c, opts, nil).Err
		}
	}
	h.expect("server create unknown flavor", http.StatusBadRequest, create(servers.CreateOpts{FlavorRef: unknownID, ImageRef: fx.image}))
	h.expect("server create unknown image", http.StatusBadRequest, create(servers.CreateOpts{FlavorRef: fx.flavor, ImageRef: unknownID}))
	h.expect("server create unknown network", http.StatusBadRequest, create(servers.CreateOpts{FlavorRef: fx.flavor, ImageRef: fx.image,
		Networks: []servers.Network{{UUID: unknownID}}}))
	h.expect("server create unknown port", http.StatusBadRequest, create(servers.CreateOpts{FlavorRef: fx.flavor, ImageRef: fx.image,
		Networks: []servers.Network{{Port: unknownID}}}))
	h.must("servers after the refused creates", func() error {
		pages, err := servers.List(c, servers.ListOpts{Name: "^" + name + "$"}).AllPages(ctx)
		if err == nil {
			ss, _ := servers.ExtractServers(pages)
			h.fact("servers after the refused creates", len(ss))
		}
		return err
	})
	h.expect("port create with a MAC in use on the network", http.StatusConflict, func() error {
		return ports.Create(ctx, h.cloud.Network, ports.CreateOpts{NetworkID: fx.network, Name: name + "-port",
			MACAddress: "52:54:00:00:00:01"}).Err
	})
}

// TestServerOnNetworkWithoutSubnet: a port on a network without a subnet
// (devtest's brbm) has no fixed IP, and Nova refuses to boot a server on
// it ("requires a FixedIP"), also when the port was made with fixed_ips []
// (Neutron's unaddressed port), since this cloud does not show
// ip_allocation (no segments plugin), which is what Nova checks. With a
// DHCP-off subnet without gateway on the network (quintupleo's L2
// placeholder) the port has an address and the server boots; its
// addresses show the port with its MAC. The network, subnet and ports are
// made and deleted unrecorded (their bodies are Neutron's, not what this
// holds the sim to).
func TestServerOnNetworkWithoutSubnet(t *testing.T) {
	h := newHarness(t, false)
	ctx := t.Context()
	c, nc := h.cloud.Compute, h.cloud.Network
	fx := h.fixture()
	const name = "conf-l2"
	h.cleanup(name)
	if pages, err := networks.List(nc, networks.ListOpts{Name: name}).AllPages(ctx); err == nil {
		ns, _ := networks.ExtractNetworks(pages)
		for _, n := range ns { // left by an earlier run
			networks.Delete(ctx, nc, n.ID)
		}
	}
	net, err := networks.Create(ctx, nc, networks.CreateOpts{Name: name}).Extract()
	if err != nil {
		t.Fatalf("network create: %v", err)
	}
	newPort := func(opts ports.CreateOpts) (id, ipAllocation string) {
		t.Helper()
		opts.NetworkID, opts.Name = net.ID, name+"-port"
		var port struct { // ExtractInto reads the body's "port"
			ID           string  `json:"id"`
			IPAllocation *string `json:"ip_allocation"`
		}
		if err := ports.Create(ctx, nc, opts).ExtractInto(&port); err != nil {
			t.Fatalf("port create: %v", err)
		}
		if port.IPAllocation == nil {
			return port.ID, "(not shown)"
		}
		return port.ID, *port.IPAllocation
	}
	boot := func(port string) servers.CreateOpts {
		return servers.CreateOpts{Name: name, FlavorRef: fx.flavor, ImageRef: fx.image, Networks: []servers.Network{{Port: port}}}
	}
	plain, alloc := newPort(ports.CreateOpts{})
	h.fact("ip_allocation of a port on a network without a subnet", alloc)
	h.expect("server create on a port without a fixed IP", http.StatusBadRequest, func() error {
		return servers.Create(ctx, c, boot(plain), nil).Err
	})
	unaddressed, alloc := newPort(ports.CreateOpts{FixedIPs: []ports.IP{}})
	h.fact("ip_allocation of a port made with fixed_ips []", alloc)
	h.expect("server create on a port made with fixed_ips []", http.StatusBadRequest, func() error {
		return servers.Create(ctx, c, boot(unaddressed), nil).Err
	})
	for _, id := range []string{plain, unaddressed} {
		if err := ports.Delete(ctx, nc, id).ExtractErr(); err != nil {
			t.Errorf("port delete: %v", err)
		}
	}

	noGateway, dhcp := "", false
	if _, err := subnets.Create(ctx, nc, subnets.CreateOpts{NetworkID: net.ID, Name: name, CIDR: "198.18.0.0/15",
		IPVersion: 4, GatewayIP: &noGateway, EnableDHCP: &dhcp}).Extract(); err != nil {
		t.Fatalf("subnet create: %v", err)
	}
	addressed, _ := newPort(ports.CreateOpts{MACAddress: "00:d6:4e:2a:5b:10"})
	var s *servers.Server
	h.must("server create on a port of a DHCP-off subnet", func() (err error) {
		s, err = servers.Create(ctx, c, boot(addressed), nil).Extract()
		return err
	})
	s = h.sequence("server create on a port of a DHCP-off subnet", s.ID, settled("ACTIVE"))
	var macs []string
	for _, entries := range s.Addresses {
		for _, e := range entries.([]any) {
			m, _ := e.(map[string]any)
			macs = append(macs, fmt.Sprint(m["OS-EXT-IPS-MAC:mac_addr"]))
		}
	}
	h.fact("MACs in the addresses of a server on a DHCP-off subnet", macs)
	h.must("server delete", func() error { return servers.Delete(ctx, c, s.ID).ExtractErr() })
	h.sequence("server delete", s.ID, nil)
	if err := ports.Delete(ctx, nc, addressed).ExtractErr(); err != nil {
		t.Errorf("port delete: %v", err)
	}
	if err := networks.Delete(ctx, nc, net.ID).ExtractErr(); err != nil {
		t.Errorf("network delete: %v", err)
	}
}
