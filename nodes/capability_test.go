package nodes_test

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"quintupleo/cloudsim"
	"quintupleo/internal/stacktest"
	"quintupleo/nodes"
)

func TestIdentityFromTheToken(t *testing.T) {
	for _, role := range []string{cloudsim.RoleAdmin, cloudsim.RoleMember} {
		t.Run(role, func(t *testing.T) {
			sim, cloud := stacktest.Connect(t, cloudsim.Options{Role: role})
			id, err := cloud.Identity()
			if err != nil {
				t.Fatal(err)
			}
			if id.User != cloudsim.Username || id.Project != cloudsim.ProjectName || id.ProjectID != sim.ProjectID() ||
				id.UserDomain != cloudsim.UserDomainName || id.ProjectDomain != cloudsim.ProjectDomainName {
				t.Errorf("identity = %+v", id)
			}
			if id.HasRole("admin") != (role == cloudsim.RoleAdmin) || !id.HasRole("member") || !id.HasRole("reader") {
				t.Errorf("roles = %v for a user with role %s", id.Roles, role)
			}
			if !slices.Contains(id.Services, "block-storage") || !slices.Contains(id.Services, "compute") {
				t.Errorf("services = %v", id.Services)
			}
		})
	}
	_, cloud := stacktest.Connect(t, cloudsim.Options{WithoutCinder: true})
	id, err := cloud.Identity()
	if err != nil || slices.Contains(id.Services, "block-storage") || slices.Contains(id.Services, "volumev3") {
		t.Errorf("without Cinder: services = %v (%v)", id.Services, err)
	}
}

func TestComputeMicroversions(t *testing.T) {
	_, cloud := stacktest.Connect(t, cloudsim.Options{})
	mv, err := cloud.ComputeMicroversions(t.Context())
	if err != nil || mv != (nodes.Microversions{Min: 1, Max: 93}) {
		t.Errorf("microversions = %+v, %v; want 2.1 to 2.93", mv, err)
	}
	_, old := stacktest.Connect(t, cloudsim.Options{MaxMicroversion: "2.60"})
	if mv, err := old.ComputeMicroversions(t.Context()); err != nil || mv.Max != 60 || mv.Supports(79) || !mv.Supports(17) {
		t.Errorf("older Nova: %+v, %v; want up to 2.60", mv, err)
	}
}

func TestServersAndWhyTheyAreExcluded(t *testing.T) {
	sim, cloud := stacktest.Connect(t, cloudsim.Options{Nodes: 3})
	if _, err := sim.CreateServer(cloudsim.ServerSpec{Name: "ctl", Metadata: map[string]string{"role": "x"}}); err != nil {
		t.Fatal(err)
	}
	all, err := cloud.Servers(t.Context())
	if err != nil || len(all) != 4 {
		t.Fatalf("servers = %d, %v", len(all), err)
	}
	cfg := nodes.InventoryConfig{NameRegex: regexp.MustCompile(`^node-`), MetadataKey: "role"}
	got := map[string]nodes.Exclusion{}
	for _, n := range all {
		got[n.Name] = cfg.Excludes(n)
	}
	want := map[string]nodes.Exclusion{"node-0": nodes.ExcludedByMetadata, "node-1": nodes.ExcludedByMetadata,
		"node-2": nodes.ExcludedByMetadata, "ctl": nodes.ExcludedByName}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %v, want %v", k, got[k], v)
		}
	}
	cfg = nodes.InventoryConfig{MetadataKey: "role", MetadataValue: "y"}
	for _, n := range all {
		if cfg.Excludes(n) != nodes.ExcludedByMetadata {
			t.Errorf("%s with role=y wanted: %v", n.Name, cfg.Excludes(n))
		}
	}
}

func TestImagesAndNetworks(t *testing.T) {
	sim, cloud := stacktest.Connect(t, cloudsim.Options{Nodes: 1})
	img, err := cloud.FindImage(t.Context(), "ipxe-boot")
	if err != nil || img.Properties["hw_firmware_type"] != "bios" || img.ID != sim.ImageID("ipxe-boot") {
		t.Errorf("ipxe-boot = %+v, %v", img, err)
	}
	if byID, err := cloud.FindImage(t.Context(), img.ID); err != nil || byID.Name != "ipxe-boot" {
		t.Errorf("by ID = %+v, %v", byID, err)
	}
	if _, err := cloud.FindImage(t.Context(), "no-such"); !errors.Is(err, nodes.ErrNotFound) {
		t.Errorf("missing image: %v, want ErrNotFound", err)
	}
	nets, err := cloud.NetworksNamed(t.Context(), "provision")
	if err != nil || len(nets) != 1 || !nets[0].PortSecurity || nets[0].ProjectID != sim.ProjectID() ||
		len(nets[0].Subnets) != 1 || nets[0].Subnets[0].DHCP || nets[0].Subnets[0].CIDR != "10.128.0.0/16" {
		t.Fatalf("provision = %+v, %v", nets, err)
	}
	ps, err := cloud.Ports(t.Context(), nets[0].ID)
	if err != nil || len(ps) != 1 || ps[0].MAC != "52:54:00:00:00:00" || !ps[0].PortSecurity {
		t.Errorf("ports = %+v, %v", ps, err)
	}
}

// The probes write and undo: nothing of them is left in the cloud.
func TestProbesLeaveNothingBehind(t *testing.T) {
	sim, cloud := stacktest.Connect(t, cloudsim.Options{Nodes: 1})
	node := sim.Servers()[0]
	if err := cloud.ProbeMetadata(t.Context(), node.ID); err != nil {
		t.Fatal(err)
	}
	if in, _ := sim.Server(node.ID); len(in.Metadata) != 0 {
		t.Errorf("metadata after the probe: %v", in.Metadata)
	}
	netID := sim.NetworkID("provision")
	before, _ := cloud.Ports(t.Context(), netID)
	if err := cloud.ProbePortMAC(t.Context(), netID); err != nil {
		t.Fatal(err)
	}
	if after, _ := cloud.Ports(t.Context(), netID); len(after) != len(before) {
		t.Errorf("ports: %d before the probe, %d after", len(before), len(after))
	}
}

func TestProbesSayWhatTheCloudRefused(t *testing.T) {
	sim, cloud := stacktest.Connect(t, cloudsim.Options{Nodes: 1, Role: cloudsim.RoleMember})
	shared, err := sim.AddNetwork(cloudsim.NetworkSpec{Name: "ops", CIDR: "10.5.0.0/24", OtherProject: true, Shared: true})
	if err != nil {
		t.Fatal(err)
	}
	err = cloud.ProbePortMAC(t.Context(), shared)
	if err == nil || !strings.Contains(err.Error(), "HTTP 403: (rule:create_port and rule:create_port:mac_address) is disallowed by policy") {
		t.Errorf("probe on another project's shared network: %v", err)
	}
	f, err := cloudsim.ParseFault("endpoint=PUT /compute/v2.1/servers/{id}/metadata/{key},status=403,error-rate=1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.AddFault(f); err != nil {
		t.Fatal(err)
	}
	if err := cloud.ProbeMetadata(t.Context(), sim.Servers()[0].ID); err == nil || !strings.Contains(err.Error(), "HTTP 403") {
		t.Errorf("metadata probe refused: %v", err)
	}
}
