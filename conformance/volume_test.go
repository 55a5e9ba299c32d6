package conformance_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/quotasets"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumetypes"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
)

// overQuotaGB is above the gigabytes quota of the reference cloud's admin
// project (realcloud's bootstrap raises it to 100000) and of cloudsim's.
const overQuotaGB = 100001

// blockStorage builds the Cinder v3 client (its version discovery is not
// recorded: it is not one of the test's steps).
func (h *harness) blockStorage() *gophercloud.ServiceClient {
	h.t.Helper()
	c, err := openstack.NewBlockStorageV3(h.cloud.Compute.ProviderClient, gophercloud.EndpointOpts{})
	if err != nil {
		h.t.Fatalf("block storage client: %v (a realcloud needs Cinder: RC_SERVICES=cinder setup.sh)", err)
	}
	return c
}

// projectID is the token's project.
func (h *harness) projectID() string {
	h.t.Helper()
	res, ok := h.cloud.Compute.ProviderClient.GetAuthResult().(tokens.CreateResult)
	if !ok {
		h.t.Fatal("no token result")
	}
	p, err := res.ExtractProject()
	if err != nil || p == nil {
		h.t.Fatalf("token project: %v", err)
	}
	return p.ID
}

// volumeSequence polls volume id until its status is want (or, with want
// "", until it is gone) and records the distinct statuses as label.
func (h *harness) volumeSequence(bs *gophercloud.ServiceClient, label, id, want string) {
	h.t.Helper()
	h.pollStates(label, "volume "+id, want == "", func(ctx context.Context) (string, bool, error) {
		v, err := volumes.Get(ctx, bs, id).Extract()
		switch {
		case err != nil:
			return "", false, err
		case v.Status == want:
			return v.Status, true, nil
		case v.Status == "error":
			return v.Status, false, fmt.Errorf("volume went to error")
		}
		return v.Status, false, nil
	})
}

// cleanupVolumes deletes volumes whose name is one of names (left by an
// earlier run) now and when the test ends, unrecorded. Run it after
// cleanup of the servers using them (cleanups run last-in first-out).
func (h *harness) cleanupVolumes(bs *gophercloud.ServiceClient, names ...string) {
	h.t.Helper()
	del := func(ctx context.Context) {
		for _, n := range names {
			pages, err := volumes.List(bs, volumes.ListOpts{Name: n}).AllPages(ctx)
			if err != nil {
				continue
			}
			vs, _ := volumes.ExtractVolumes(pages)
			for _, v := range vs {
				volumes.Delete(ctx, bs, v.ID, nil)
			}
		}
	}
	del(h.t.Context())
	h.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(h.t.Context()), transitionBound)
		defer cancel()
		del(ctx)
	})
}

// TestVolumeLifecycle: Cinder's volume types and quotas, a volume created,
// listed, shown, updated and deleted, with the status sequences of create
// and delete, and the 400/404/413 answers.
func TestVolumeLifecycle(t *testing.T) {
	h := newHarness(t, false)
	ctx := t.Context()
	bs := h.blockStorage()
	pid := h.projectID()
	const name = "conf-vol"
	h.cleanupVolumes(bs, name, name+"-renamed")

	h.must("volume types list", func() error {
		pages, err := volumetypes.List(bs, nil).AllPages(ctx)
		if err == nil {
			ts, _ := volumetypes.ExtractVolumeTypes(pages)
			var names []string
			for _, vt := range ts {
				names = append(names, vt.Name)
			}
			h.fact("volume types", names)
		}
		return err
	})
	h.must("quota set with usage", func() error {
		q, err := quotasets.GetUsage(ctx, bs, pid).Extract()
		if err == nil {
			h.fact("gigabytes quota", q.Gigabytes.Limit)
		}
		return err
	})
	var v *volumes.Volume
	h.must("volume create", func() (err error) {
		v, err = volumes.Create(ctx, bs, volumes.CreateOpts{Size: 1, Name: name, Description: "conformance",
			Metadata: map[string]string{"owner": "conformance"}}, nil).Extract()
		return err
	})
	h.volumeSequence(bs, "volume create", v.ID, "available")
	h.must("volume show", func() error {
		got, err := volumes.Get(ctx, bs, v.ID).Extract()
		if err == nil {
			h.fact("volume show size/bootable/type", []any{got.Size, got.Bootable, got.VolumeType})
		}
		return err
	})
	h.must("volumes detail by name", func() error {
		pages, err := volumes.List(bs, volumes.ListOpts{Name: name}).AllPages(ctx)
		if err == nil {
			vs, _ := volumes.ExtractVolumes(pages)
			h.fact("volumes detail by name finds", len(vs))
		}
		return err
	})
	newName, newDesc := name+"-renamed", "renamed"
	h.must("volume update", func() error {
		got, err := volumes.Update(ctx, bs, v.ID, volumes.UpdateOpts{Name: &newName, Description: &newDesc,
			Metadata: map[string]string{"k": "v"}}).Extract()
		if err == nil {
			h.fact("volume update name/description/metadata", []any{got.Name, got.Description, got.Metadata})
		}
		return err
	})
	h.must("quota set with usage after create", func() error {
		q, err := quotasets.GetUsage(ctx, bs, pid).Extract()
		if err == nil {
			h.fact("gigabytes in use after create", q.Gigabytes.InUse)
			h.fact("volumes in use after create", q.Volumes.InUse)
		}
		return err
	})
	h.expect("volume create size 0", http.StatusBadRequest, func() error {
		return volumes.Create(ctx, bs, rawVolume{"size": 0}, nil).Err
	})
	h.expect("volume create over gigabytes quota", http.StatusRequestEntityTooLarge, func() error {
		return volumes.Create(ctx, bs, volumes.CreateOpts{Size: overQuotaGB, Name: name + "-huge"}, nil).Err
	})
	h.expect("volume create unknown type", http.StatusNotFound, func() error {
		return volumes.Create(ctx, bs, volumes.CreateOpts{Size: 1, Name: name + "-typed", VolumeType: "no-such-type"}, nil).Err
	})
	h.expect("volume show unknown", http.StatusNotFound, func() error { return volumes.Get(ctx, bs, unknownID).Err })
	h.expect("volume update unknown", http.StatusNotFound, func() error {
		return volumes.Update(ctx, bs, unknownID, volumes.UpdateOpts{Name: &newName}).Err
	})
	h.expect("volume delete unknown", http.StatusNotFound, func() error {
		return volumes.Delete(ctx, bs, unknownID, nil).ExtractErr()
	})
	h.must("volume delete", func() error { return volumes.Delete(ctx, bs, v.ID, nil).ExtractErr() })
	h.volumeSequence(bs, "volume delete", v.ID, "")
}

// rawVolume is a create body gophercloud's CreateOpts cannot send (size 0
// is dropped by its omitempty).
type rawVolume map[string]any

func (r rawVolume) ToVolumeCreateMap() (map[string]any, error) {
	return map[string]any{"volume": map[string]any(r)}, nil
}

// volumeMapping boots from volume id (boot index 0).
func volumeMapping(id string, deleteOnTermination bool) []servers.BlockDevice {
	return []servers.BlockDevice{{UUID: id, SourceType: servers.SourceVolume, DestinationType: servers.DestinationVolume,
		BootIndex: 0, DeleteOnTermination: deleteOnTermination}}
}

// TestBootFromVolume: a server booted from an existing volume (what
// provisioning onto volumes does): the volume's states while Nova attaches
// it, the refusals while it is in use, its release when the server is
// deleted, and delete_on_termination.
func TestBootFromVolume(t *testing.T) {
	h := newHarness(t, false)
	ctx := t.Context()
	c := h.cloud.Compute
	bs := h.blockStorage()
	fx := h.fixture()
	const name, dotName = "conf-bfv", "conf-bfv-dot"
	h.cleanupVolumes(bs, name, dotName)
	h.cleanup(name)
	h.cleanup(dotName)

	mk := func(n string) *volumes.Volume {
		v, err := volumes.Create(ctx, bs, volumes.CreateOpts{Size: 1, Name: n}, nil).Extract()
		if err != nil {
			t.Fatal(err)
		}
		h.volumeSequence(bs, "create "+n+" (unrecorded)", v.ID, "available")
		delete(h.rec.Sequences, "create "+n+" (unrecorded)")
		return v
	}
	v := mk(name)
	create := func(n, vol string, dot bool) (*servers.Server, error) {
		return servers.Create(ctx, c, servers.CreateOpts{Name: n, FlavorRef: fx.flavor,
			Networks: []servers.Network{{UUID: fx.network}}, BlockDevice: volumeMapping(vol, dot)}, nil).Extract()
	}
	h.expect("server create from a volume not bootable", http.StatusBadRequest, func() error {
		_, err := create(name, v.ID, false)
		return err
	})
	h.must("volume set bootable", func() error {
		return volumes.SetBootable(ctx, bs, v.ID, volumes.BootableOpts{Bootable: true}).ExtractErr()
	})
	var s *servers.Server
	h.must("server create from volume", func() (err error) {
		s, err = create(name, v.ID, false)
		return err
	})
	h.volumeSequence(bs, "volume attach", v.ID, "in-use")
	h.sequence("server create from volume", s.ID, settled("ACTIVE"))
	h.must("server show booted from volume", func() error {
		got, err := servers.Get(ctx, c, s.ID).Extract()
		if err == nil {
			var ids []string
			for _, a := range got.AttachedVolumes {
				ids = append(ids, a.ID)
			}
			h.fact("volumes_attached is the volume", len(ids) == 1 && ids[0] == v.ID)
			h.fact("image of a server booted from volume", got.Image)
		}
		return err
	})
	h.must("volume show in-use", func() error {
		got, err := volumes.Get(ctx, bs, v.ID).Extract()
		if err == nil {
			h.fact("attachments name the server", len(got.Attachments) == 1 && got.Attachments[0].ServerID == s.ID)
		}
		return err
	})
	h.expect("volume delete in-use", http.StatusBadRequest, func() error {
		return volumes.Delete(ctx, bs, v.ID, nil).ExtractErr()
	})
	h.expect("server create from a volume in-use", http.StatusBadRequest, func() error {
		_, err := create(name+"-second", v.ID, false)
		return err
	})
	h.must("server delete", func() error { return servers.Delete(ctx, c, s.ID).ExtractErr() })
	h.volumeSequence(bs, "volume detach on server delete", v.ID, "available")
	h.must("volume show after server delete", func() error {
		got, err := volumes.Get(ctx, bs, v.ID).Extract()
		if err == nil {
			h.fact("attachments after server delete", len(got.Attachments))
		}
		return err
	})
	h.must("volume delete", func() error { return volumes.Delete(ctx, bs, v.ID, nil).ExtractErr() })
	h.volumeSequence(bs, "volume delete", v.ID, "")

	d := mk(dotName)
	if err := volumes.SetBootable(ctx, bs, d.ID, volumes.BootableOpts{Bootable: true}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	h.must("server create from volume delete_on_termination", func() (err error) {
		s, err = create(dotName, d.ID, true)
		return err
	})
	h.volumeSequence(bs, "volume attach delete_on_termination", d.ID, "in-use")
	h.sequence("server create delete_on_termination", s.ID, settled("ACTIVE"))
	h.must("server delete delete_on_termination", func() error { return servers.Delete(ctx, c, s.ID).ExtractErr() })
	h.volumeSequence(bs, "volume delete_on_termination", d.ID, "")
}
