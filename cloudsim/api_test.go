package cloudsim_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"

	"quintupleo/cloudsim"
)

func TestPaginationPast1000(t *testing.T) {
	sim := testSim(t, cloudsim.Options{Nodes: 2500})
	c := connect(t, sim)
	sim.ResetCounters()
	all := listAll(t, t.Context(), c.compute, servers.ListOpts{})
	if len(all) != 2500 {
		t.Fatalf("listed %d, want 2500", len(all))
	}
	seen := map[string]bool{}
	for _, s := range all {
		if seen[s.ID] {
			t.Fatalf("duplicate %s", s.Name)
		}
		seen[s.ID] = true
	}
	if all[0].Name != "node-2499" || all[2499].Name != "node-0" {
		t.Errorf("order: first %s last %s (Nova: newest first)", all[0].Name, all[2499].Name)
	}
	if n := sim.Count("GET /compute/v2.1/servers/detail"); n != 3 {
		t.Errorf("%d detail calls, want 3 pages", n)
	}
	// explicit limit above the maximum is clamped to 1000
	code, body := rawMV(t, c, "GET", c.compute.Endpoint+"servers/detail?limit=5000", "2.79", "")
	if code != 200 || strings.Count(body, `"OS-EXT-SRV-ATTR:instance_name"`) != 1000 || !strings.Contains(body, `"servers_links"`) {
		t.Errorf("limit=5000: %d, %d servers", code, strings.Count(body, `"OS-EXT-SRV-ATTR:instance_name"`))
	}
	// name filter is a regex
	got := listAll(t, t.Context(), c.compute, servers.ListOpts{Name: "^node-24[0-9]{2}$"})
	if len(got) != 100 {
		t.Errorf("name regex: %d servers, want 100", len(got))
	}
}

func TestChangesSince(t *testing.T) {
	sim := testSim(t, cloudsim.Options{Nodes: 4})
	c := connect(t, sim)
	ctx := t.Context()
	// Nova's updated has one-second resolution; compare from a second ago.
	since := time.Now().UTC().Add(-time.Second).Format(time.RFC3339)
	if got := listAll(t, ctx, c.compute, servers.ListOpts{ChangesSince: "2099-01-01T00:00:00Z"}); len(got) != 0 {
		t.Errorf("future changes-since: %d servers", len(got))
	}
	n2, _ := sim.Server("node-2")
	if err := servers.Start(ctx, c.compute, n2.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitState(t, sim, n2.ID, "ACTIVE")
	n3, _ := sim.Server("node-3")
	if err := servers.Delete(ctx, c.compute, n3.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.WaitServer(ctx, n3.ID, func(in cloudsim.ServerInfo) bool { return in.Deleted }); err != nil {
		t.Fatal(err)
	}
	oob, err := sim.CreateServer(cloudsim.ServerSpec{Name: "elsewhere", Status: "ACTIVE"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range listAll(t, ctx, c.compute, servers.ListOpts{ChangesSince: since}) {
		got[s.Name] = s.Status
	}
	for name, want := range map[string]string{"node-2": "ACTIVE", "node-3": "DELETED", "elsewhere": "ACTIVE"} {
		if got[name] != want {
			t.Errorf("changes-since: %s = %q, want %q (all %v)", name, got[name], want, got)
		}
	}
	// without changes-since deleted servers are not listed, and GET is 404
	for _, s := range listAll(t, ctx, c.compute, servers.ListOpts{}) {
		if s.ID == n3.ID {
			t.Error("deleted server listed without changes-since")
		}
	}
	// Right after the delete Nova still shows the instance as DELETED for a
	// moment (the sim purges it one transition later), then answers 404.
	if got, err := servers.Get(ctx, c.compute, n3.ID).Extract(); statusOf(err) != 404 && (err != nil || got.Status != "DELETED") {
		t.Errorf("GET deleted: %v %+v", err, got)
	}
	if _, err := servers.Get(ctx, c.compute, oob.ID).Extract(); err != nil {
		t.Errorf("GET out-of-band server: %v", err)
	}
	// the pre-created port survives, unbound (as Neutron does)
	pp, err := ports.List(c.network, ports.ListOpts{MACAddress: "52:54:00:00:00:03"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pl, _ := ports.ExtractPorts(pp)
	if len(pl) != 1 || pl[0].DeviceID != "" {
		t.Errorf("node-3 port after delete: %+v", pl)
	}
	if code, body := rawMV(t, c, "GET", c.compute.Endpoint+"servers/detail?changes-since=yesterday", "2.79", ""); code != 400 {
		t.Errorf("bad changes-since: %d %s", code, body)
	}
}

func TestActionsMetadataAndERROR(t *testing.T) {
	sim := testSim(t, cloudsim.Options{Nodes: 1})
	c := connect(t, sim)
	ctx := t.Context()
	n0, _ := sim.Server("node-0")
	id := n0.ID
	if _, err := servers.UpdateMetadata(ctx, c.compute, id, servers.MetadataOpts{"libvirt:pxe-first": "1", "k": "v"}).Extract(); err != nil {
		t.Fatal(err)
	}
	if md, err := servers.Metadatum(ctx, c.compute, id, "libvirt:pxe-first").Extract(); err != nil || md["libvirt:pxe-first"] != "1" {
		t.Fatalf("metadatum: %v %v", md, err)
	}
	if err := servers.DeleteMetadatum(ctx, c.compute, id, "k").ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if md, err := servers.ResetMetadata(ctx, c.compute, id, servers.MetadataOpts{"a": "b"}).Extract(); err != nil || len(md) != 1 {
		t.Fatalf("reset: %v %v", md, err)
	}
	if _, err := servers.CreateMetadatum(ctx, c.compute, id, servers.MetadatumOpts{"x": "y"}).Extract(); err != nil {
		t.Fatal(err)
	}
	if md, err := servers.Metadata(ctx, c.compute, id).Extract(); err != nil || md["a"] != "b" || md["x"] != "y" {
		t.Fatalf("metadata: %v %v", md, err)
	}
	// oversized metadata: 400; too many items: 403
	if _, err := servers.UpdateMetadata(ctx, c.compute, id, servers.MetadataOpts{strings.Repeat("k", 256): "v"}).Extract(); statusOf(err) != 400 {
		t.Errorf("256-char key: %v", err)
	}
	if _, err := servers.UpdateMetadata(ctx, c.compute, id, servers.MetadataOpts{"k": strings.Repeat("v", 256)}).Extract(); statusOf(err) != 400 {
		t.Errorf("256-char value: %v", err)
	}
	many := servers.MetadataOpts{}
	for i := range 129 {
		many[fmt.Sprint("k", i)] = "v"
	}
	if _, err := servers.ResetMetadata(ctx, c.compute, id, many).Extract(); statusOf(err) != 403 {
		t.Errorf("129 items: %v", err)
	}

	if err := servers.Reboot(ctx, c.compute, id, servers.RebootOpts{Type: servers.HardReboot}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitState(t, sim, id, "ACTIVE")
	if err := servers.Reboot(ctx, c.compute, id, servers.RebootOpts{Type: servers.SoftReboot}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitState(t, sim, id, "ACTIVE")
	if _, err := servers.Rescue(ctx, c.compute, id, servers.RescueOpts{RescueImageRef: sim.ImageID("fake-image")}).Extract(); err != nil {
		t.Fatal(err)
	}
	waitState(t, sim, id, "RESCUE")
	if _, err := servers.UpdateMetadata(ctx, c.compute, id, servers.MetadataOpts{"a": "c"}).Extract(); statusOf(err) != 409 {
		t.Errorf("metadata while rescued: %v", err)
	}
	if err := servers.Unrescue(ctx, c.compute, id).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitState(t, sim, id, "ACTIVE")
	if _, err := servers.Rebuild(ctx, c.compute, id, servers.RebuildOpts{ImageRef: sim.ImageID("ipxe-boot")}).Extract(); err != nil {
		t.Fatal(err)
	}
	waitState(t, sim, id, "ACTIVE")

	// "server goes to ERROR on next action"
	if err := sim.FailNextAction(id, "boom"); err != nil {
		t.Fatal(err)
	}
	if err := servers.Stop(ctx, c.compute, id).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitState(t, sim, id, "ERROR")
	s, err := servers.Get(ctx, c.compute, id).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != "ERROR" || s.Fault.Code != 500 || s.Fault.Message != "boom" || s.Fault.Created.IsZero() {
		t.Errorf("ERROR server: %s %+v", s.Status, s.Fault)
	}
	// os-stop is allowed from ERROR
	if err := servers.Stop(ctx, c.compute, id).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitState(t, sim, id, "SHUTOFF")
}

func TestReauthAfterExpiry(t *testing.T) {
	now := time.Now()
	var clock = func() time.Time { return now }
	sim := testSim(t, cloudsim.Options{Nodes: 1, TokenTTL: time.Minute})
	_ = clock
	c := connect(t, sim)
	ctx := t.Context()
	listAll(t, ctx, c.compute, servers.ListOpts{})
	sim.ExpireTokens()
	listAll(t, ctx, c.compute, servers.ListOpts{}) // 401, re-auth, retry
	if n := sim.Count("POST /v3/auth/tokens"); n != 2 {
		t.Errorf("%d token requests, want 2", n)
	}
	var saw401 bool
	for _, r := range sim.Requests() {
		if r.Status == 401 {
			saw401 = true
		}
	}
	if !saw401 {
		t.Error("no 401 in the request log")
	}
	// wrong password: 401
	o := authOpts(sim)
	o.Password = "wrong"
	if _, err := tokens.Create(ctx, c.identity, &o).Extract(); statusOf(err) != 401 {
		t.Errorf("wrong password: %v", err)
	}
	// token get/validate/revoke
	tok := c.provider.Token()
	if ok, err := tokens.Validate(ctx, c.identity, tok); err != nil || !ok {
		t.Errorf("validate: %v %v", ok, err)
	}
	if _, err := tokens.Get(ctx, c.identity, tok).ExtractToken(); err != nil {
		t.Errorf("get: %v", err)
	}
}

func TestTokenTTL(t *testing.T) {
	var mu = make(chan time.Time, 1)
	mu <- time.Now()
	clock := func() time.Time { t := <-mu; mu <- t; return t }
	advance := func(d time.Duration) { t := <-mu; mu <- t.Add(d) }
	sim := testSim(t, cloudsim.Options{Nodes: 1, TokenTTL: time.Minute, Now: clock})
	c := connect(t, sim)
	listAll(t, t.Context(), c.compute, servers.ListOpts{})
	advance(2 * time.Minute)
	listAll(t, t.Context(), c.compute, servers.ListOpts{})
	if n := sim.Count("POST /v3/auth/tokens"); n != 2 {
		t.Errorf("%d token requests after TTL, want 2", n)
	}
}

func TestFaults(t *testing.T) {
	sim := testSim(t, cloudsim.Options{Nodes: 1})
	c := connect(t, sim)
	ctx := t.Context()
	list := func() error {
		_, err := servers.List(c.compute, servers.ListOpts{}).AllPages(ctx)
		return err
	}
	t.Run("error rate 500", func(t *testing.T) {
		id, err := sim.SetFault(cloudsim.Fault{Endpoint: "servers/detail", ErrorRate: 0.5})
		if err != nil {
			t.Fatal(err)
		}
		defer sim.RemoveFault(id)
		var codes []int
		for range 4 {
			codes = append(codes, statusOf(list()))
		}
		if fmt.Sprint(codes) != "[0 500 0 500]" {
			t.Errorf("codes %v", codes)
		}
	})
	t.Run("503 once", func(t *testing.T) {
		if _, err := sim.SetFault(cloudsim.Fault{Endpoint: "os-start", ErrorRate: 1, Status: 503, Count: 1}); err != nil {
			t.Fatal(err)
		}
		n0, _ := sim.Server("node-0")
		if err := servers.Start(ctx, c.compute, n0.ID).ExtractErr(); statusOf(err) != 503 {
			t.Errorf("first start: %v", err)
		}
		if err := servers.Start(ctx, c.compute, n0.ID).ExtractErr(); err != nil {
			t.Errorf("second start: %v", err)
		}
		if len(sim.Faults()) != 0 {
			t.Errorf("count=1 fault still installed: %v", sim.Faults())
		}
	})
	t.Run("429 Retry-After", func(t *testing.T) {
		sim.SetFault(cloudsim.Fault{Endpoint: "flavors", RateLimit: 1, RetryAfter: 1500 * time.Millisecond, Count: 1})
		code, hdr, _ := rawDo(t, c, "GET", c.compute.Endpoint+"flavors", "")
		if code != 429 || hdr.Get("Retry-After") != "2" {
			t.Errorf("429: %d Retry-After %q", code, hdr.Get("Retry-After"))
		}
		if _, err := flavors.ListDetail(c.compute, nil).AllPages(ctx); err != nil {
			t.Errorf("after 429: %v", err)
		}
	})
	t.Run("latency", func(t *testing.T) {
		id, _ := sim.SetFault(cloudsim.Fault{Endpoint: "servers/detail", Latency: time.Millisecond})
		defer sim.RemoveFault(id)
		sim.ResetCounters()
		if err := list(); err != nil {
			t.Fatal(err)
		}
		reqs := sim.Requests()
		if len(reqs) != 1 || len(reqs[0].Faults) != 1 {
			t.Errorf("request log: %+v", reqs)
		}
	})
	t.Run("hang", func(t *testing.T) {
		id, _ := sim.SetFault(cloudsim.Fault{Endpoint: "servers/detail", Hang: true})
		defer sim.RemoveFault(id)
		hctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		_, err := servers.List(c.compute, servers.ListOpts{}).AllPages(hctx)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("hang: %v", err)
		}
	})
	t.Run("admin endpoint", func(t *testing.T) {
		sim.ClearFaults()
		resp, err := http.Post(sim.URL()+"/_sim/faults", "text/plain", strings.NewReader("endpoint=servers/detail,error-rate=1,status=503,count=1"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 201 {
			t.Fatalf("POST /_sim/faults: %d", resp.StatusCode)
		}
		if err := list(); statusOf(err) != 503 {
			t.Errorf("after admin fault: %v", err)
		}
		if err := list(); err != nil {
			t.Errorf("fault should be gone: %v", err)
		}
		resp, err = http.Get(sim.URL() + "/_sim/counters")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("counters: %d", resp.StatusCode)
		}
	})
}

func TestBadRequests(t *testing.T) {
	sim := testSim(t, cloudsim.Options{Nodes: 1})
	c := connect(t, sim)
	ctx := t.Context()
	fl, img, net := sim.FlavorID("baremetal"), sim.ImageID("ipxe-boot"), sim.NetworkID("provision")
	cases := []struct {
		name, method, url, body string
		status                  int
		contains                string
	}{
		{"malformed json", "POST", c.compute.Endpoint + "servers", `{"server": `, 400, `"badRequest"`},
		{"unknown flavor", "POST", c.compute.Endpoint + "servers", fmt.Sprintf(`{"server": {"name": "x", "flavorRef": "nope", "imageRef": %q, "networks": "none"}}`, img), 400, "Flavor nope could not be found."},
		{"unknown image", "POST", c.compute.Endpoint + "servers", fmt.Sprintf(`{"server": {"name": "x", "flavorRef": %q, "imageRef": "00000000-0000-0000-0000-000000000000", "networks": "none"}}`, fl), 400, "Can not find requested image"},
		{"unknown network", "POST", c.compute.Endpoint + "servers", fmt.Sprintf(`{"server": {"name": "x", "flavorRef": %q, "imageRef": %q, "networks": [{"uuid": "00000000-0000-0000-0000-000000000000"}]}}`, fl, img), 400, "Network 00000000-0000-0000-0000-000000000000 could not be found."},
		{"unknown action", "POST", c.compute.Endpoint + "servers/" + mustServer(t, sim, "node-0") + "/action", `{"os-frobnicate": null}`, 400, "There is no such action: os-frobnicate"},
		{"duplicate mac", "POST", c.network.ResourceBase + "ports", fmt.Sprintf(`{"port": {"network_id": %q, "mac_address": "52:54:00:00:00:00"}}`, net), 409, `"MacAddressInUse"`},
		{"bad mac", "POST", c.network.ResourceBase + "ports", fmt.Sprintf(`{"port": {"network_id": %q, "mac_address": "zz"}}`, net), 400, `"NeutronError"`},
		{"neutron malformed", "POST", c.network.ResourceBase + "ports", `{`, 400, `"NeutronError"`},
		{"port on unknown network", "POST", c.network.ResourceBase + "ports", `{"port": {"network_id": "00000000-0000-0000-0000-000000000000"}}`, 404, `"NetworkNotFound"`},
		{"bad microversion", "GET", c.compute.Endpoint + "servers", "", 406, "not supported"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := rawDo(t, c, tc.method, tc.url, tc.body)
			if tc.name == "bad microversion" {
				code, body = rawMV(t, c, tc.method, tc.url, "2.999", "")
			}
			if code != tc.status || !strings.Contains(body, tc.contains) {
				t.Errorf("%d %s, want %d containing %q", code, body, tc.status, tc.contains)
			}
		})
	}
	// port in use by another server: 409
	n0p := mustPortOf(t, sim, "node-0")
	_, err := servers.Create(ctx, c.compute, servers.CreateOpts{Name: "x", FlavorRef: fl, ImageRef: img,
		Networks: []servers.Network{{Port: n0p}}}, nil).Extract()
	if statusOf(err) != 409 {
		t.Errorf("port in use: %v", err)
	}
}

func mustServer(t *testing.T, sim *cloudsim.Sim, name string) string {
	in, ok := sim.Server(name)
	if !ok {
		t.Fatalf("no %s", name)
	}
	return in.ID
}

func mustPortOf(t *testing.T, sim *cloudsim.Sim, name string) string {
	in, ok := sim.Server(name)
	if !ok || len(in.PortIDs) == 0 {
		t.Fatalf("no port for %s", name)
	}
	return in.PortIDs[0]
}

func TestNeutronGlanceFlavors(t *testing.T) {
	sim := testSim(t, cloudsim.Options{Nodes: 2})
	c := connect(t, sim)
	ctx := t.Context()
	n1 := mustServer(t, sim, "node-1")
	pp, err := ports.List(c.network, ports.ListOpts{DeviceID: n1}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pl, _ := ports.ExtractPorts(pp)
	if len(pl) != 1 || pl[0].MACAddress != "52:54:00:00:00:01" || pl[0].Name != "node-1-port" {
		t.Fatalf("ports of node-1: %+v", pl)
	}
	nw, err := networks.Create(ctx, c.network, networks.CreateOpts{Name: "extra"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	sn, err := subnets.Create(ctx, c.network, subnets.CreateOpts{NetworkID: nw.ID, CIDR: "10.9.0.0/24", IPVersion: 4}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	p, err := ports.Create(ctx, c.network, ports.CreateOpts{NetworkID: nw.ID, MACAddress: "52:54:00:99:00:01"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if len(p.FixedIPs) != 1 || p.FixedIPs[0].SubnetID != sn.ID {
		t.Errorf("fixed ips %+v", p.FixedIPs)
	}
	srv, err := servers.Create(ctx, c.compute, servers.CreateOpts{Name: "two-nics", FlavorRef: sim.FlavorID("baremetal"),
		ImageRef: sim.ImageID("ipxe-boot"), Networks: []servers.Network{{Port: p.ID}, {UUID: sim.NetworkID("provision")}}}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, sim, srv.ID, "ACTIVE")
	got, err := servers.Get(ctx, c.compute, srv.ID).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Addresses) != 2 {
		t.Errorf("addresses %v", got.Addresses)
	}
	if err := networks.Delete(ctx, c.network, nw.ID).ExtractErr(); statusOf(err) != 409 {
		t.Errorf("delete network in use: %v", err)
	}
	if err := servers.Delete(ctx, c.compute, srv.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.WaitServer(ctx, srv.ID, func(in cloudsim.ServerInfo) bool { return in.Deleted }); err != nil {
		t.Fatal(err)
	}
	if err := ports.Delete(ctx, c.network, p.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := subnets.Delete(ctx, c.network, sn.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := networks.Delete(ctx, c.network, nw.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}

	ip, err := images.List(c.image, images.ListOpts{Name: "ipxe-boot"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	il, _ := images.ExtractImages(ip)
	if len(il) != 1 || il[0].Properties["hw_firmware_type"] != "bios" {
		t.Fatalf("images: %+v", il)
	}
	if im, err := images.Get(ctx, c.image, il[0].ID).Extract(); err != nil || im.Name != "ipxe-boot" {
		t.Errorf("image get: %v %v", im, err)
	}
	uefi := sim.AddImage("uefi-boot", map[string]string{"hw_firmware_type": "uefi"})
	if im, err := images.Get(ctx, c.image, uefi).Extract(); err != nil || im.Properties["hw_firmware_type"] != "uefi" {
		t.Errorf("added image: %+v %v", im, err)
	}
	fp, err := flavors.ListDetail(c.compute, nil).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fls, _ := flavors.ExtractFlavors(fp)
	if len(fls) != 3 {
		t.Errorf("flavors %+v", fls)
	}
	if f, err := flavors.Get(ctx, c.compute, sim.FlavorID("baremetal")).Extract(); err != nil || f.RAM != 4096 || f.VCPUs != 2 || f.Disk != 10 {
		t.Errorf("baremetal: %+v %v", f, err)
	}
}

func TestCloseStopsEverything(t *testing.T) {
	sim, err := cloudsim.New(cloudsim.Options{Nodes: 3, TransitionDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	c := connect(t, sim)
	for _, in := range sim.Servers() {
		if err := servers.Start(t.Context(), c.compute, in.ID).ExtractErr(); err != nil {
			t.Fatal(err)
		}
	}
	sim.SetFault(cloudsim.Fault{Endpoint: "flavors", Hang: true})
	done := make(chan error, 1)
	go func() {
		_, err := flavors.ListDetail(c.compute, nil).AllPages(t.Context())
		done <- err
	}()
	// Whether or not the request has reached the sim yet, Close must end it.
	if err := sim.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil {
		t.Error("hanging request succeeded after Close")
	}
	if err := sim.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func BenchmarkServersDetail10000(b *testing.B) {
	sim := testSim(b, cloudsim.Options{Nodes: 10000})
	c := connect(b, sim)
	ctx := context.Background()
	listAll(b, ctx, c.compute, servers.ListOpts{}) // warm
	b.ResetTimer()
	for b.Loop() {
		if got := listAll(b, ctx, c.compute, servers.ListOpts{}); len(got) != 10000 {
			b.Fatalf("%d servers", len(got))
		}
	}
}

// BenchmarkServersDetail10000Raw is the sim's own share: the same 10 pages
// fetched over HTTP, bodies read, only servers_links decoded.
func BenchmarkServersDetail10000Raw(b *testing.B) {
	sim := testSim(b, cloudsim.Options{Nodes: 10000})
	c := connect(b, sim)
	fetch := func() int {
		url, pages := c.compute.Endpoint+"servers/detail", 0
		for url != "" {
			req, _ := http.NewRequest("GET", url, nil)
			req.Header.Set("X-Auth-Token", c.provider.Token())
			req.Header.Set("X-OpenStack-Nova-API-Version", "2.79")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var page struct {
				Links []struct{ Href string } `json:"servers_links"`
			}
			err = json.NewDecoder(resp.Body).Decode(&page)
			resp.Body.Close()
			if err != nil {
				b.Fatal(err)
			}
			pages++
			url = ""
			if len(page.Links) > 0 {
				url = page.Links[0].Href
			}
		}
		return pages
	}
	fetch()
	b.ResetTimer()
	for b.Loop() {
		if n := fetch(); n != 11 {
			b.Fatalf("%d pages", n)
		}
	}
}
