package conformance_test

import (
	"context"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/pagination"
)

// divergences are the documented differences between cloudsim and real Nova
// that the comparison accepts ("label|request|json.path", or "*|json.path"
// for every step). Each one is justified in docs/cloudsim.md, section
// "Divergences from real Nova".
var divergences = map[string]string{}

const unknownID = "00000000-0000-4000-8000-000000000000"

// TestAuthAndTokenReuse: one password authentication, then every service
// call rides the same token.
func TestAuthAndTokenReuse(t *testing.T) {
	h := newHarness(t, true)
	h.must("authenticate", func() error { h.connect(); return nil })
	ctx := t.Context()
	h.must("servers detail", func() error {
		_, err := servers.List(h.cloud.Compute, servers.ListOpts{Name: "^node-"}).AllPages(ctx)
		return err
	})
	h.must("server show", func() error {
		pages, err := servers.List(h.cloud.Compute, servers.ListOpts{Name: "^node-0$"}).AllPages(ctx)
		if err != nil {
			return err
		}
		ss, err := servers.ExtractServers(pages)
		if err != nil || len(ss) != 1 {
			t.Fatalf("node-0: %d servers, %v", len(ss), err)
		}
		return servers.Get(ctx, h.cloud.Compute, ss[0].ID).Err
	})
	h.must("ports by name", func() error {
		_, err := ports.List(h.cloud.Network, ports.ListOpts{Name: "node-0-port"}).AllPages(ctx)
		return err
	})
	h.must("images by name", func() error {
		_, err := images.List(h.cloud.Image, images.ListOpts{Name: "ipxe-boot"}).AllPages(ctx)
		return err
	})

	posts, tokens := 0, map[string]bool{}
	for _, x := range h.rt.all() {
		if x.method == http.MethodPost && strings.HasSuffix(x.url, "/auth/tokens") {
			posts++
			continue
		}
		tokens[x.token] = true
	}
	if posts != 1 || len(tokens) != 1 || tokens[""] {
		t.Errorf("%d authentications and tokens %v; want one authentication and one token on every call", posts, tokens)
	}
	h.fact("authentications", posts)
	h.fact("distinct tokens", len(tokens))
}

// TestServersListPagination: servers/detail and servers walked with a small
// limit, as the inventory does with EachPage.
func TestServersListPagination(t *testing.T) {
	h := newHarness(t, false)
	ctx := t.Context()
	walk := func(label string, pager pagination.Pager) (sizes []int, names []string) {
		h.must(label, func() error {
			return pager.EachPage(ctx, func(_ context.Context, p pagination.Page) (bool, error) {
				ss, err := servers.ExtractServers(p)
				sizes = append(sizes, len(ss))
				for _, s := range ss {
					names = append(names, s.Name)
				}
				return true, err
			})
		})
		sort.Strings(names)
		return sizes, names
	}
	want := []string{"node-0", "node-1", "node-2", "node-3", "node-4"}
	for _, c := range []struct {
		label string
		pager pagination.Pager
	}{
		{"servers detail limit=2", servers.List(h.cloud.Compute, servers.ListOpts{Name: "^node-", Limit: 2})},
		{"servers summary limit=2", servers.ListSimple(h.cloud.Compute, servers.ListOpts{Name: "^node-", Limit: 2})},
		{"servers detail unlimited", servers.List(h.cloud.Compute, servers.ListOpts{Name: "^node-"})},
		{"servers detail limit=5", servers.List(h.cloud.Compute, servers.ListOpts{Name: "^node-", Limit: 5})},
	} {
		sizes, names := walk(c.label, c.pager)
		if !slices.Equal(names, want) {
			t.Errorf("%s: names %q, want %q (is the fixture nodes.sh 5?)", c.label, names, want)
		}
		h.fact(c.label+" page sizes", sizes)
	}
	h.expect("servers detail bad marker", http.StatusBadRequest, func() error {
		_, err := servers.List(h.cloud.Compute, servers.ListOpts{Marker: unknownID}).AllPages(ctx)
		return err
	})
}

// TestChangesSince: the inventory's incremental refresh, including servers
// deleted since.
func TestChangesSince(t *testing.T) {
	h := newHarness(t, false)
	ctx := t.Context()
	fx := h.fixture()
	const name = "conf-cs"
	h.cleanup(name)

	p, err := ports.Create(ctx, h.cloud.Network, ports.CreateOpts{NetworkID: fx.network, Name: name + "-port", MACAddress: uniqueMAC()}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	s, err := servers.Create(ctx, h.cloud.Compute, servers.CreateOpts{Name: name, FlavorRef: fx.flavor, ImageRef: fx.image,
		Networks: []servers.Network{{Port: p.ID}}}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	created := h.sequence("create (unrecorded)", s.ID, settled("ACTIVE"))
	delete(h.rec.Sequences, "create (unrecorded)")
	since := created.Created.UTC().Format(time.RFC3339)

	list := func(label string, opts servers.ListOpts) []servers.Server {
		var out []servers.Server
		h.must(label, func() error {
			return servers.List(h.cloud.Compute, opts).EachPage(ctx, func(_ context.Context, p pagination.Page) (bool, error) {
				ss, err := servers.ExtractServers(p)
				out = append(out, ss...)
				return true, err
			})
		})
		return out
	}
	got := list("changes-since", servers.ListOpts{Name: "^" + name + "$", ChangesSince: since})
	h.fact("changes-since lists the new server", len(got) == 1 && got[0].ID == s.ID)

	h.must("delete", func() error { return servers.Delete(ctx, h.cloud.Compute, s.ID).ExtractErr() })
	h.sequence("delete", s.ID, nil)

	got = list("changes-since after delete", servers.ListOpts{Name: "^" + name + "$", ChangesSince: since})
	var states []string
	for _, g := range got {
		states = append(states, g.Status+"/"+g.VmState)
	}
	h.fact("changes-since after delete", states)
	got = list("changes-since limit=1 after delete", servers.ListOpts{Name: "^" + name + "$", ChangesSince: since, Limit: 1})
	h.fact("changes-since limit=1 after delete finds", len(got))
	got = list("plain list after delete", servers.ListOpts{Name: "^" + name + "$"})
	h.fact("plain list after delete finds", len(got))
	got = list("changes-since in the future", servers.ListOpts{Name: "^" + name + "$", ChangesSince: time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)})
	h.fact("changes-since in the future finds", len(got))
	h.expect("changes-since malformed", http.StatusBadRequest, func() error {
		_, err := servers.List(h.cloud.Compute, servers.ListOpts{ChangesSince: "yesterday"}).AllPages(ctx)
		return err
	})
}

// TestServerLifecycle: create with a pre-created port carrying a chosen MAC,
// then every action quintupleo (and its boot-device strategies) uses, the
// 409s of each state, metadata, rescue, rebuild, delete and the 404s after.
func TestServerLifecycle(t *testing.T) {
	h := newHarness(t, false)
	ctx := t.Context()
	c := h.cloud.Compute
	fx := h.fixture()
	const name = "conf-life"
	h.cleanup(name)
	mac := uniqueMAC()

	var p *ports.Port
	h.must("port create with MAC", func() (err error) {
		p, err = ports.Create(ctx, h.cloud.Network, ports.CreateOpts{NetworkID: fx.network, Name: name + "-port", MACAddress: mac}).Extract()
		return err
	})
	var s *servers.Server
	h.must("server create with port", func() (err error) {
		s, err = servers.Create(ctx, c, servers.CreateOpts{Name: name, FlavorRef: fx.flavor, ImageRef: fx.image,
			Networks: []servers.Network{{Port: p.ID}}}, nil).Extract()
		return err
	})
	id := s.ID
	h.sequence("create", id, settled("ACTIVE"))
	h.must("show ACTIVE", func() error {
		got, err := servers.Get(ctx, c, id).Extract()
		if err == nil {
			var macs []string
			for _, as := range got.Addresses {
				l, _ := as.([]any)
				for _, a := range l {
					m, _ := a.(map[string]any)
					if v, ok := m["OS-EXT-IPS-MAC:mac_addr"].(string); ok {
						macs = append(macs, lower(v))
					}
				}
			}
			h.fact("addresses carry the port's MAC", slices.Contains(macs, mac))
		}
		return err
	})
	h.must("ports by device_id", func() error {
		pages, err := ports.List(h.cloud.Network, ports.ListOpts{DeviceID: id}).AllPages(ctx)
		if err == nil {
			ps, _ := ports.ExtractPorts(pages)
			h.fact("ports by device_id", len(ps))
		}
		return err
	})
	h.must("ports by mac_address", func() error {
		pages, err := ports.List(h.cloud.Network, ports.ListOpts{MACAddress: mac}).AllPages(ctx)
		if err == nil {
			ps, _ := ports.ExtractPorts(pages)
			h.fact("ports by mac_address bound to the server", len(ps) == 1 && ps[0].DeviceID == id)
		}
		return err
	})

	start := func() error { return servers.Start(ctx, c, id).ExtractErr() }
	stop := func() error { return servers.Stop(ctx, c, id).ExtractErr() }
	reboot := func(typ servers.RebootMethod) func() error {
		return func() error { return servers.Reboot(ctx, c, id, servers.RebootOpts{Type: typ}).ExtractErr() }
	}
	rebuild := func() error {
		return servers.Rebuild(ctx, c, id, servers.RebuildOpts{ImageRef: fx.image}).Err
	}
	action := func(label string, f func() error, want string) {
		t.Helper()
		h.must(label, f)
		h.sequence(label, id, settled(want))
	}

	h.expect("os-start on ACTIVE", http.StatusConflict, start)
	action("os-stop", stop, "SHUTOFF")
	h.expect("os-stop on SHUTOFF", http.StatusConflict, stop)
	h.expect("reboot SOFT on SHUTOFF", http.StatusConflict, reboot(servers.SoftReboot))
	action("reboot HARD on SHUTOFF", reboot(servers.HardReboot), "ACTIVE")
	action("os-stop again", stop, "SHUTOFF")
	action("os-start", start, "ACTIVE")
	action("reboot SOFT", reboot(servers.SoftReboot), "ACTIVE")
	action("reboot HARD", reboot(servers.HardReboot), "ACTIVE")

	// Metadata: quintupleo's boot device lives in libvirt:pxe-first.
	h.must("metadata item put", func() error {
		return servers.CreateMetadatum(ctx, c, id, servers.MetadatumOpts{"libvirt:pxe-first": "1"}).Err
	})
	h.must("metadata post merge", func() error {
		return servers.UpdateMetadata(ctx, c, id, servers.MetadataOpts{"owner": "conformance"}).Err
	})
	h.must("metadata list", func() error {
		md, err := servers.Metadata(ctx, c, id).Extract()
		h.fact("metadata after put and merge", md)
		return err
	})
	h.must("metadata item get", func() error { return servers.Metadatum(ctx, c, id, "libvirt:pxe-first").Err })
	h.must("metadata item delete", func() error { return servers.DeleteMetadatum(ctx, c, id, "libvirt:pxe-first").ExtractErr() })
	h.expect("metadata item get missing", http.StatusNotFound, func() error {
		return servers.Metadatum(ctx, c, id, "libvirt:pxe-first").Err
	})
	h.expect("metadata item delete missing", http.StatusNotFound, func() error {
		return servers.DeleteMetadatum(ctx, c, id, "libvirt:pxe-first").ExtractErr()
	})
	h.must("show with metadata", func() error { return servers.Get(ctx, c, id).Err })

	// Rescue refuses metadata writes and power actions.
	action("rescue", func() error { return servers.Rescue(ctx, c, id, servers.RescueOpts{}).Err }, "RESCUE")
	h.must("show RESCUE", func() error { return servers.Get(ctx, c, id).Err })
	h.expect("metadata item put while rescued", http.StatusConflict, func() error {
		return servers.CreateMetadatum(ctx, c, id, servers.MetadatumOpts{"libvirt:pxe-first": "1"}).Err
	})
	h.expect("metadata post while rescued", http.StatusConflict, func() error {
		return servers.UpdateMetadata(ctx, c, id, servers.MetadataOpts{"x": "y"}).Err
	})
	h.expect("metadata put all while rescued", http.StatusConflict, func() error {
		return servers.ResetMetadata(ctx, c, id, servers.MetadataOpts{}).Err
	})
	h.expect("metadata delete while rescued", http.StatusConflict, func() error {
		return servers.DeleteMetadatum(ctx, c, id, "owner").ExtractErr()
	})
	h.must("metadata get while rescued", func() error { return servers.Metadata(ctx, c, id).Err })
	h.expect("os-stop while rescued", http.StatusConflict, stop)
	h.expect("os-start while rescued", http.StatusConflict, start)
	h.expect("reboot HARD while rescued", http.StatusConflict, reboot(servers.HardReboot))
	h.expect("rescue while rescued", http.StatusConflict, func() error { return servers.Rescue(ctx, c, id, servers.RescueOpts{}).Err })
	h.expect("rebuild while rescued", http.StatusConflict, rebuild)
	action("unrescue", func() error { return servers.Unrescue(ctx, c, id).ExtractErr() }, "ACTIVE")
	h.expect("unrescue on ACTIVE", http.StatusConflict, func() error { return servers.Unrescue(ctx, c, id).ExtractErr() })

	action("rebuild", rebuild, "ACTIVE")
	h.must("show after rebuild", func() error { return servers.Get(ctx, c, id).Err })
	action("os-stop before rebuild", stop, "SHUTOFF")
	action("rebuild while SHUTOFF", rebuild, "SHUTOFF")
	action("rescue from SHUTOFF", func() error { return servers.Rescue(ctx, c, id, servers.RescueOpts{}).Err }, "RESCUE")
	action("unrescue after rescue from SHUTOFF", func() error { return servers.Unrescue(ctx, c, id).ExtractErr() }, "ACTIVE")

	h.must("delete", func() error { return servers.Delete(ctx, c, id).ExtractErr() })
	h.sequence("delete", id, nil)
	h.expect("show deleted", http.StatusNotFound, func() error { return servers.Get(ctx, c, id).Err })
	h.expect("os-stop deleted", http.StatusNotFound, stop)
	h.must("port after server delete", func() error {
		got, err := ports.Get(ctx, h.cloud.Network, p.ID).Extract()
		if err == nil {
			h.fact("port kept, device_id cleared", got.DeviceID == "")
		}
		return err
	})
	h.must("port delete", func() error { return ports.Delete(ctx, h.cloud.Network, p.ID).ExtractErr() })
}

// TestNotFound: unknown servers, flavors, images and ports.
func TestNotFound(t *testing.T) {
	h := newHarness(t, false)
	ctx := t.Context()
	c := h.cloud.Compute
	h.expect("server show unknown", http.StatusNotFound, func() error { return servers.Get(ctx, c, unknownID).Err })
	h.expect("os-start unknown", http.StatusNotFound, func() error { return servers.Start(ctx, c, unknownID).ExtractErr() })
	h.expect("os-stop unknown", http.StatusNotFound, func() error { return servers.Stop(ctx, c, unknownID).ExtractErr() })
	h.expect("reboot unknown", http.StatusNotFound, func() error {
		return servers.Reboot(ctx, c, unknownID, servers.RebootOpts{Type: servers.HardReboot}).ExtractErr()
	})
	h.expect("metadata item put unknown", http.StatusNotFound, func() error {
		return servers.CreateMetadatum(ctx, c, unknownID, servers.MetadatumOpts{"k": "v"}).Err
	})
	h.expect("flavor show unknown", http.StatusNotFound, func() error { return flavors.Get(ctx, c, unknownID).Err })
	h.expect("image show unknown", http.StatusNotFound, func() error { return images.Get(ctx, h.cloud.Image, unknownID).Err })
	h.expect("port show unknown", http.StatusNotFound, func() error { return ports.Get(ctx, h.cloud.Network, unknownID).Err })
}

// TestFlavorsImagesNetworks: the fixture's flavor, image and network as the
// API shows them.
func TestFlavorsImagesNetworks(t *testing.T) {
	h := newHarness(t, false)
	ctx := t.Context()
	fx := h.fixture()
	h.must("flavors detail", func() error { _, err := flavors.ListDetail(h.cloud.Compute, nil).AllPages(ctx); return err })
	h.must("flavor show baremetal", func() error {
		f, err := flavors.Get(ctx, h.cloud.Compute, fx.flavor).Extract()
		if err == nil {
			h.fact("baremetal vcpus/ram/disk", []int{f.VCPUs, f.RAM, f.Disk})
		}
		return err
	})
	h.must("images list by name", func() error {
		_, err := images.List(h.cloud.Image, images.ListOpts{Name: "ipxe-boot"}).AllPages(ctx)
		return err
	})
	h.must("image show ipxe-boot", func() error { return images.Get(ctx, h.cloud.Image, fx.image).Err })
	h.must("networks list by name", func() error {
		_, err := networks.List(h.cloud.Network, networks.ListOpts{Name: "provision"}).AllPages(ctx)
		return err
	})
	h.must("ports of node-1 by mac_address", func() error {
		pages, err := ports.List(h.cloud.Network, ports.ListOpts{MACAddress: "52:54:00:00:00:01"}).AllPages(ctx)
		if err == nil {
			ps, _ := ports.ExtractPorts(pages)
			var names []string
			for _, p := range ps {
				names = append(names, p.Name)
			}
			h.fact("port with node-1's MAC", names)
		}
		return err
	})
}
