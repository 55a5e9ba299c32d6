package conformance_test

import (
	"net/http"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
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
