package conformance_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/tags"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
)

// describe is PUT /servers/{id} with a description (microversion 2.19+),
// which gophercloud's UpdateOpts cannot send; nil sends null (no
// description).
type describe struct{ description *string }

func (d describe) ToServerUpdateMap() (map[string]any, error) {
	return map[string]any{"server": map[string]any{"description": d.description}}, nil
}

// serverDescription reads the server's description (null is nil).
func serverDescription(ctx context.Context, c *gophercloud.ServiceClient, id string) (*string, error) {
	var server struct {
		Description *string `json:"description"`
	}
	err := servers.Get(ctx, c, id).ExtractInto(&server) // the "server" object
	return server.Description, err
}

// TestRescuedServerWrites: what Nova takes while a server is rescued, which
// is when Ironic switches the boot device back to disk after a deploy and
// the rescue boot strategy must still record it in the cloud. Metadata and
// tags are refused; PUT /servers/{id} (name, description) is not; a
// description longer than 255 characters is refused in any state.
func TestRescuedServerWrites(t *testing.T) {
	h := newHarness(t, false)
	ctx := t.Context()
	c := h.cloud.Compute
	fx := h.fixture()
	const name = "conf-rescued"
	h.cleanup(name)

	var p *ports.Port
	h.must("port create", func() (err error) {
		p, err = ports.Create(ctx, h.cloud.Network, ports.CreateOpts{NetworkID: fx.network, Name: name + "-port"}).Extract()
		return err
	})
	t.Cleanup(func() { ports.Delete(context.WithoutCancel(ctx), h.cloud.Network, p.ID) })
	var id string
	h.must("server create", func() error {
		s, err := servers.Create(ctx, c, servers.CreateOpts{Name: name, FlavorRef: fx.flavor, ImageRef: fx.image,
			Networks: []servers.Network{{Port: p.ID}}}, nil).Extract()
		if err == nil {
			id = s.ID
		}
		return err
	})
	h.sequence("create", id, settled("ACTIVE"))
	operator := "operator text"
	h.must("description on ACTIVE", func() error { return servers.Update(ctx, c, id, describe{&operator}).Err })
	h.must("tag add on ACTIVE", func() error { return tags.Add(ctx, c, id, "on-active").Err })
	h.must("tags list on ACTIVE", func() error {
		got, err := tags.List(ctx, c, id).Extract()
		h.fact("tags on ACTIVE", got)
		return err
	})

	h.must("rescue", func() error { return servers.Rescue(ctx, c, id, servers.RescueOpts{}).Err })
	h.sequence("rescue", id, settled("RESCUE"))
	h.expect("metadata item put while rescued", http.StatusConflict, func() error {
		return servers.CreateMetadatum(ctx, c, id, servers.MetadatumOpts{"libvirt:pxe-first": ""}).Err
	})
	h.expect("tag add while rescued", http.StatusConflict, func() error { return tags.Add(ctx, c, id, "while-rescued").Err })
	h.expect("tags replace while rescued", http.StatusConflict, func() error {
		return tags.ReplaceAll(ctx, c, id, tags.ReplaceAllOpts{Tags: []string{"while-rescued"}}).Err
	})
	h.expect("tag delete while rescued", http.StatusConflict, func() error { return tags.Delete(ctx, c, id, "on-active").ExtractErr() })
	h.must("tags list while rescued", func() error {
		got, err := tags.List(ctx, c, id).Extract()
		h.fact("tags while rescued", got)
		return err
	})
	h.must("name while rescued", func() error { return servers.Update(ctx, c, id, servers.UpdateOpts{Name: name}).Err })
	marked := operator + " [quintupleo:boot=disk]"
	h.must("description while rescued", func() error { return servers.Update(ctx, c, id, describe{&marked}).Err })
	h.must("show description while rescued", func() error {
		got, err := serverDescription(ctx, c, id)
		h.fact("description written while rescued", got != nil && *got == marked)
		return err
	})
	h.must("servers detail while rescued", func() error {
		pages, err := servers.List(c, servers.ListOpts{Name: "^" + name + "$"}).AllPages(ctx)
		if err != nil {
			return err
		}
		var body struct {
			Servers []struct {
				Description *string `json:"description"`
			} `json:"servers"`
		}
		err = pages.(servers.ServerPage).ExtractInto(&body)
		h.fact("servers detail carries the description", len(body.Servers) == 1 && body.Servers[0].Description != nil && *body.Servers[0].Description == marked)
		return err
	})
	tooLong := strings.Repeat("x", 256)
	h.expect("description of 256 characters while rescued", http.StatusBadRequest, func() error {
		return servers.Update(ctx, c, id, describe{&tooLong}).Err
	})
	h.must("description null while rescued", func() error { return servers.Update(ctx, c, id, describe{nil}).Err })
	h.must("show description null", func() error {
		got, err := serverDescription(ctx, c, id)
		h.fact("description null while rescued", got == nil)
		return err
	})
	h.must("unrescue", func() error { return servers.Unrescue(ctx, c, id).ExtractErr() })
	h.sequence("unrescue", id, settled("ACTIVE"))
	h.must("tag delete after unrescue", func() error { return tags.Delete(ctx, c, id, "on-active").ExtractErr() })
	h.must("delete", func() error { return servers.Delete(ctx, c, id).ExtractErr() })
	h.sequence("delete", id, nil)
}
