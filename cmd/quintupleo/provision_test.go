package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"

	"quintupleo/cloudsim"
	"quintupleo/internal/testtool"
	"quintupleo/nodes"
)

// tripleoDomainXML is tripleo-incubator's templates/domain.xml as devtest's
// configure-vm fills it in for a baremetal node: explicit MACs, boot from the
// network, and every element a libvirt host honours and a cloud ignores.
func tripleoDomainXML(name, uuid string, macs ...string) string {
	var nics strings.Builder
	for _, mac := range macs {
		fmt.Fprintf(&nics, `    <interface type='network'>
      <mac address='%s'/>
      <source network='brbm'/>
      <model type='virtio'/>
    </interface>
`, mac)
	}
	uuidLine := ""
	if uuid != "" {
		uuidLine = "  <uuid>" + uuid + "</uuid>\n"
	}
	return `<domain type='kvm'>
  <name>` + name + `</name>
` + uuidLine + `  <memory unit='KiB'>4194304</memory>
  <vcpu>2</vcpu>
  <cpu mode='host-passthrough'/>
  <os>
    <type arch='x86_64'>hvm</type>
    <boot dev='network'/>
    <bootmenu enable='no'/>
  </os>
  <features>
    <acpi/>
    <apic/>
    <pae/>
  </features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>restart</on_crash>
  <devices>
    <controller type='scsi' model='virtio-scsi' index='0'/>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='unsafe'/>
      <source file='/var/lib/libvirt/images/` + name + `.qcow2'/>
      <target dev='sda' bus='scsi'/>
    </disk>
` + nics.String() + `    <serial type='pty'>
      <target port='0'/>
    </serial>
    <console type='pty'>
      <target type='serial' port='0'/>
    </console>
    <input type='mouse' bus='ps2'/>
    <graphics type='vnc' port='-1' autoport='yes'/>
    <video>
      <model type='cirrus' vram='9216' heads='1'/>
    </video>
  </devices>
</domain>
`
}

// writeXML writes an XML file for virsh define.
func writeXML(t *testing.T, xml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "domain.xml")
	if err := os.WriteFile(p, []byte(xml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// cloudState is what a define could leave behind: live servers and ports.
type cloudState struct {
	servers, ports []string
}

func stateOf(sim *cloudsim.Sim) cloudState {
	var st cloudState
	for _, s := range sim.Servers() {
		st.servers = append(st.servers, s.ID+" "+s.Name)
	}
	for _, p := range sim.Ports() {
		st.ports = append(st.ports, p.ID+" "+p.MAC+" "+p.DeviceID)
	}
	return st
}

func (a cloudState) equal(b cloudState) bool {
	return slices.Equal(a.servers, b.servers) && slices.Equal(a.ports, b.ports)
}

// cloudState reads what a define could leave behind straight from the
// env's cloud (cloudsim or a real one): live servers and ports, sorted.
func (e *env) cloudState(t *testing.T) cloudState {
	t.Helper()
	var st cloudState
	sp, err := servers.List(e.cloudClient(t), servers.ListOpts{}).AllPages(t.Context())
	if err != nil {
		t.Fatalf("list servers: %v", err)
	}
	all, err := servers.ExtractServers(sp)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		st.servers = append(st.servers, s.ID+" "+s.Name)
	}
	for _, p := range e.listPorts(t, ports.ListOpts{}) {
		st.ports = append(st.ports, p.ID+" "+p.MACAddress+" "+p.DeviceID+" "+p.Name)
	}
	slices.Sort(st.servers)
	slices.Sort(st.ports)
	return st
}

// listPorts lists the cloud's ports.
func (e *env) listPorts(t *testing.T, opts ports.ListOpts) []ports.Port {
	t.Helper()
	cloud, err := nodes.Connect(t.Context(), e.cloud)
	if err != nil {
		t.Fatal(err)
	}
	pages, err := ports.List(cloud.Network, opts).AllPages(t.Context())
	if err != nil {
		t.Fatalf("list ports: %v", err)
	}
	ps, err := ports.ExtractPorts(pages)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// serverNamed reads the one server called name straight from the cloud (a
// defined domain's UUID may be an alias of the server's ID).
func (e *env) serverNamed(t *testing.T, name string) servers.Server {
	t.Helper()
	pages, err := servers.List(e.cloudClient(t), servers.ListOpts{Name: "^" + name + "$"}).AllPages(t.Context())
	if err != nil {
		t.Fatalf("list servers %s: %v", name, err)
	}
	found, err := servers.ExtractServers(pages)
	if err != nil || len(found) != 1 {
		t.Fatalf("servers named %s: %d (%v)", name, len(found), err)
	}
	return found[0]
}

// serverPorts are the names and MACs of the ports bound to server id, read
// from the cloud.
func (e *env) serverPorts(t *testing.T, id string) (names, macs []string) {
	t.Helper()
	for _, p := range e.listPorts(t, ports.ListOpts{DeviceID: id}) {
		names, macs = append(names, p.Name), append(macs, p.MACAddress)
	}
	slices.Sort(macs)
	return names, macs
}

// undefineAtEnd makes sure a domain the test defines does not outlive it
// (on a real cloud the fixture reset only knows node-*).
func (e *env) undefineAtEnd(t *testing.T, name string) {
	bin := testtool.Require(t, "virsh")
	t.Cleanup(func() {
		// t.Context() has ended by now.
		ctx, cancel := context.WithTimeout(context.Background(), e.clientMax)
		defer cancel()
		run := func(args ...string) error {
			return exec.CommandContext(ctx, bin, append([]string{"-c", e.uri}, args...)...).Run()
		}
		if run("domstate", name) == nil {
			_ = run("destroy", name) // it may be shut off already
			if err := run("undefine", name); err != nil {
				t.Errorf("clean-up: undefine %s: %v", name, err)
			}
		}
	})
}

// TestVirshDefineAndUndefineNewDomain: the real virsh defines a
// tripleo-incubator node (two NICs with explicit MACs, network boot): the
// cloud holds a SHUTOFF server with those MACs on ports quintupleo created,
// the domain answers to the XML's UUID, starts and stops, and undefine
// removes the server and its ports from the cloud. Portable: the cloud's
// state is read with gophercloud, on cloudsim or a real cloud.
func TestVirshDefineAndUndefineNewDomain(t *testing.T) {
	e := startEnv(t)
	const uuid = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
	macs := []string{"00:7d:ab:00:00:01", "00:7d:ab:00:00:02"}
	before := e.cloudState(t)
	e.undefineAtEnd(t, "baremetal_0")

	out := e.mustVirsh(t, "define", writeXML(t, tripleoDomainXML("baremetal_0", uuid, macs...)))
	if !strings.Contains(out, "Domain 'baremetal_0' defined from") {
		t.Fatalf("define: %q", out)
	}
	srv := e.serverNamed(t, "baremetal_0")
	if srv.Status != "SHUTOFF" || srv.Metadata["libvirt:uuid"] != uuid || srv.Metadata["libvirt:pxe-first"] != "1" {
		t.Errorf("server after define: %s, metadata %v", srv.Status, srv.Metadata)
	}
	if f, _ := srv.Flavor["original_name"].(string); f != "baremetal" {
		t.Errorf("flavor %q, want baremetal (the smallest with 4096 MiB and 2 vCPUs)", f)
	}
	portNames, portMACs := e.serverPorts(t, srv.ID)
	if !slices.Equal(portMACs, macs) {
		t.Errorf("server's port MACs %v, want %v", portMACs, macs)
	}
	for _, n := range portNames {
		if !strings.HasPrefix(n, "quintupleo:baremetal_0:") {
			t.Errorf("port %q is not tagged as ours", n)
		}
	}
	if rows := listTable(t, e.mustVirsh(t, "list", "--all")); rows["baremetal_0"] != [2]string{"-", "shut off"} {
		t.Errorf("list --all: baremetal_0 is %v", rows["baremetal_0"])
	}
	if got := strings.TrimSpace(e.mustVirsh(t, "domuuid", "baremetal_0")); got != uuid {
		t.Errorf("domuuid %q, want %q", got, uuid)
	}
	xml := e.mustVirsh(t, "dumpxml", uuid)
	for _, want := range []string{"<name>baremetal_0</name>", "<uuid>" + uuid + "</uuid>", "<boot dev='network'/>",
		"<mac address='" + macs[0] + "'/>", "<mac address='" + macs[1] + "'/>", "<source network='provision'/>",
		"<memory unit='KiB'>4194304</memory>", "<vcpu placement='static'>2</vcpu>"} {
		if !strings.Contains(xml, want) {
			t.Errorf("dumpxml lacks %s:\n%s", want, xml)
		}
	}

	// The same name or UUID again: libvirt's errors, nothing created.
	mid := e.cloudState(t)
	_, errOut, code := e.virsh(t, "define", writeXML(t, tripleoDomainXML("baremetal_0", "11111111-2222-3333-4444-555555555555", "00:7d:ab:00:00:09")))
	if code == 0 || !strings.Contains(errOut, "error: operation failed: domain 'baremetal_0' already exists with uuid "+uuid) {
		t.Errorf("define of a taken name: exit %d, %s", code, errOut)
	}
	if !e.cloudState(t).equal(mid) {
		t.Errorf("a refused define changed the cloud")
	}

	e.mustVirsh(t, "start", "baremetal_0")
	if s := e.serverNamed(t, "baremetal_0"); s.Status != "ACTIVE" {
		t.Errorf("after start: %s", s.Status)
	}
	// (An undefine now would make it transient: transient_test.go.)
	e.mustVirsh(t, "destroy", "baremetal_0")
	out = e.mustVirsh(t, "undefine", "--managed-save", "--snapshots-metadata", "--nvram", "baremetal_0")
	if !strings.Contains(out, "Domain 'baremetal_0' has been undefined") {
		t.Errorf("undefine: %q", out)
	}
	if after := e.cloudState(t); !after.equal(before) {
		t.Errorf("undefine left debris:\nbefore %v\nafter  %v", before, after)
	}
	if _, errOut, code := e.virsh(t, "domstate", uuid); code == 0 || !strings.Contains(errOut, "failed to get domain") {
		t.Errorf("domstate after undefine: exit %d, %s", code, errOut)
	}
}

// TestDefineNewDomainKeepsTitleDescriptionMetadata: a new domain's <title>,
// <description> and <metadata> are kept as an edit keeps them, written with
// the server itself (no metadata write after the create), and a second
// quintupleo over the same cloud shows them.
func TestDefineNewDomainKeepsTitleDescriptionMetadata(t *testing.T) {
	e := startEnv(t)
	// More than one chunk of description, to cover the chunking.
	long := strings.Repeat("0123456789", 40)
	xml := strings.Replace(tripleoDomainXML("kept_0", "", "00:7d:ab:00:30:01"), "  <memory ",
		"  <title>rack 4 &amp; slot 2</title>\n  <description>"+long+"</description>\n"+
			"  <metadata><q:node xmlns:q=\"http://example.org/q\" role=\"ctl\"/></metadata>\n  <memory ", 1)
	since := e.lastSeq()
	e.mustVirsh(t, "define", writeXML(t, xml))
	for _, w := range e.cloudWrites(t, since) {
		// The one write after it removes the define's in-progress marker
		// (nodes.MetaDefining, docs/reliability.md).
		if strings.Contains(w, "/metadata") && !strings.HasSuffix(w, "/metadata/"+nodes.MetaDefining) {
			t.Errorf("metadata written after the create: %s", w)
		}
	}
	want := "  <title>rack 4 &amp; slot 2</title>\n  <description>" + long + "</description>\n" +
		"  <metadata>\n    <q:node xmlns:q=\"http://example.org/q\" role=\"ctl\"/>\n  </metadata>\n"
	if got := keptLines(e.restart(t).mustVirsh(t, "dumpxml", "kept_0")); got != want {
		t.Errorf("dumpxml from a second quintupleo:\n%s\nwant:\n%s", got, want)
	}
	srv, _ := e.sim.Server("kept_0")
	if srv.Metadata["libvirt:description.1"] == "" {
		t.Errorf("description not chunked: %v", srv.Metadata)
	}
	// Past the limit nothing is created.
	before := stateOf(e.sim)
	huge := strings.Replace(tripleoDomainXML("kept_1", "", "00:7d:ab:00:30:02"), "  <memory ",
		"  <description>"+strings.Repeat("x", 65*255)+"</description>\n  <memory ", 1)
	if _, errOut, code := e.virsh(t, "define", writeXML(t, huge)); code == 0 ||
		!strings.Contains(errOut, "unsupported configuration: <title>, <description> and <metadata> of domain 'kept_1' take 65 cloud metadata items; the cloud keeps at most 64") {
		t.Errorf("define past the limit: exit %d, %s", code, errOut)
	}
	if !stateOf(e.sim).equal(before) {
		t.Errorf("a refused define changed the cloud")
	}
}
