package cloudsim_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/quotasets"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumetypes"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"

	"quintupleo/cloudsim"
)

// blockStorage is gophercloud's Cinder v3 client (its endpoint discovery
// reads the sim's version root).
func blockStorage(t *testing.T, c clients) *gophercloud.ServiceClient {
	t.Helper()
	bs, err := openstack.NewBlockStorageV3(c.provider, gophercloud.EndpointOpts{Region: cloudsim.Region})
	if err != nil {
		t.Fatal(err)
	}
	return bs
}

// volumeRecorder collects every status each volume goes through, from the
// sim's OnVolumeChange ("404" once gone): polls alone miss a status under
// load (a 5 ms step between two polls failed CI once).
type volumeRecorder struct {
	mu  sync.Mutex
	seq map[string][]string
}

func (r *volumeRecorder) on(id, status string) {
	if status == "" {
		status = "404"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seq == nil {
		r.seq = map[string][]string{}
	}
	r.seq[id] = append(r.seq[id], status)
}

// take returns the statuses of id recorded since the last take.
func (r *volumeRecorder) take(id string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.seq[id]
	delete(r.seq, id)
	return out
}

// volumeSim is a sim whose volume statuses rec records.
func volumeSim(t *testing.T, opts cloudsim.Options) (*cloudsim.Sim, *volumeRecorder) {
	rec := &volumeRecorder{}
	opts.OnVolumeChange = rec.on
	return testSim(t, opts), rec
}

// waitVolume waits, through the API, for volume id to reach status (or,
// with "", to be gone), and returns the statuses rec recorded since the
// last wait for it.
func waitVolume(t *testing.T, bs *gophercloud.ServiceClient, rec *volumeRecorder, id, status string) []string {
	t.Helper()
	var last string
	for range 2000 {
		v, err := volumes.Get(t.Context(), bs, id).Extract()
		last = "404"
		switch {
		case err == nil:
			last = v.Status
		case statusOf(err) != 404:
			t.Fatalf("volume %s: %v", id, err)
		}
		if last == status || (status == "" && last == "404") {
			return rec.take(id)
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("volume %s: not %q; last %q, recorded %q", id, status, last, rec.take(id))
	return nil
}

// realCinderBody is the response body of a recorded real Cinder call.
func realCinderBody(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "realcinder", name))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Response struct {
			Body map[string]any `json:"body"`
		} `json:"response"`
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	return rec.Response.Body
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestVolumeLifecycleAndErrors(t *testing.T) {
	sim, rec := volumeSim(t, cloudsim.Options{BlockQuota: cloudsim.BlockQuota{Volumes: 3, Gigabytes: 10, Snapshots: 10}})
	c := connect(t, sim)
	bs := blockStorage(t, c)
	ctx := t.Context()

	pages, err := volumetypes.List(bs, nil).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	types, _ := volumetypes.ExtractVolumeTypes(pages)
	if len(types) != 1 || types[0].Name != "__DEFAULT__" || !types[0].IsPublic {
		t.Errorf("volume types: %+v, want one public __DEFAULT__", types)
	}
	if def, err := volumetypes.Get(ctx, bs, "default").Extract(); err != nil || def.ID != types[0].ID {
		t.Errorf("types/default: %+v %v", def, err)
	}

	v, err := volumes.Create(ctx, bs, volumes.CreateOpts{Size: 2, Name: "v1", Description: "d",
		Metadata: map[string]string{"k": "v"}}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != "creating" || v.Size != 2 || v.VolumeType != "__DEFAULT__" || v.Bootable != "false" {
		t.Errorf("create answer: %+v", v)
	}
	if seen := waitVolume(t, bs, rec, v.ID, "available"); strings.Join(seen, ",") != "creating,available" {
		t.Errorf("create statuses %q, real Cinder creating,available", seen)
	}
	name, desc := "v1-renamed", "d2"
	up, err := volumes.Update(ctx, bs, v.ID, volumes.UpdateOpts{Name: &name, Description: &desc,
		Metadata: map[string]string{"a": "b"}}).Extract()
	if err != nil || up.Name != name || up.Description != desc || up.Metadata["a"] != "b" || up.Metadata["k"] != "" {
		t.Errorf("update: %+v %v", up, err)
	}
	pages, err = volumes.List(bs, volumes.ListOpts{Name: name}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if vs, _ := volumes.ExtractVolumes(pages); len(vs) != 1 || vs[0].ID != v.ID || vs[0].Status != "available" {
		t.Errorf("detail by name: %+v", vs)
	}
	q, err := quotasets.GetUsage(ctx, bs, sim.ProjectID()).Extract()
	if err != nil || q.Gigabytes.InUse != 2 || q.Gigabytes.Limit != 10 || q.Volumes.InUse != 1 || q.Volumes.Limit != 3 {
		t.Errorf("quota usage: %+v %v", q, err)
	}

	for _, tc := range []struct {
		name   string
		status int
		body   string
		call   func() error
	}{
		{"size 0", 400, `{"badRequest":{"code":400,"message":"Invalid input for field/attribute size. Value: 0. 0 is less than the minimum of 1"}}`,
			func() error { return rawCreate(t, c, bs, `{"volume": {"size": 0}}`) }},
		{"size abc", 400, `{"badRequest":{"code":400,"message":"Invalid input for field/attribute size. Value: abc. 'abc' does not match '^[0-9]+$'"}}`,
			func() error { return rawCreate(t, c, bs, `{"volume": {"size": "abc"}}`) }},
		{"no volume", 400, `{"badRequest":{"code":400,"message":"'volume' is a required property"}}`,
			func() error { return rawCreate(t, c, bs, `{"x": 1}`) }},
		{"over gigabytes quota", 413, `{"overLimit":{"code":413,"message":"VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed gigabytes quota. Requested 9G, quota is 10G and 2G has been consumed.","retryAfter":"0"}}`,
			func() error { return volumes.Create(ctx, bs, volumes.CreateOpts{Size: 9}, nil).Err }},
		{"unknown type", 404, `{"itemNotFound":{"code":404,"message":"Volume type with name nope could not be found."}}`,
			func() error { return volumes.Create(ctx, bs, volumes.CreateOpts{Size: 1, VolumeType: "nope"}, nil).Err }},
		{"show unknown", 404, `{"itemNotFound":{"code":404,"message":"Volume 00000000-0000-4000-8000-000000000000 could not be found."}}`,
			func() error { return volumes.Get(ctx, bs, unknownUUID).Err }},
		{"delete unknown", 404, `{"itemNotFound":{"code":404,"message":"Volume 00000000-0000-4000-8000-000000000000 could not be found."}}`,
			func() error { return volumes.Delete(ctx, bs, unknownUUID, nil).ExtractErr() }},
		{"update unknown", 404, `{"itemNotFound":{"code":404,"message":"Volume 00000000-0000-4000-8000-000000000000 could not be found."}}`,
			func() error { return volumes.Update(ctx, bs, unknownUUID, volumes.UpdateOpts{Name: &name}).Err }},
	} {
		err := tc.call()
		if statusOf(err) != tc.status || compact(bodyOf(err)) != tc.body {
			t.Errorf("%s: %d %s\nwant %d %s", tc.name, statusOf(err), bodyOf(err), tc.status, tc.body)
		}
	}
	if err := volumes.Delete(ctx, bs, v.ID, nil).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if seen := waitVolume(t, bs, rec, v.ID, ""); strings.Join(seen, ",") != "deleting,404" {
		t.Errorf("delete statuses %q, real Cinder deleting,404", seen)
	}
	if n := sim.Count("POST /volume/v3/{project}/volumes"); n != 6 {
		t.Errorf("request log: %d volume creates counted, want 6", n)
	}
}

const unknownUUID = "00000000-0000-4000-8000-000000000000"

// rawCreate posts body as a volume create (what gophercloud's CreateOpts
// cannot send).
func rawCreate(t *testing.T, c clients, bs *gophercloud.ServiceClient, body string) error {
	t.Helper()
	code, _, b := rawDo(t, c, "POST", bs.ServiceURL("volumes"), body)
	if code < 400 {
		return nil
	}
	return gophercloud.ErrUnexpectedResponseCode{Actual: code, Body: []byte(b)}
}

// TestVolumeViewsMatchRealCinder: the keys of each view are the recorded
// real Cinder's (testdata/realcinder).
func TestVolumeViewsMatchRealCinder(t *testing.T) {
	sim, rec := volumeSim(t, cloudsim.Options{})
	c := connect(t, sim)
	bs := blockStorage(t, c)
	ctx := t.Context()
	var created map[string]any
	if _, err := bs.Post(ctx, bs.ServiceURL("volumes"), map[string]any{"volume": map[string]any{"size": 1, "name": "probe-vol",
		"description": "probe"}}, &created, &gophercloud.RequestOpts{OkCodes: []int{202}}); err != nil {
		t.Fatal(err)
	}
	v := created["volume"].(map[string]any)
	id := v["id"].(string)
	waitVolume(t, bs, rec, id, "available")
	get := func(url string, hdr map[string]string) map[string]any {
		var out map[string]any
		_, err := bs.Get(ctx, url, &out, &gophercloud.RequestOpts{MoreHeaders: hdr})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	mv70 := map[string]string{"OpenStack-API-Version": "volume 3.70"}
	for _, tc := range []struct {
		sample string
		got    map[string]any
		coll   string
	}{
		{"012-volume-create.json", created, "volume"},
		{"013-volume-show.json", get(bs.ServiceURL("volumes", id), nil), "volume"},
		{"014-volume-show-mv3.70.json", get(bs.ServiceURL("volumes", id), mv70), "volume"},
		{"016-volumes-detail.json", get(bs.ServiceURL("volumes", "detail"), nil), "volumes"},
		{"015-volumes-list.json", get(bs.ServiceURL("volumes"), nil), "volumes"},
		{"006-types-list.json", get(bs.ServiceURL("types"), nil), "volume_types"},
		{"007-types-default.json", get(bs.ServiceURL("types", "default"), nil), "volume_type"},
		{"008-quota-show-usage.json", get(bs.ServiceURL("os-quota-sets", sim.ProjectID())+"?usage=True", nil), "quota_set"},
		{"010-quota-defaults.json", get(bs.ServiceURL("os-quota-sets", sim.ProjectID(), "defaults"), nil), "quota_set"},
	} {
		want, got := realCinderBody(t, tc.sample)[tc.coll], tc.got[tc.coll]
		if l, ok := want.([]any); ok {
			want, got = l[0], got.([]any)[0]
		}
		if w, g := keys(want.(map[string]any)), keys(got.(map[string]any)); strings.Join(w, " ") != strings.Join(g, " ") {
			t.Errorf("%s: keys\n sim %q\nreal %q", tc.sample, g, w)
		}
	}
}

// TestBootFromVolume: Nova boots from an existing bootable volume; the
// volume goes reserved → attaching → in-use, refuses a delete and a second
// boot, and comes back available (or is deleted, delete_on_termination)
// when the server is deleted.
func TestBootFromVolume(t *testing.T) {
	sim, rec := volumeSim(t, cloudsim.Options{Nodes: 1})
	c := connect(t, sim)
	bs := blockStorage(t, c)
	ctx := t.Context()
	mk := func(name string, bootable bool) string {
		v, err := volumes.Create(ctx, bs, volumes.CreateOpts{Size: 1, Name: name}, nil).Extract()
		if err != nil {
			t.Fatal(err)
		}
		waitVolume(t, bs, rec, v.ID, "available")
		if bootable {
			if err := volumes.SetBootable(ctx, bs, v.ID, volumes.BootableOpts{Bootable: true}).ExtractErr(); err != nil {
				t.Fatal(err)
			}
		}
		return v.ID
	}
	create := func(name, vol string, dot bool) (*servers.Server, error) {
		return servers.Create(ctx, c.compute, servers.CreateOpts{Name: name, FlavorRef: sim.FlavorID("baremetal"),
			Networks: []servers.Network{{UUID: sim.NetworkID("provision")}},
			BlockDevice: []servers.BlockDevice{{UUID: vol, SourceType: servers.SourceVolume,
				DestinationType: servers.DestinationVolume, BootIndex: 0, DeleteOnTermination: dot}}}, nil).Extract()
	}
	plain := mk("plain", false)
	_, err := create("bfv", plain, false)
	if want := `{"badRequest":{"code":400,"message":"Block Device ` + plain + ` is not bootable."}}`; compact(bodyOf(err)) != want {
		t.Errorf("boot from a volume not bootable: %d %s", statusOf(err), bodyOf(err))
	}
	vol := mk("boot", true)
	s, err := create("bfv", vol, false)
	if err != nil {
		t.Fatal(err)
	}
	if seen := waitVolume(t, bs, rec, vol, "in-use"); strings.Join(seen, ",") != "reserved,attaching,in-use" {
		t.Errorf("attach statuses %q, real reserved,attaching,in-use", seen)
	}
	waitState(t, sim, s.ID, "ACTIVE")
	got, err := servers.Get(ctx, c.compute, s.ID).Extract()
	if err != nil || len(got.AttachedVolumes) != 1 || got.AttachedVolumes[0].ID != vol || got.Image != nil {
		t.Errorf("server show: volumes %+v image %v %v", got.AttachedVolumes, got.Image, err)
	}
	v, err := volumes.Get(ctx, bs, vol).Extract()
	if err != nil || len(v.Attachments) != 1 || v.Attachments[0].ServerID != s.ID || v.Bootable != "true" {
		t.Errorf("volume in-use: %+v %v", v, err)
	}
	err = volumes.Delete(ctx, bs, vol, nil).ExtractErr()
	if statusOf(err) != 400 || !strings.Contains(bodyOf(err), "Invalid volume: Volume status must be available or error or error_restoring") {
		t.Errorf("delete in-use: %d %s", statusOf(err), bodyOf(err))
	}
	_, err = create("bfv2", vol, false)
	if statusOf(err) != 400 || !strings.Contains(bodyOf(err), "Volume "+vol+" status must be available or downloading to reserve, but the current status is in-use.") {
		t.Errorf("boot from a volume in use: %d %s", statusOf(err), bodyOf(err))
	}
	if err := servers.Delete(ctx, c.compute, s.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if seen := waitVolume(t, bs, rec, vol, "available"); seen[len(seen)-1] != "available" {
		t.Errorf("after server delete: %q", seen)
	}
	if v, _ := volumes.Get(ctx, bs, vol).Extract(); v == nil || len(v.Attachments) != 0 {
		t.Errorf("attachments after server delete: %+v", v)
	}

	dot := mk("dot", true)
	s, err = create("bfv-dot", dot, true)
	if err != nil {
		t.Fatal(err)
	}
	waitVolume(t, bs, rec, dot, "in-use")
	waitState(t, sim, s.ID, "ACTIVE")
	if err := servers.Delete(ctx, c.compute, s.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if seen := waitVolume(t, bs, rec, dot, ""); strings.Join(seen, ",") != "available,deleting,404" {
		t.Errorf("delete_on_termination statuses after in-use %q, real in-use,available,deleting,404", seen)
	}
}

// TestVolumeFaults: injected faults reach the Cinder routes, in Cinder's
// error shape.
func TestVolumeFaults(t *testing.T) {
	sim := testSim(t, cloudsim.Options{})
	c := connect(t, sim)
	bs := blockStorage(t, c)
	if _, err := sim.AddFault(cloudsim.Fault{Endpoint: "/volumes/detail", ErrorRate: 1, Status: 503, Count: 1}); err != nil {
		t.Fatal(err)
	}
	_, err := volumes.List(bs, nil).AllPages(t.Context())
	if statusOf(err) != 503 || compact(bodyOf(err)) != `{"serviceUnavailable":{"code":503,"message":"Service Unavailable"}}` {
		t.Errorf("injected 503: %d %s", statusOf(err), bodyOf(err))
	}
	if _, err := volumes.List(bs, nil).AllPages(t.Context()); err != nil {
		t.Errorf("after the fault's one use: %v", err)
	}
	var rec cloudsim.RequestRecord
	for _, r := range sim.Requests() {
		if r.Status == 503 {
			rec = r
		}
	}
	if rec.Service != "volume" || len(rec.Faults) != 1 {
		t.Errorf("request log of the faulted call: %+v", rec)
	}
}

// TestMemberMACPolicy: Neutron's create_port:mac_address as real Neutron
// applies it to a member (testdata/realcinder/member): allowed on its own
// project's network, 403 on another project's shared one, and another
// project's private network is not found.
func TestMemberMACPolicy(t *testing.T) {
	sim := testSim(t, cloudsim.Options{Role: cloudsim.RoleMember})
	shared, err := sim.AddNetwork(cloudsim.NetworkSpec{Name: "operator-shared", CIDR: "10.250.0.0/24", OtherProject: true, Shared: true})
	if err != nil {
		t.Fatal(err)
	}
	private, err := sim.AddNetwork(cloudsim.NetworkSpec{Name: "operator-private", OtherProject: true})
	if err != nil {
		t.Fatal(err)
	}
	c := connect(t, sim)
	ctx := t.Context()
	mac := "52:54:02:00:00:01"
	if _, err := ports.Create(ctx, c.network, ports.CreateOpts{NetworkID: sim.NetworkID("provision"), MACAddress: mac}).Extract(); err != nil {
		t.Errorf("member, own network, chosen MAC: %v (real Neutron: 201)", err)
	}
	_, err = ports.Create(ctx, c.network, ports.CreateOpts{NetworkID: shared, MACAddress: mac}).Extract()
	want := `{"NeutronError":{"detail":"","message":"(rule:create_port and rule:create_port:mac_address) is disallowed by policy","type":"PolicyNotAuthorized"}}`
	if statusOf(err) != http.StatusForbidden || compact(bodyOf(err)) != want {
		t.Errorf("member, shared network of another project, chosen MAC: %d %s", statusOf(err), bodyOf(err))
	}
	if _, err := ports.Create(ctx, c.network, ports.CreateOpts{NetworkID: shared}).Extract(); err != nil {
		t.Errorf("member, shared network, no MAC: %v (real Neutron: 201)", err)
	}
	_, err = ports.Create(ctx, c.network, ports.CreateOpts{NetworkID: private, MACAddress: mac}).Extract()
	if statusOf(err) != 404 || !strings.Contains(bodyOf(err), `"NetworkNotFound"`) {
		t.Errorf("member, private network of another project: %d %s", statusOf(err), bodyOf(err))
	}
	pages, err := networks.List(c.network, nil).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ns, _ := networks.ExtractNetworks(pages)
	var names []string
	for _, n := range ns {
		names = append(names, n.Name)
	}
	if strings.Join(names, ",") != "provision,operator-shared" {
		t.Errorf("member sees networks %q", names)
	}
	// The admin default chooses MACs anywhere.
	admin := testSim(t, cloudsim.Options{})
	other, _ := admin.AddNetwork(cloudsim.NetworkSpec{Name: "x", OtherProject: true})
	if _, err := ports.Create(ctx, connect(t, admin).network, ports.CreateOpts{NetworkID: other, MACAddress: mac}).Extract(); err != nil {
		t.Errorf("admin, another project's network: %v", err)
	}
	if _, err := cloudsim.New(cloudsim.Options{Role: "reader"}); err == nil {
		t.Error("Role reader accepted")
	}
}

// TestComputeQuota: Nova's 403 when a create would exceed the project's
// ram (the fixture's servers count), in real Nova's words.
func TestComputeQuota(t *testing.T) {
	sim := testSim(t, cloudsim.Options{Nodes: 2, ComputeQuota: cloudsim.ComputeQuota{Instances: 10, Cores: 20, RAM: 10000}})
	c := connect(t, sim)
	_, err := servers.Create(t.Context(), c.compute, servers.CreateOpts{Name: "big", FlavorRef: sim.FlavorID("baremetal"),
		ImageRef: sim.ImageID("ipxe-boot"), Networks: "none"}, nil).Extract()
	want := `{"forbidden":{"code":403,"message":"Quota exceeded for ram: Requested 4096, but already used 8192 of 10000 ram"}}`
	if statusOf(err) != 403 || compact(bodyOf(err)) != want {
		t.Errorf("over ram quota: %d %s", statusOf(err), bodyOf(err))
	}
	if got := len(sim.Servers()); got != 2 {
		t.Errorf("%d servers after the refused create, want the 2 of the fixture", got)
	}
}

// TestMemberToken: a member's token lists member and reader, as real
// Keystone's does for realcloud's member user.
func TestMemberToken(t *testing.T) {
	sim := testSim(t, cloudsim.Options{Role: cloudsim.RoleMember})
	c := connect(t, sim)
	opts := authOpts(sim)
	roles, err := tokens.Create(t.Context(), c.identity, &opts).ExtractRoles()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range roles {
		names = append(names, r.Name)
	}
	if strings.Join(names, ",") != "member,reader" {
		t.Errorf("member token roles %q, real member,reader", names)
	}
}
