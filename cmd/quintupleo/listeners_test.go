package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"

	"quintupleo/cloudsim"
	"quintupleo/internal/testtool"
)

func TestUnixSocketsReadWriteAndReadOnly(t *testing.T) {
	dir := t.TempDir()
	rw, ro := filepath.Join(dir, "libvirt-sock"), filepath.Join(dir, "libvirt-sock-ro")
	e := startEnv(t, func(_ *cloudsim.Options, c *serveConfig) { c.listenUnix, c.readOnlyUnix = rw, ro })
	bin := testtool.Require(t, "virsh")
	run := func(uri string, args ...string) (string, string, error) {
		cmd := exec.CommandContext(t.Context(), bin, append([]string{"-c", uri}, args...)...)
		cmd.Env = append(os.Environ(), "LC_ALL=C", "HOME="+t.TempDir())
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		return out.String(), errOut.String(), err
	}

	out, errOut, err := run("qemu+unix:///system?socket="+rw, "start", "node-1")
	if err != nil {
		t.Fatalf("start over the unix socket: %v\n%s", err, errOut)
	}
	if !strings.Contains(out, "Domain 'node-1' started") {
		t.Errorf("start over the unix socket: %q", out)
	}
	// The read-only socket reads, whatever the client asks, and refuses changes.
	out, _, err = run("qemu+unix:///system?socket="+ro, "list", "--name")
	if err != nil || !slices.Equal(names(out), []string{"node-1"}) {
		t.Errorf("list over the read-only socket: %q, %v", out, err)
	}
	if _, errOut, err := run("qemu+unix:///system?socket="+ro, "destroy", "node-1"); err == nil || !strings.Contains(errOut, "read only access prevents") {
		t.Errorf("destroy over the read-only socket: %v, %q", err, errOut)
	}
	if got := strings.TrimSpace(e.mustVirsh(t, "domstate", "node-1")); got != "running" {
		t.Errorf("after a refused destroy, node-1 is %q", got)
	}
}

func TestNodeFilters(t *testing.T) {
	e := startEnv(t, func(_ *cloudsim.Options, c *serveConfig) { c.nameRegex = "^node-[0-2]$" })
	if got := names(e.mustVirsh(t, "list", "--all", "--name")); !slices.Equal(got, []string{"node-0", "node-1", "node-2"}) {
		t.Errorf("--node-name-regex: domains %q", got)
	}

	m := startEnv(t, func(_ *cloudsim.Options, c *serveConfig) { c.nodeMetadata = "role=virtual-bm" })
	if got := names(m.mustVirsh(t, "list", "--all", "--name")); len(got) != 0 {
		t.Fatalf("--node-metadata with no tagged server: domains %q", got)
	}
	// Tag one server in the cloud: it becomes a domain within the refresh.
	lines := m.eventStream(t)
	info, _ := m.sim.Server("node-3")
	if _, err := servers.CreateMetadatum(t.Context(), m.cloudClient(t), info.ID, servers.MetadatumOpts{"role": "virtual-bm"}).Extract(); err != nil {
		t.Fatal(err)
	}
	waitLine(t, lines, "event 'lifecycle' for domain 'node-3': Defined Added")
	if got := names(m.mustVirsh(t, "list", "--all", "--name")); !slices.Equal(got, []string{"node-3"}) {
		t.Errorf("--node-metadata after tagging node-3: domains %q", got)
	}
}
