package cloudsim_test

import (
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"

	"quintupleo/cloudsim"
)

// The options that switch a capability off, as a client sees them.

func TestMaxMicroversion(t *testing.T) {
	sim := testSim(t, cloudsim.Options{Nodes: 1, MaxMicroversion: "2.60"})
	c := connect(t, sim) // pinned to 2.79, newer than this Nova
	// The version document, read as discovery does: without a microversion.
	var doc struct {
		Version struct{ Version, MinVersion string } `json:"version"`
	}
	resp, err := c.provider.Request(t.Context(), "GET", sim.URL()+cloudsim.ComputePath+"/",
		&gophercloud.RequestOpts{JSONResponse: &doc, OkCodes: []int{200}})
	if err != nil {
		t.Fatalf("version document: %v", err)
	}
	resp.Body.Close()
	if doc.Version.Version != "2.60" {
		t.Errorf("max version = %q, want 2.60", doc.Version.Version)
	}
	_, err = servers.List(c.compute, nil).AllPages(t.Context())
	const want = "Version 2.79 is not supported by the API. Minimum is 2.1 and maximum is 2.60."
	if statusOf(err) != 406 || !strings.Contains(bodyOf(err), want) {
		t.Errorf("list at 2.79: %v, want 406 %q", err, want)
	}
	c.compute.Microversion = "2.60"
	if _, err := servers.List(c.compute, nil).AllPages(t.Context()); err != nil {
		t.Errorf("list at 2.60: %v", err)
	}
	if _, err := cloudsim.New(cloudsim.Options{MaxMicroversion: "2.94"}); err == nil {
		t.Error("MaxMicroversion 2.94 accepted; the sim serves at most 2.93")
	}
}

func TestWithoutCinder(t *testing.T) {
	sim := testSim(t, cloudsim.Options{WithoutCinder: true})
	c := connect(t, sim)
	if _, err := openstack.NewBlockStorageV3(c.provider, gophercloud.EndpointOpts{Region: cloudsim.Region}); err == nil {
		t.Error("a block-storage endpoint was found in the catalog")
	}
}

func TestNetworkPortSecurityAndDHCP(t *testing.T) {
	sim := testSim(t, cloudsim.Options{})
	id, err := sim.AddNetwork(cloudsim.NetworkSpec{Name: "open", CIDR: "10.9.0.0/24", DHCP: true, NoPortSecurity: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.CreateServer(cloudsim.ServerSpec{Name: "n", Network: "open"}); err != nil {
		t.Fatal(err)
	}
	c := connect(t, sim)
	var net struct {
		Network struct {
			PortSecurity bool `json:"port_security_enabled"`
		} `json:"network"`
	}
	if err := networks.Get(t.Context(), c.network, id).ExtractInto(&net); err != nil || net.Network.PortSecurity {
		t.Errorf("network port_security_enabled = %v (%v), want false", net.Network.PortSecurity, err)
	}
	page, err := ports.List(c.network, ports.ListOpts{NetworkID: id}).AllPages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var ps struct {
		Ports []struct {
			PortSecurity bool `json:"port_security_enabled"`
		} `json:"ports"`
	}
	if err := page.(ports.PortPage).ExtractInto(&ps); err != nil || len(ps.Ports) != 1 || ps.Ports[0].PortSecurity {
		t.Errorf("ports = %+v (%v), want one without port security", ps.Ports, err)
	}
	spage, err := subnets.List(c.network, subnets.ListOpts{NetworkID: id}).AllPages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	sns, err := subnets.ExtractSubnets(spage)
	if err != nil || len(sns) != 1 || !sns[0].EnableDHCP {
		t.Errorf("subnets = %+v (%v), want one with DHCP", sns, err)
	}
}
