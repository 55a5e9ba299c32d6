package cloudsim_test

import (
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"

	"quintupleo/cloudsim"
)

func TestFixtureAndPowerCycle(t *testing.T) {
	sim := testSim(t, cloudsim.Options{Nodes: 3})
	c := connect(t, sim)
	ctx := t.Context()

	all := listAll(t, ctx, c.compute, servers.ListOpts{})
	if len(all) != 3 {
		t.Fatalf("got %d servers, want 3", len(all))
	}
	byName := map[string]servers.Server{}
	for _, s := range all {
		byName[s.Name] = s
	}
	n1, ok := byName["node-1"]
	if !ok {
		t.Fatalf("no node-1 in %v", byName)
	}
	if n1.Status != "SHUTOFF" || n1.PowerState != servers.SHUTDOWN || n1.VmState != "stopped" {
		t.Errorf("node-1 = %s/%s/%v", n1.Status, n1.VmState, n1.PowerState)
	}
	if n1.InstanceName != "instance-00000002" {
		t.Errorf("instance_name = %q", n1.InstanceName)
	}
	mac := n1.Addresses["provision"].([]any)[0].(map[string]any)["OS-EXT-IPS-MAC:mac_addr"]
	if mac != "52:54:00:00:00:01" {
		t.Errorf("mac = %v", mac)
	}
	if n1.Flavor["original_name"] != "baremetal" || n1.Flavor["vcpus"] != float64(2) || n1.Flavor["ram"] != float64(4096) {
		t.Errorf("flavor = %v", n1.Flavor)
	}

	if err := servers.Start(ctx, c.compute, n1.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	got, err := servers.Get(ctx, c.compute, n1.ID).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if got.TaskState != "powering-on" && got.Status != "ACTIVE" {
		t.Errorf("after os-start: %s/%s", got.Status, got.TaskState)
	}
	waitState(t, sim, n1.ID, "ACTIVE")
	err = servers.Start(ctx, c.compute, n1.ID).ExtractErr()
	if statusOf(err) != 409 {
		t.Fatalf("os-start on ACTIVE: %v", err)
	}
	want := `{"conflictingRequest": {"code": 409, "message": "Cannot 'start' instance ` + n1.ID + ` while it is in vm_state active"}}`
	if compact(bodyOf(err)) != compact(want) {
		t.Errorf("409 body = %s", bodyOf(err))
	}
	if err := servers.Stop(ctx, c.compute, n1.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitState(t, sim, n1.ID, "SHUTOFF")
}
