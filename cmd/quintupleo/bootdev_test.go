package main

// Boot device (issue 5): virsh edit with Ironic's sed script, virsh define of
// an edited dumpxml and go-libvirt's DomainDefineXMLFlags switch nodes
// between network and disk under each strategy, visible in Nova and kept
// across restarts; bad XML changes nothing.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/digitalocean/go-libvirt"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"

	"quintupleo/cloudsim"
	"quintupleo/nodes"
)

// Ironic's set_boot_device command, with {_BootDevice_} filled in (see
// ironic_ssh_virsh_cmds.txt); virsh edit runs $EDITOR on its temp file.
func ironicSedEditor(dev string) string {
	return `sed -i '/<boot \(dev\|order\)=*\>/d;/<\/os>/i\<boot dev="` + dev + `"/>'`
}

// Ironic's get_boot_device pipeline, applied to dumpxml output.
func ironicBootDevice(t *testing.T, xml string) string {
	t.Helper()
	var out []string
	for _, l := range strings.Split(xml, "\n") {
		if i := strings.Index(l, "<boot dev='"); i >= 0 {
			rest := l[i+len("<boot dev='"):]
			out = append(out, rest[:strings.IndexByte(rest, '\'')])
		}
	}
	if len(out) != 1 {
		t.Fatalf("dumpxml has %d <boot dev> elements, want exactly 1:\n%s", len(out), xml)
	}
	return out[0]
}

func (e *env) virshEdit(t *testing.T, domain, dev string) string {
	t.Helper()
	t.Setenv("EDITOR", ironicSedEditor(dev))
	return e.mustVirsh(t, "edit", domain)
}

func withBoot(strategy, stateDir string) envOption {
	return func(_ *cloudsim.Options, c *serveConfig) {
		c.bootStrategy = strategy
		c.ipxeImage = "ipxe-boot"
		c.stateDir = stateDir
		c.allowRebuild = strategy == "rebuild"
	}
}

// actions returns the Nova server actions quintupleo sent since the last call.
func (e *env) actions() []string {
	a, _ := e.nova.take()
	return a
}

func TestBootDeviceMetadataStrategy(t *testing.T) {
	e := startEnv(t, withBoot("metadata", ""))

	if out := e.virshEdit(t, "node-1", "network"); !strings.Contains(out, "Domain 'node-1' XML configuration edited.") {
		t.Fatalf("virsh edit: %q", out)
	}
	if got := ironicBootDevice(t, e.mustVirsh(t, "dumpxml", "node-1")); got != "network" {
		t.Errorf("boot device after edit = %q", got)
	}
	if info := e.server(t, "node-1"); info.Metadata[nodes.MetaPXEFirst] != "1" {
		t.Errorf("Nova metadata after network edit = %v", info.Metadata)
	}
	// Setting the same device again: the sed script still rewrites the
	// file (double quotes), so virsh defines it, and the define is a no-op.
	e.nova.take()
	e.virshEdit(t, "node-1", "network")
	if _, writes := e.nova.take(); len(writes) != 0 {
		t.Errorf("a no-op edit wrote to the cloud: %q", writes)
	}

	// virsh define of an edited dumpxml switches back to disk.
	xml := e.mustVirsh(t, "dumpxml", "--inactive", "node-1")
	xml = strings.Replace(xml, "<boot dev='network'/>", "<boot dev='hd'/>", 1)
	file := filepath.Join(t.TempDir(), "node-1.xml")
	if err := os.WriteFile(file, []byte(xml), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := e.mustVirsh(t, "define", file); !strings.Contains(out, "Domain 'node-1' defined from "+file) {
		t.Errorf("virsh define: %q", out)
	}
	if info := e.server(t, "node-1"); info.Metadata[nodes.MetaPXEFirst] != "" {
		t.Errorf("Nova metadata after hd define = %v", info.Metadata)
	}

	// go-libvirt's DomainDefineXMLFlags, as VirtualBMC uses it.
	l := e.golibvirt(t)
	d, err := l.DomainLookupByName("node-2")
	if err != nil {
		t.Fatal(err)
	}
	cur, err := l.DomainGetXMLDesc(d, libvirt.DomainXMLInactive)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.DomainDefineXMLFlags(strings.Replace(cur, "<boot dev='hd'/>", "<boot dev='network'/>", 1), libvirt.DomainDefineValidate); err != nil {
		t.Fatalf("DomainDefineXMLFlags: %v", err)
	}
	if got := ironicBootDevice(t, e.mustVirsh(t, "dumpxml", "node-2")); got != "network" {
		t.Errorf("boot device after DomainDefineXMLFlags = %q", got)
	}

	// The full PXE-deploy cycle: network → start → destroy → hd → start.
	e.actions()
	e.mustVirsh(t, "start", "node-2")
	e.mustVirsh(t, "destroy", "node-2")
	e.virshEdit(t, "node-2", "hd")
	e.mustVirsh(t, "start", "node-2")
	if got, want := e.actions(), []string{"os-start", "os-stop", "os-start"}; !slices.Equal(got, want) {
		t.Errorf("Nova actions of the PXE cycle = %q, want %q", got, want)
	}
}

// description reads a server's description straight from the cloud (nil:
// none), which gophercloud's servers.Server does not carry.
func (e *env) description(t *testing.T, name string) *string {
	t.Helper()
	var s struct {
		Description *string `json:"description"`
	}
	if err := servers.Get(t.Context(), e.cloudClient(t), e.serverID(t, name)).ExtractInto(&s); err != nil {
		t.Fatalf("get server %s: %v", name, err)
	}
	return s.Description
}

// setDescription sets a server's description in the cloud, as an operator
// would (openstack server set --description), and puts the old one back
// when the test ends: the real cloud's fixture reset leaves descriptions.
func (e *env) setDescription(t *testing.T, name, desc string) {
	t.Helper()
	c, id := e.cloudClient(t), e.serverID(t, name)
	put := func(ctx context.Context, d *string) error {
		return servers.Update(ctx, c, id, describeOpts{d}).Err
	}
	old := e.description(t, name)
	if err := put(t.Context(), &desc); err != nil {
		t.Fatalf("set the description of %s: %v", name, err)
	}
	t.Cleanup(func() { put(context.WithoutCancel(t.Context()), old) })
}

// describeOpts is PUT /servers/{id} with a description (nil: null).
type describeOpts struct{ desc *string }

func (o describeOpts) ToServerUpdateMap() (map[string]any, error) {
	return map[string]any{"server": map[string]any{"description": o.desc}}, nil
}

func TestBootDeviceRescueStrategy(t *testing.T) {
	e := startEnv(t, withBoot("rescue", ""))
	const operator = "rack 4, slot 2"
	e.setDescription(t, "node-1", operator)

	// Network boot: the next start is a Nova rescue with the iPXE image.
	e.virshEdit(t, "node-1", "network")
	if info := e.server(t, "node-1"); info.Metadata[nodes.MetaPXEFirst] != "1" {
		t.Errorf("Nova metadata after network edit = %v", info.Metadata)
	}
	e.actions()
	e.mustVirsh(t, "start", "node-1")
	if info := e.server(t, "node-1"); info.Status != "RESCUE" {
		t.Fatalf("after a network boot the server is %s, want RESCUE", info.Status)
	}
	if got := names(e.mustVirsh(t, "list", "--name")); !slices.Equal(got, []string{"node-1"}) {
		t.Errorf("running domains while booted from the network = %q", got)
	}

	// Ironic switches to disk while the node runs its deploy (rescued):
	// Nova refuses metadata writes now, so the choice goes to the end of
	// the server's description...
	e.virshEdit(t, "node-1", "hd")
	if got := ironicBootDevice(t, e.mustVirsh(t, "dumpxml", "node-1")); got != "hd" {
		t.Errorf("boot device read back while rescued = %q, want hd", got)
	}
	if d := e.description(t, "node-1"); d == nil || *d != operator+" [quintupleo:boot=disk]" {
		t.Errorf("description while rescued = %v, want the operator's text and the mark", shown(d))
	}
	// ...where another quintupleo over the cloud, sharing nothing else,
	// reads it.
	e2 := e.restart(t, withBoot("rescue", ""))
	if got := ironicBootDevice(t, e2.mustVirsh(t, "dumpxml", "node-1")); got != "hd" {
		t.Errorf("boot device on a second quintupleo = %q, want hd", got)
	}

	// Power off: unrescue, stop, and the pending choice reaches Nova's
	// metadata; the description is the operator's again.
	e2.mustVirsh(t, "destroy", "node-1")
	info := e.server(t, "node-1")
	if info.Status != "SHUTOFF" || info.Metadata[nodes.MetaPXEFirst] != "" {
		t.Errorf("after destroy: %s, metadata %v; want SHUTOFF and pxe-first cleared", info.Status, info.Metadata)
	}
	if d := e.description(t, "node-1"); d == nil || *d != operator {
		t.Errorf("description after destroy = %v, want %q", shown(d), operator)
	}
	e2.mustVirsh(t, "start", "node-1")
	if info := e.server(t, "node-1"); info.Status != "ACTIVE" {
		t.Errorf("disk boot: server is %s, want ACTIVE", info.Status)
	}
	if got, want := append(e.actions(), e2.actions()...), []string{"rescue", "unrescue", "os-stop", "os-start"}; !slices.Equal(got, want) {
		t.Errorf("Nova actions of the PXE cycle = %q, want %q", got, want)
	}
}

// shown prints a description for a failure message, null as <null>.
func shown(s *string) string {
	if s == nil {
		return "<null>"
	}
	return fmt.Sprintf("%q", *s)
}

func TestBootDeviceRebuildStrategy(t *testing.T) {
	e := startEnv(t, withBoot("rebuild", ""))
	e.virshEdit(t, "node-0", "network")
	e.actions()
	e.mustVirsh(t, "start", "node-0")
	e.mustVirsh(t, "destroy", "node-0")
	e.virshEdit(t, "node-0", "hd")
	e.mustVirsh(t, "start", "node-0")
	if got, want := e.actions(), []string{"rebuild", "os-start", "os-stop", "os-start"}; !slices.Equal(got, want) {
		t.Errorf("Nova actions of the PXE cycle = %q, want %q", got, want)
	}
}

func TestRebuildStrategyNeedsExplicitOptIn(t *testing.T) {
	cfg := serveConfig{bootFlags: bootFlags{bootStrategy: "rebuild", ipxeImage: "ipxe-boot"},
		cloudFlags: cloudFlags{demo: true, demoNodes: 1}, refresh: 1, actionTimeout: 1}
	_, err := newStack(t.Context(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), "allow-destructive-rebuild") {
		t.Errorf("rebuild without opt-in: %v", err)
	}
}

func TestDefineRefusesWhatTheCloudCannotChange(t *testing.T) {
	e := startEnv(t)
	dir := t.TempDir()
	xml := e.mustVirsh(t, "dumpxml", "--inactive", "node-3")
	cases := []struct {
		name, xml, want string
	}{
		{"not well-formed", "<domain type='kvm'><name>node-3</name>", "error: "},
		{"wrong root", "<network><name>node-3</name></network>", "expecting root element of 'domain', not 'network'"},
		{"unknown boot dev", strings.Replace(xml, "<boot dev='hd'/>", "<boot dev='usb'/>", 1), "error: "},
		{"cdrom", strings.Replace(xml, "<boot dev='hd'/>", "<boot dev='cdrom'/>", 1), "boot device 'cdrom' is not supported by this cloud"},
		{"memory", strings.Replace(xml, "4194304", "8388608", -1), "cannot change memory of domain 'node-3'"},
	}
	e.nova.take()
	for _, c := range cases {
		file := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".xml")
		if err := os.WriteFile(file, []byte(c.xml), 0o600); err != nil {
			t.Fatal(err)
		}
		_, errOut, code := e.virsh(t, "define", file)
		if code != 1 || !strings.Contains(errOut, c.want) {
			t.Errorf("define %s: exit %d, stderr %q, want %q", c.name, code, errOut, c.want)
		}
	}
	if _, writes := e.nova.take(); len(writes) != 0 {
		t.Errorf("a refused define changed the cloud: %q", writes)
	}
	if got := ironicBootDevice(t, e.mustVirsh(t, "dumpxml", "node-3")); got != "hd" {
		t.Errorf("boot device after refused defines = %q", got)
	}
}

// restart starts a second quintupleo over the same cloud, as after a restart
// of the service (the first keeps running; they share nothing but the cloud
// and the state directory, like two replicas).
func (e *env) restart(t *testing.T, opts ...envOption) *env {
	t.Helper()
	cfg := serveConfig{listenTCP: "127.0.0.1:0", refresh: e.st.inv.Config().RefreshInterval,
		actionTimeout: e.st.act.Config().ActionTimeout, pollInterval: e.st.act.Config().PollInterval,
		cloudFlags: cloudFlags{osCloud: e.cloud.Cloud, cloudsYAML: e.cloud.CloudsYAML}}
	var simOpts cloudsim.Options
	for _, o := range opts {
		o(&simOpts, &cfg)
	}
	restarted := runStack(t, cfg)
	restarted.sim, restarted.clientMax = e.sim, e.clientMax
	return restarted
}

// A boot-devices.json an earlier rescue strategy left in --state-dir is
// moved into the cloud at start: a rescued node's choice to its
// description, a stopped node's to its metadata; a server that is gone is
// skipped; the file goes.
func TestBootStateFileMovesIntoTheCloud(t *testing.T) {
	e := startEnv(t, withBoot("rescue", ""))
	e.virshEdit(t, "node-2", "network")
	e.mustVirsh(t, "start", "node-2")
	if info := e.server(t, "node-2"); info.Status != "RESCUE" {
		t.Fatalf("after a network boot node-2 is %s, want RESCUE", info.Status)
	}
	stateDir := t.TempDir()
	file := filepath.Join(stateDir, "boot-devices.json")
	old := fmt.Sprintf(`{"%s": "disk", "%s": "network", "00000000-0000-4000-8000-000000000000": "disk"}`,
		e.serverID(t, "node-2"), e.serverID(t, "node-3"))
	if err := os.WriteFile(file, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}

	e2 := e.restart(t, withBoot("rescue", stateDir))
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("the state file is still there after start (%v)", err)
	}
	if d := e.description(t, "node-2"); d == nil || *d != "[quintupleo:boot=disk]" {
		t.Errorf("rescued node-2's description = %s, want the disk mark", shown(d))
	}
	if info := e.server(t, "node-3"); info.Metadata[nodes.MetaPXEFirst] != "1" {
		t.Errorf("stopped node-3's metadata = %v, want pxe-first=1", info.Metadata)
	}
	for dom, want := range map[string]string{"node-2": "hd", "node-3": "network"} {
		if got := ironicBootDevice(t, e2.mustVirsh(t, "dumpxml", dom)); got != want {
			t.Errorf("boot device of %s after the move = %q, want %q", dom, got, want)
		}
	}
}
