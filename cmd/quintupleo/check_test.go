package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"quintupleo/cloudsim"
	"quintupleo/internal/stacktest"
	"quintupleo/internal/testtool"
)

// checkSim runs `quintupleo check` against sim (through a clouds.yaml file,
// as a user would) and returns its report and exit status.
func checkSim(t *testing.T, sim *cloudsim.Sim, yaml []byte, args ...string) (string, int) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "clouds.yaml")
	if yaml == nil {
		yaml = sim.CloudsYAML("sim")
	}
	if err := os.WriteFile(path, yaml, 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb strings.Builder
	code := run(t.Context(), append([]string{"check", "--os-cloud", "sim", "--clouds-yaml", path}, args...), &out, &errb)
	if errb.Len() > 0 {
		t.Logf("stderr: %s", errb.String())
	}
	return out.String(), code
}

// reportLine is the line of topic in a report, its verdict first.
func reportLine(t *testing.T, report, verdict, topic string) string {
	t.Helper()
	prefix := verdict + strings.Repeat(" ", 5-len(verdict)) + topic + ":"
	for l := range strings.SplitSeq(report, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	t.Fatalf("no %q line in the report:\n%s", prefix, report)
	return ""
}

// wantLine checks that topic's line has the verdict and every phrase.
func wantLine(t *testing.T, report, verdict, topic string, phrases ...string) {
	t.Helper()
	l := reportLine(t, report, verdict, topic)
	for _, p := range phrases {
		if !strings.Contains(l, p) {
			t.Errorf("%s line lacks %q:\n%s", topic, p, l)
		}
	}
}

func TestCheckHealthyCloud(t *testing.T) {
	sim := stacktest.StartSim(t, cloudsim.Options{Nodes: 4})
	report, code := checkSim(t, sim, nil)
	if code != 0 || strings.Contains(report, "\nFAIL") {
		t.Errorf("exit %d, want 0 and no FAIL:\n%s", code, report)
	}
	wantLine(t, report, "OK", "auth", "user admin (domain Default), token scoped to project admin")
	wantLine(t, report, "OK", "storage", "Cinder is in the catalog")
	wantLine(t, report, "OK", "compute", "2.1 to 2.93")
	wantLine(t, report, "OK", "nodes", "4 of 4 servers are nodes")
	wantLine(t, report, "WARN", "metadata", "not verified", "fix: run with --probe-writes")
	wantLine(t, report, "WARN", "boot", "OVB's patch", "fix: ", "--boot-strategy rescue")
	// The fixture's image has no os_shutdown_timeout, as realcloud's.
	wantLine(t, report, "WARN", "shutdown", "images without os_shutdown_timeout: ipxe-boot (4 nodes", "60 s",
		"fix: openstack image set --property os_shutdown_timeout=5")
	if !strings.HasSuffix(report, "quintupleo check: 7 OK, 4 WARN, 0 FAIL\n") {
		t.Errorf("summary:\n%s", report)
	}
}

// TestCheckProbeWrites verifies by writing, and leaves nothing behind.
func TestCheckProbeWrites(t *testing.T) {
	sim := stacktest.StartSim(t, cloudsim.Options{Nodes: 2})
	ports := sim.Count("POST /network/v2.0/ports")
	report, code := checkSim(t, sim, nil, "--probe-writes")
	if code != 0 {
		t.Errorf("exit %d:\n%s", code, report)
	}
	wantLine(t, report, "OK", "metadata", "set, read and removed quintupleo-check-probe on node-0")
	wantLine(t, report, "OK", "macs", "created and deleted a port with a chosen MAC on network provision")
	for _, s := range sim.Servers() {
		if len(s.Metadata) != 0 {
			t.Errorf("%s metadata after the check: %v", s.Name, s.Metadata)
		}
	}
	if sim.Count("POST /network/v2.0/ports") != ports+1 || sim.Count("DELETE /network/v2.0/ports/{id}") != 1 {
		t.Errorf("port probe: %d creates, %d deletes; want one each", sim.Count("POST /network/v2.0/ports")-ports,
			sim.Count("DELETE /network/v2.0/ports/{id}"))
	}
}

func TestCheckNamesEachSwitchedOffCapability(t *testing.T) {
	for _, c := range []struct {
		name    string
		opts    cloudsim.Options
		setup   func(t *testing.T, sim *cloudsim.Sim)
		yaml    func(sim *cloudsim.Sim) []byte
		args    []string
		code    int
		verdict string
		topic   string
		phrases []string
	}{{
		name: "no Cinder", opts: cloudsim.Options{Nodes: 1, WithoutCinder: true}, code: 0,
		verdict: "WARN", topic: "storage", phrases: []string{"no Cinder (block-storage or volumev3) in the catalog", "fix: deploy Cinder"},
	}, {
		name: "member on another project's shared network", opts: cloudsim.Options{Role: cloudsim.RoleMember},
		setup: func(t *testing.T, sim *cloudsim.Sim) {
			if _, err := sim.AddNetwork(cloudsim.NetworkSpec{Name: "ops-prov", CIDR: "10.7.0.0/24", OtherProject: true, Shared: true}); err != nil {
				t.Fatal(err)
			}
			for _, n := range []string{"bm-0", "bm-1"} {
				if _, err := sim.CreateServer(cloudsim.ServerSpec{Name: n, Network: "ops-prov"}); err != nil {
					t.Fatal(err)
				}
			}
		},
		code: 1, verdict: "FAIL", topic: "macs",
		phrases: []string{"network ops-prov is a shared network of another project", "only admins and the network's owner",
			"member, reader", "fix: use a network of project admin for the nodes, or grant admin: openstack role add --user admin --project admin admin"},
	}, {
		name: "member on another project's shared network, probed", opts: cloudsim.Options{Role: cloudsim.RoleMember},
		setup: func(t *testing.T, sim *cloudsim.Sim) {
			if _, err := sim.AddNetwork(cloudsim.NetworkSpec{Name: "ops-prov", CIDR: "10.7.0.0/24", OtherProject: true, Shared: true}); err != nil {
				t.Fatal(err)
			}
			if _, err := sim.CreateServer(cloudsim.ServerSpec{Name: "bm-0", Network: "ops-prov"}); err != nil {
				t.Fatal(err)
			}
		},
		args: []string{"--probe-writes"}, code: 1, verdict: "FAIL", topic: "macs",
		phrases: []string{"HTTP 403: (rule:create_port and rule:create_port:mac_address) is disallowed by policy", "fix: use a network of project admin"},
	}, {
		name: "missing iPXE image", opts: cloudsim.Options{Nodes: 2},
		args: []string{"--boot-strategy", "rescue", "--state-dir", "", "--ipxe-image", "ipxe-missing"},
		code: 1, verdict: "FAIL", topic: "ipxe",
		phrases: []string{`no iPXE image "ipxe-missing"`, "0 images named", "for the bios nodes",
			"fix: upload one (openstack image create", "--property hw_firmware_type=bios", "or name it with --ipxe-image"},
	}, {
		name: "iPXE image of the wrong firmware", opts: cloudsim.Options{},
		setup: func(t *testing.T, sim *cloudsim.Sim) {
			sim.AddImage("uefi-os", map[string]string{"hw_firmware_type": "uefi"})
			if _, err := sim.CreateServer(cloudsim.ServerSpec{Name: "efi-0", Image: "uefi-os"}); err != nil {
				t.Fatal(err)
			}
		},
		args: []string{"--boot-strategy", "rescue", "--state-dir", ""}, code: 0, verdict: "WARN", topic: "ipxe",
		phrases: []string{"iPXE image ipxe-boot has hw_firmware_type bios, but the uefi nodes (efi-0) boot uefi firmware",
			"fix: openstack image set --property hw_firmware_type=uefi ipxe-boot, or name a uefi image with --ipxe-image"},
	}, {
		name: "images without os_shutdown_timeout", opts: cloudsim.Options{},
		setup: func(t *testing.T, sim *cloudsim.Sim) {
			sim.AddImage("fast-stop", map[string]string{"os_shutdown_timeout": "5"})
			for _, s := range []cloudsim.ServerSpec{{Name: "a", Image: "fast-stop"}, {Name: "b"}, {Name: "c", Image: "fake-image"}} {
				if _, err := sim.CreateServer(s); err != nil {
					t.Fatal(err)
				}
			}
		},
		code: 0, verdict: "WARN", topic: "shutdown",
		phrases: []string{"images without os_shutdown_timeout: fake-image (1 nodes: c); ipxe-boot (1 nodes: b)", "fix: openstack image set --property os_shutdown_timeout=5"},
	}, {
		name: "os_shutdown_timeout longer than BMC clients wait", opts: cloudsim.Options{},
		setup: func(t *testing.T, sim *cloudsim.Sim) {
			sim.AddImage("slow-stop", map[string]string{"os_shutdown_timeout": "45"})
			if _, err := sim.CreateServer(cloudsim.ServerSpec{Name: "s", Image: "slow-stop"}); err != nil {
				t.Fatal(err)
			}
		},
		code: 0, verdict: "WARN", topic: "shutdown",
		phrases: []string{`images whose os_shutdown_timeout is over 20 seconds: slow-stop "45" (1 nodes: s)`,
			"longer than BMC clients wait for a power-off (ipmitool through VirtualBMC: about 20s)",
			"fix: openstack image set --property os_shutdown_timeout=5 IMAGE, or serve with --power-off-returns=accepted"},
	}, {
		name: "os_shutdown_timeout under accepted power-off", opts: cloudsim.Options{},
		setup: func(t *testing.T, sim *cloudsim.Sim) {
			sim.AddImage("slow-stop", map[string]string{"os_shutdown_timeout": "45"})
			if _, err := sim.CreateServer(cloudsim.ServerSpec{Name: "s", Image: "slow-stop"}); err != nil {
				t.Fatal(err)
			}
		},
		args: []string{"--power-off-returns", "accepted"}, code: 0, verdict: "WARN", topic: "shutdown",
		phrases: []string{"virsh destroy returns once Nova accepts it (--power-off-returns=accepted), but the domain reads 'in shutdown' that long"},
	}, {
		name: "old max microversion", opts: cloudsim.Options{Nodes: 1, MaxMicroversion: "2.60"},
		code: 1, verdict: "FAIL", topic: "compute",
		phrases: []string{"Nova serves microversions 2.1 to 2.60; quintupleo speaks 2.79", "fix: upgrade Nova to Train (2.79) or newer"},
	}, {
		name: "missing rebuild of volume-backed servers", opts: cloudsim.Options{Nodes: 1, MaxMicroversion: "2.90"},
		code: 0, verdict: "WARN", topic: "compute",
		phrases: []string{"2.1 to 2.90", "missing: rebuild of volume-backed servers with another image 2.93", "fix: upgrade Nova"},
	}, {
		name: "a node filter excluding everything", opts: cloudsim.Options{Nodes: 5},
		args: []string{"--node-name-regex", "^compute-"}, code: 1, verdict: "FAIL", topic: "nodes",
		phrases: []string{`0 of 5 servers are nodes; excluded: 5 by --node-name-regex "^compute-" (node-0, node-1, node-2 and 2 more)`,
			"fix: loosen --node-name-regex/--node-metadata"},
	}, {
		name: "bad credentials", opts: cloudsim.Options{Nodes: 1},
		yaml: func(sim *cloudsim.Sim) []byte {
			return []byte(strings.Replace(string(sim.CloudsYAML("sim")), "password: "+cloudsim.Password, "password: wrong", 1))
		},
		code: 1, verdict: "FAIL", topic: "auth", phrases: []string{"401", "fix: Keystone refused the credentials"},
	}, {
		name: "Neutron DHCP and port security on the provisioning network", opts: cloudsim.Options{Nodes: 1},
		setup: func(t *testing.T, sim *cloudsim.Sim) {
			if _, err := sim.AddNetwork(cloudsim.NetworkSpec{Name: "pxe", CIDR: "10.8.0.0/24", DHCP: true}); err != nil {
				t.Fatal(err)
			}
		},
		args: []string{"--provision-network", "pxe"}, code: 0, verdict: "WARN", topic: "dhcp",
		phrases: []string{"Neutron's DHCP answers on network pxe (subnet pxe-subnet)", "fix: openstack subnet set --no-dhcp"},
	}} {
		t.Run(c.name, func(t *testing.T) {
			sim := stacktest.StartSim(t, c.opts)
			if c.setup != nil {
				c.setup(t, sim)
			}
			var yaml []byte
			if c.yaml != nil {
				yaml = c.yaml(sim)
			}
			args := c.args
			for i, a := range args {
				if a == "" && i > 0 && args[i-1] == "--state-dir" {
					args = append([]string{}, args...)
					args[i] = t.TempDir()
				}
			}
			report, code := checkSim(t, sim, yaml, args...)
			if code != c.code {
				t.Errorf("exit %d, want %d:\n%s", code, c.code, report)
			}
			wantLine(t, report, c.verdict, c.topic, c.phrases...)
		})
	}
}

// TestCheckProvisioningNetworkClean: what the fixes above lead to is OK.
func TestCheckProvisioningNetworkClean(t *testing.T) {
	sim := stacktest.StartSim(t, cloudsim.Options{})
	if _, err := sim.AddNetwork(cloudsim.NetworkSpec{Name: "pxe", CIDR: "10.8.0.0/24", NoPortSecurity: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.CreateServer(cloudsim.ServerSpec{Name: "n", Network: "pxe"}); err != nil {
		t.Fatal(err)
	}
	report, _ := checkSim(t, sim, nil)
	wantLine(t, report, "OK", "port-security", "port security is off on network pxe and its 1 node ports")
	wantLine(t, report, "OK", "dhcp", "no Neutron DHCP on network pxe")
	wantLine(t, report, "OK", "macs", "admin may create ports with chosen MACs on network pxe")
}

func TestCheckUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"check", "--node-name-regex", "("},
		{"check", "--demo", "--os-cloud", "x"},
		{"check", "--bogus"},
		{"check", "extra"},
	} {
		var out, errb strings.Builder
		if code := run(t.Context(), args, &out, &errb); code != 2 || errb.Len() == 0 {
			t.Errorf("%q: exit %d, stderr %q; want 2 and a message", args, code, errb.String())
		}
	}
}

// TestCheckBinary runs the built quintupleo: the embedded demo cloud passes;
// an old Nova reached through the OS_* variables of an openrc fails, exit 1.
func TestCheckBinary(t *testing.T) {
	bin := testtool.BuildQuintupleo(t)
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	out, errb, code := testtool.Run(t, withEnv(exec.CommandContext(t.Context(), bin, "check", "--demo"), env))
	if code != 0 || !strings.Contains(out, "OK   nodes: 4 of 4 servers are nodes") || !strings.HasSuffix(out, " 0 FAIL\n") {
		t.Errorf("check --demo: exit %d\n%s\nstderr: %s", code, out, errb)
	}
	sim := stacktest.StartSim(t, cloudsim.Options{Nodes: 1, MaxMicroversion: "2.60"})
	openrc := append(env, "OS_AUTH_URL="+sim.AuthURL(), "OS_USERNAME="+cloudsim.Username, "OS_PASSWORD="+cloudsim.Password,
		"OS_PROJECT_NAME="+cloudsim.ProjectName, "OS_USER_DOMAIN_NAME="+cloudsim.UserDomainName,
		"OS_PROJECT_DOMAIN_NAME="+cloudsim.ProjectDomainName, "OS_REGION_NAME="+cloudsim.Region, "OS_IDENTITY_API_VERSION=3")
	out, errb, code = testtool.Run(t, withEnv(exec.CommandContext(t.Context(), bin, "check"), openrc))
	if code != 1 || !strings.Contains(out, "FAIL compute: Nova serves microversions 2.1 to 2.60") {
		t.Errorf("check of an old Nova: exit %d, want 1\n%s\nstderr: %s", code, out, errb)
	}
}

func withEnv(cmd *exec.Cmd, env []string) *exec.Cmd {
	cmd.Env = env
	return cmd
}
