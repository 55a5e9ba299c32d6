package main

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"quintupleo/internal/testtool"
)

// debianPython is Debian's /usr/bin/python3 (where python3-libvirt lives),
// not whichever python3 comes first on PATH; skipped (failed under CI) when
// it or the bindings are missing.
func debianPython(t *testing.T) string {
	t.Helper()
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import libvirt").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("python3-libvirt is required when CI is set (scripts/test.sh installs it): %v", err)
		}
		t.Skipf("python3-libvirt not installed: %v", err)
	}
	return py
}

// TestLibvirtPythonDefineXML is devtest's configure-vm: libvirt-python's
// defineXML of tripleo-incubator's domain XML, then create and destroy, then
// undefine, as its cleanup does.
func TestLibvirtPythonDefineXML(t *testing.T) {
	py := debianPython(t)
	e := startEnv(t)
	before := stateOf(e.sim)
	script := `
import sys, libvirt
conn = libvirt.open(sys.argv[1])
dom = conn.defineXML(open(sys.argv[2]).read())
print(dom.name(), dom.UUIDString(), dom.isActive(), dom.isPersistent())
dom.create(); print("active", dom.isActive())
dom.destroy(); print("active", dom.isActive())
try:
    conn.defineXML(open(sys.argv[2]).read().replace("0a0a0a0a", "0b0b0b0b"))
except libvirt.libvirtError as err:
    print("error", err.get_error_code(), err.get_error_domain(), err.get_error_message())
dom.undefine()
print("left", len(conn.listAllDomains()))
`
	xml := writeXML(t, tripleoDomainXML("seed_0", "0a0a0a0a-1111-2222-3333-444444444444", "00:7d:ab:00:10:01", "00:7d:ab:00:10:02"))
	ctx, cancel := context.WithTimeout(t.Context(), e.clientMax)
	defer cancel()
	out, errOut, code := testtool.Run(t, exec.CommandContext(ctx, py, "-c", script, e.uri, xml))
	want := "seed_0 0a0a0a0a-1111-2222-3333-444444444444 0 1\nactive 1\nactive 0\n" +
		"error 9 20 operation failed: domain 'seed_0' already exists with uuid 0a0a0a0a-1111-2222-3333-444444444444\nleft 5\n"
	if code != 0 || out != want {
		t.Fatalf("libvirt-python: exit %d\n%s\nstderr: %s\nwant:\n%s", code, out, errOut, want)
	}
	waitState(t, e.sim, before)
}

// TestSSHDefinedNodeMACs: a node defined with virsh is seen by Ironic's
// ssh driver pipelines (its MACs, its power state) over the SSH endpoint.
func TestSSHDefinedNodeMACs(t *testing.T) {
	var client sshClient
	e := startEnv(t, withSSH(t, &client))
	e.mustVirsh(t, "define", writeXML(t, tripleoDomainXML("baremetal_1", "", "00:7d:ab:00:20:01", "00:7d:ab:00:20:02")))
	base := "LC_ALL=C /usr/bin/virsh --connect qemu:///system "
	out, errOut, code := e.ssh(t, &client, base+`dumpxml baremetal_1 | awk -F "'" '/mac address/{print $2}'| tr -d ':'`)
	if code != 0 || out != "007dab002001\n007dab002002\n" {
		t.Errorf("Ironic MAC pipeline: exit %d, %q %s", code, out, errOut)
	}
	out, _, code = e.ssh(t, &client, base+"list --all --name")
	if code != 0 || !slices.Contains(names(out), "baremetal_1") {
		t.Errorf("list --all --name: %q", out)
	}
	if out, _, _ := e.ssh(t, &client, base+"list --name"); strings.Contains(out, "baremetal_1") {
		t.Errorf("a defined node runs: %q", out)
	}
}
