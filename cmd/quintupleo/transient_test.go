package main

// Transient domains (virDomainCreateXML) on the cloud, driven by the real
// virsh: created running, gone when they stop, made persistent by a define
// of the same name and UUID (virt-install's sequence). Expected answers are
// the real libvirtd 9.0's (test driver, and the QEMU driver's wording for
// undefine of a transient domain).

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"quintupleo/cloudsim"
)

// persistent is dominfo's "Persistent:" value.
func (e *env) persistent(t *testing.T, dom string) string {
	t.Helper()
	for _, l := range strings.Split(e.mustVirsh(t, "dominfo", dom), "\n") {
		if v, ok := strings.CutPrefix(l, "Persistent:"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("dominfo %s has no Persistent line", dom)
	return ""
}

func TestVirshCreateTransientDomain(t *testing.T) {
	e := startEnv(t)
	before := stateOf(e.sim)
	const uuid = "0f1e2d3c-4b5a-6978-8796-000000000001"
	file := writeXML(t, tripleoDomainXML("tr_0", uuid, "00:7d:ab:00:40:01"))
	if out := e.mustVirsh(t, "create", file); !strings.Contains(out, "Domain 'tr_0' created from "+file) {
		t.Fatalf("create: %q", out)
	}
	srv, _ := e.sim.Server("tr_0")
	if srv.Status != "ACTIVE" || srv.Metadata["libvirt:transient"] != "1" || srv.MACs[0] != "00:7d:ab:00:40:01" {
		t.Fatalf("server after create: %s %v %v", srv.Status, srv.Metadata, srv.MACs)
	}
	if rows := listTable(t, e.mustVirsh(t, "list")); rows["tr_0"][1] != "running" {
		t.Errorf("list: tr_0 is %v", rows["tr_0"])
	}
	if p := e.persistent(t, "tr_0"); p != "no" {
		t.Errorf("Persistent: %s", p)
	}
	if out := names(e.mustVirsh(t, "list", "--transient", "--name")); len(out) != 1 || out[0] != "tr_0" {
		t.Errorf("list --transient: %v", out)
	}

	mid := stateOf(e.sim)
	for _, c := range []struct{ xml, want string }{
		{tripleoDomainXML("tr_0", uuid, "00:7d:ab:00:40:01"), "error: Requested operation is not valid: domain 'tr_0' is already active"},
		{tripleoDomainXML("tr_0", "11111111-2222-3333-4444-555555555555", "00:7d:ab:00:40:09"), "error: operation failed: domain 'tr_0' already exists with uuid " + uuid},
		{tripleoDomainXML("tr_9", uuid, "00:7d:ab:00:40:09"), "error: operation failed: domain 'tr_0' is already defined with uuid " + uuid},
	} {
		if _, errOut, code := e.virsh(t, "create", writeXML(t, c.xml)); code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("create: exit %d, %s; want %s", code, errOut, c.want)
		}
	}
	if _, errOut, code := e.virsh(t, "undefine", "tr_0"); code == 0 || !strings.Contains(errOut, "error: Requested operation is not valid: cannot undefine transient domain") {
		t.Errorf("undefine of a transient domain: exit %d, %s", code, errOut)
	}
	if !stateOf(e.sim).equal(mid) {
		t.Errorf("a refused create or undefine changed the cloud")
	}

	// destroy: gone when the call returns, server and ports.
	e.mustVirsh(t, "destroy", "tr_0")
	if rows := listTable(t, e.mustVirsh(t, "list", "--all")); rows["tr_0"] != [2]string{} {
		t.Errorf("list --all after destroy: tr_0 is %v", rows["tr_0"])
	}
	if after := stateOf(e.sim); !after.equal(before) {
		t.Errorf("destroy of a transient domain left:\nbefore %v\nafter  %v", before, after)
	}

	// The guest powers off by itself (Nova's power sync): quintupleo sees
	// it stop and deletes it.
	e.mustVirsh(t, "create", writeXML(t, tripleoDomainXML("tr_1", "", "00:7d:ab:00:40:02")))
	if err := e.sim.SetPower("tr_1", false); err != nil {
		t.Fatal(err)
	}
	waitState(t, e.sim, before)
}

// TestVirshCreateThenDefineMakesPersistent is virt-install's sequence:
// createXML(install XML), then defineXML(final XML) of the same name and
// UUID, which makes the running domain persistent. And the reverse: an
// undefine of a running persistent domain makes it transient.
func TestVirshCreateThenDefineMakesPersistent(t *testing.T) {
	e := startEnv(t)
	before := stateOf(e.sim)
	const uuid = "0f1e2d3c-4b5a-6978-8796-000000000002"
	install := tripleoDomainXML("vi_0", uuid, "00:7d:ab:00:41:01")
	// The final XML differs in what a cloud ignores (virt-install drops
	// <on_reboot>destroy</on_reboot> of its install phase) and sets a title.
	install = strings.Replace(install, "<on_reboot>restart</on_reboot>", "<on_reboot>destroy</on_reboot>", 1)
	final := strings.Replace(tripleoDomainXML("vi_0", uuid, "00:7d:ab:00:41:01"), "  <memory ", "  <title>installed</title>\n  <memory ", 1)
	e.mustVirsh(t, "create", writeXML(t, install))
	if out := e.mustVirsh(t, "define", writeXML(t, final)); !strings.Contains(out, "Domain 'vi_0' defined from") {
		t.Fatalf("define after create: %q", out)
	}
	if p := e.persistent(t, "vi_0"); p != "yes" {
		t.Errorf("Persistent after define: %s", p)
	}
	srv, _ := e.sim.Server("vi_0")
	if _, marked := srv.Metadata["libvirt:transient"]; marked || srv.Metadata["libvirt:title.0"] != "installed" {
		t.Errorf("metadata after define: %v", srv.Metadata)
	}
	// Still running; a stop now leaves it defined.
	e.mustVirsh(t, "destroy", "vi_0")
	if rows := listTable(t, e.mustVirsh(t, "list", "--all")); rows["vi_0"] != [2]string{"-", "shut off"} {
		t.Errorf("list --all after destroy: vi_0 is %v", rows["vi_0"])
	}

	// A final XML that is another server (another MAC) is refused.
	e.mustVirsh(t, "start", "vi_0")
	e.mustVirsh(t, "undefine", "vi_0")
	if p := e.persistent(t, "vi_0"); p != "no" {
		t.Errorf("Persistent after undefine of a running domain: %s", p)
	}
	other := tripleoDomainXML("vi_0", uuid, "00:7d:ab:00:41:09")
	if _, errOut, code := e.virsh(t, "define", writeXML(t, other)); code == 0 ||
		!strings.Contains(errOut, "error: unsupported configuration: cannot change interfaces of domain 'vi_0' in the cloud") {
		t.Errorf("define of another MAC over a transient domain: exit %d, %s", code, errOut)
	}
	// Undefined while running: it vanishes when it stops. shutdown returns
	// once the stop is asked for, as libvirt's does; the server is deleted
	// when the guest is off, so wait for it (checking at once raced the
	// reap and failed CI).
	e.mustVirsh(t, "shutdown", "vi_0")
	waitState(t, e.sim, before)
}

// TestVirshDestroyTransientWhileItsReaperRuns: the refresh loop can see a
// transient domain stop before destroy's own poll does, and its reaper then
// deletes the server while destroy still waits for SHUTOFF. destroy must
// still succeed — the domain is gone, as it promises — and return only once
// the server and its ports are. A refresh far faster than the action's
// polls makes that order the usual one.
func TestVirshDestroyTransientWhileItsReaperRuns(t *testing.T) {
	e := startEnv(t, func(_ *cloudsim.Options, c *serveConfig) {
		c.refresh, c.pollInterval = 5*time.Millisecond, 400*time.Millisecond
	})
	before := stateOf(e.sim)
	for i, mac := range []string{"00:7d:ab:00:41:01", "00:7d:ab:00:41:02", "00:7d:ab:00:41:03"} {
		name := fmt.Sprintf("tr_reap%d", i)
		e.mustVirsh(t, "create", writeXML(t, tripleoDomainXML(name, "", mac)))
		if _, errOut, code := e.virsh(t, "destroy", name); code != 0 {
			t.Fatalf("destroy %s while its reaper runs: exit %d, %s", name, code, errOut)
		}
		if after := stateOf(e.sim); !after.equal(before) {
			t.Fatalf("destroy of %s returned before its server and ports were gone:\nbefore %v\nafter  %v", name, before, after)
		}
	}
}
