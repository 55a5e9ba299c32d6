package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"quintupleo/internal/testtool"
)

// debianPython is Debian's /usr/bin/python3 with python3-libvirt.
func debianPython(t *testing.T) string {
	t.Helper()
	return testtool.DebianPython(t, "libvirt", "python3-libvirt")
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

// virtInstall runs Debian's virt-install against the env; it writes its log
// under HOME.
func (e *env) virtInstall(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	bin := testtool.Require(t, "virt-install")
	ctx, cancel := context.WithTimeout(t.Context(), e.clientMax)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--connect", e.uri, "--noautoconsole", "--os-variant", "generic"}, args...)...)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "HOME="+t.TempDir())
	return testtool.Run(t, cmd)
}

// TestVirtInstallPXENode: virt-install --pxe (createXML of its install XML,
// then defineXML of the final one) makes a running, persistent node with the
// MAC asked for; --import --noreboot defines one shut off; virsh undefine
// (after destroy) leaves the cloud as it was.
func TestVirtInstallPXENode(t *testing.T) {
	e := startEnv(t)
	before := stateOf(e.sim)
	const mac = "52:54:00:aa:bb:01"
	if out, errOut, code := e.virtInstall(t, "--name", "n1", "--memory", "1024", "--vcpus", "1", "--pxe",
		"--network", "network=provision,mac="+mac, "--disk", "none"); code != 0 {
		t.Fatalf("virt-install --pxe: exit %d\n%s\n%s", code, out, errOut)
	}
	if rows := listTable(t, e.mustVirsh(t, "list", "--all")); rows["n1"][1] != "running" {
		t.Errorf("list --all: n1 is %v", rows["n1"])
	}
	if xml := e.mustVirsh(t, "dumpxml", "n1"); !strings.Contains(xml, "<mac address='"+mac+"'/>") || !strings.Contains(xml, "<boot dev='network'/>") {
		t.Errorf("dumpxml n1:\n%s", xml)
	}
	if p := e.persistent(t, "n1"); p != "yes" {
		t.Errorf("n1 Persistent: %s", p)
	}
	srv, _ := e.sim.Server("n1")
	if _, transient := srv.Metadata["libvirt:transient"]; transient || !slices.Equal(srv.MACs, []string{mac}) || srv.Status != "ACTIVE" {
		t.Errorf("server n1: %s %v %v", srv.Status, srv.MACs, srv.Metadata)
	}
	e.mustVirsh(t, "destroy", "n1")
	e.mustVirsh(t, "undefine", "n1")
	if after := stateOf(e.sim); !after.equal(before) {
		t.Errorf("undefine left:\nbefore %v\nafter  %v", before, after)
	}

	if out, errOut, code := e.virtInstall(t, "--name", "n2", "--memory", "1024", "--vcpus", "1", "--import", "--noreboot",
		"--network", "network=provision,mac=52:54:00:aa:bb:02", "--disk", "none"); code != 0 {
		t.Fatalf("virt-install --import --noreboot: exit %d\n%s\n%s", code, out, errOut)
	}
	if rows := listTable(t, e.mustVirsh(t, "list", "--all")); rows["n2"] != [2]string{"-", "shut off"} {
		t.Errorf("list --all: n2 is %v", rows["n2"])
	}
	e.mustVirsh(t, "undefine", "n2")
	if after := stateOf(e.sim); !after.equal(before) {
		t.Errorf("undefine left:\nbefore %v\nafter  %v", before, after)
	}
}

// ansibleVirt runs one community.libvirt.virt task (Debian's ansible
// package) against the env, on Debian's python3 where python3-libvirt is.
func (e *env) ansibleVirt(t *testing.T, args string) string {
	t.Helper()
	bin := testtool.Require(t, "ansible-playbook")
	debianPython(t)
	home := t.TempDir()
	play := filepath.Join(home, "play.yml")
	body := "- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n" +
		"    - community.libvirt.virt:\n        uri: " + e.uri + "\n" + args +
		"      register: r\n    - debug: var=r\n"
	if err := os.WriteFile(play, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), e.clientMax)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-i", "localhost,", "-e", "ansible_python_interpreter=/usr/bin/python3", play)
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8", "HOME="+home, "ANSIBLE_LOCALHOST_WARNING=false", "ANSIBLE_NOCOLOR=1")
	out, errOut, code := testtool.Run(t, cmd)
	if code != 0 {
		t.Fatalf("ansible-playbook (%s): exit %d\n%s\n%s", strings.TrimSpace(args), code, out, errOut)
	}
	return out
}

// TestAnsibleVirtDefineUndefine: Ansible's community.libvirt.virt
// command=define creates the SHUTOFF server with the XML's MACs;
// command=undefine removes server and ports.
func TestAnsibleVirtDefineUndefine(t *testing.T) {
	e := startEnv(t)
	before := stateOf(e.sim)
	macs := []string{"00:7d:ab:00:50:01", "00:7d:ab:00:50:02"}
	xml := writeXML(t, tripleoDomainXML("ans_0", "", macs...))
	e.ansibleVirt(t, "        command: define\n        xml: \"{{ lookup('file', '"+xml+"') }}\"\n")
	srv, ok := e.sim.Server("ans_0")
	if !ok || srv.Status != "SHUTOFF" || !slices.Equal(srv.MACs, macs) {
		t.Fatalf("server after define: %+v (found %v)", srv, ok)
	}
	if out := e.ansibleVirt(t, "        name: ans_0\n        command: status\n"); !strings.Contains(out, `"status": "shutdown"`) {
		t.Errorf("status:\n%s", out)
	}
	e.ansibleVirt(t, "        name: ans_0\n        command: undefine\n")
	if after := stateOf(e.sim); !after.equal(before) {
		t.Errorf("undefine left:\nbefore %v\nafter  %v", before, after)
	}
}

// TestVirtInstallImportUsesDomainCapabilities: a plain virt-install
// --import (no --print-xml: it defines and starts the domain) reads
// capabilities and domain capabilities from quintupleo and warns about
// nothing but the OS variant the test chose; the node it makes runs and is
// persistent, and undefine after destroy removes it.
func TestVirtInstallImportUsesDomainCapabilities(t *testing.T) {
	e := startEnv(t)
	_, errOut, code := e.virtInstall(t, "--debug", "--name", "n3", "--memory", "1024", "--vcpus", "1", "--import",
		"--network", "network=provision", "--disk", "none")
	if code != 0 {
		t.Fatalf("virt-install --import: exit %d\n%s", code, errOut)
	}
	if !strings.Contains(errOut, "Fetched domain capabilities for (/usr/bin/qemu-system-x86_64,x86_64,pc-i440fx-7.2,kvm)") {
		t.Errorf("virt-install did not read domain capabilities:\n%s", errOut)
	}
	for l := range strings.SplitSeq(errOut, "\n") {
		if (strings.Contains(l, " WARNING ") || strings.Contains(l, "ERROR")) && !strings.Contains(l, "Using --osinfo generic") {
			t.Errorf("virt-install: %s", l)
		}
	}
	if rows := listTable(t, e.mustVirsh(t, "list", "--all")); rows["n3"][1] != "running" {
		t.Errorf("list --all: n3 is %v", rows["n3"])
	}
	if p := e.persistent(t, "n3"); p != "yes" {
		t.Errorf("n3 Persistent: %s", p)
	}
	e.mustVirsh(t, "destroy", "n3")
	e.mustVirsh(t, "undefine", "n3")
	if rows := listTable(t, e.mustVirsh(t, "list", "--all")); rows["n3"] != [2]string{} {
		t.Errorf("n3 still listed after undefine: %v", rows["n3"])
	}
}
