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

	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"

	"quintupleo/internal/testtool"
	"quintupleo/nodes"
)

// The virsh lines of TripleO devtest's section C (devtest_virsh_cmds.txt),
// verbatim but for sudo, as bash functions of one script so a test runs
// them in devtest_testenv.sh's order under set -eu.

// devtestNetXML is tripleo-incubator's templates/net.xml.
const devtestNetXML = `<network>
  <name>%NETWORK_NAME%</name>
  <forward mode='bridge'/>
  <bridge name='%NETWORK_NAME%'/>
  <virtualport type='openvswitch'/>
</network>
`

// libvirtDefaultNetXML is the 'default' network devtest expects a libvirt
// host to have (libvirt's networks/default.xml without <forward>, which a
// cloud network cannot honour; docs/semantics.md "Networks").
const libvirtDefaultNetXML = `<network>
  <name>default</name>
  <bridge name='virbr0'/>
  <ip address='192.168.122.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.122.2' end='192.168.122.254'/>
    </dhcp>
  </ip>
</network>
`

// setupNetwork is setup-network for one bridge.
const setupNetwork = `
setup_network() {
BRIDGE_NAME=brbm
(virsh net-list --persistent | grep "${BRIDGE_NAME} ") && virsh net-destroy ${BRIDGE_NAME}
(virsh net-list --inactive --persistent | grep "${BRIDGE_NAME} ") && virsh net-undefine ${BRIDGE_NAME}
virsh net-define <(sed -e "s/%NETWORK_NAME%/$BRIDGE_NAME/" $BASE/templates/net.xml)
virsh net-autostart ${BRIDGE_NAME}
virsh net-start ${BRIDGE_NAME}
default_net=$(virsh net-list --all --persistent | grep default | awk 'BEGIN{OFS=":";} {print $2,$3}')
default_state=$(echo $default_net | cut -d':' -f1)
default_autostart=$(echo $default_net | cut -d':' -f2)
if [ "$default_state" != "active" ]; then
  virsh net-start default
fi
if [ "$default_autostart" != "yes" ]; then
  virsh net-autostart default
fi
}
`

// devtestCleanupEnv is cleanup-env (SEED_NAME=seed,
// BAREMETAL_PREFIX=baremetalbrbm) but for the seed image's local rm.
const devtestCleanupEnv = `
cleanup_env() {
SEED_NAME=seed
BAREMETAL_PREFIX=baremetalbrbm
LIBVIRT_VOL_POOL=default
for NAME in $(virsh list --name | grep "^\($SEED_NAME\|${BAREMETAL_PREFIX}\)"); do
  virsh destroy $NAME
done
for NAME in $(virsh list --name --all | grep "^\($SEED_NAME\|${BAREMETAL_PREFIX}\)"); do
  if [ $NAME = $SEED_NAME ]; then
    virsh undefine --managed-save $NAME
  else
    virsh undefine --managed-save --remove-all-storage $NAME
  fi
done
for NAME in $(virsh vol-list $LIBVIRT_VOL_POOL 2>/dev/null | grep /var/ | awk '{print $1}' | grep "^\($SEED_NAME\|${BAREMETAL_PREFIX}\)" ); do
  virsh vol-delete --pool $LIBVIRT_VOL_POOL $NAME
done
}
`

// devtestCreateNodes is create-nodes for the nodes $NODES: the pool made
// only if pool-list does not show it, per node (unless defined already) a
// qcow2 volume, its path, configure-vm with that path as the disk, and
// get-vm-mac; it prints "name path mac" per node.
const devtestCreateNodes = `
get_vm_mac() {
VMNAME=$1
vms=$(virsh list --all | grep "$VMNAME" | awk '{ print $2 }')
for vm in $vms; do
  virsh dumpxml $vm | grep "mac address" | head -1 | awk -F "'" '{ print $2 }'
done
}
create_nodes() {
LIBVIRT_VOL_POOL=default
LIBVIRT_VOL_POOL_TARGET=/var/lib/libvirt/images
if ! $(virsh pool-list --all --persistent | grep -q $LIBVIRT_VOL_POOL) ; then
  virsh pool-define-as --name $LIBVIRT_VOL_POOL dir --target $LIBVIRT_VOL_POOL_TARGET
  virsh pool-autostart $LIBVIRT_VOL_POOL
  virsh pool-start $LIBVIRT_VOL_POOL
fi
PREALLOC="--prealloc-metadata"
for idx in $NODES; do
  vm_name=baremetalbrbm_$idx
  (virsh list --all --name | grep -q "^$vm_name\$") && continue
  virsh vol-create-as $LIBVIRT_VOL_POOL $vm_name.qcow2 41G --format qcow2 $PREALLOC >&2
  volume_path=$(virsh vol-path --pool $LIBVIRT_VOL_POOL $vm_name.qcow2)
  configure-vm --bootdev network --name $vm_name --image "$volume_path" --baremetal-interface brbm >&2
  echo "$vm_name $volume_path $(get_vm_mac $vm_name)"
done
}
`

// configureVM stands in for tripleo-incubator's configure-vm: the same
// libvirt-python call (defineXML of templates/domain.xml filled in, then
// UUIDString) with the node's MAC fixed by the test instead of random. It
// opens the default URI where configure-vm names qemu:///system.
const configureVM = `
import argparse, libvirt, os
p = argparse.ArgumentParser()
for a in ("--bootdev", "--name", "--image", "--baremetal-interface"):
    p.add_argument(a)
args = p.parse_args()
xml = open(os.path.join(os.environ["BASE"], "domains", args.name + ".xml")).read()
dom = libvirt.open(None).defineXML(xml.replace("%IMAGE%", args.image))
print("Created machine %s with UUID %s" % (dom.name(), dom.UUIDString()))
`

// devtestNodeMAC is node i's first MAC as configure-vm would make it.
func devtestNodeMAC(i int) string { return fmt.Sprintf("00:d6:4e:2a:5b:%02x", 0x10+2*i) }

// devtestHost is a shell on devtest's virt host: scripts run under bash
// with a default libvirt URI (qemu+tcp or qemu+ssh to quintupleo), the
// section-C functions, and configure-vm and binDirs first in PATH.
type devtestHost struct {
	e    *env
	uri  string
	dir  string // $BASE: templates/, domains/, bin/
	path string
}

func newDevtestHost(t *testing.T, e *env, uri string, binDirs ...string) *devtestHost {
	t.Helper()
	py := debianPython(t)
	h := &devtestHost{e: e, uri: uri, dir: t.TempDir()}
	for _, d := range []string{"templates", "domains", "bin"} {
		if err := os.MkdirAll(filepath.Join(h.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	testtool.WriteFile(t, filepath.Join(h.dir, "templates", "net.xml"), []byte(devtestNetXML))
	if err := os.WriteFile(filepath.Join(h.dir, "bin", "configure-vm"), []byte("#!"+py+"\n"+configureVM), 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		name := fmt.Sprintf("baremetalbrbm_%d", i)
		xml := tripleoDomainXML(name, "", devtestNodeMAC(i))
		xml = strings.Replace(xml, "/var/lib/libvirt/images/"+name+".qcow2", "%IMAGE%", 1)
		xml = strings.Replace(xml, "<target dev='sda' bus='scsi'/>", "<target dev='sda' bus='sata'/>", 1)
		testtool.WriteFile(t, filepath.Join(h.dir, "domains", name+".xml"), []byte(xml))
	}
	dirs := append([]string{filepath.Join(h.dir, "bin")}, binDirs...)
	h.path = strings.Join(append(dirs, filepath.Dir(testtool.Require(t, "virsh")), os.Getenv("PATH")), ":")
	return h
}

// run runs script after the section-C functions, under set -eu as
// devtest's scripts run, and returns stdout.
func (h *devtestHost) run(t *testing.T, script string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 8*h.e.bound())
	defer cancel()
	full := "set -eu\n" + setupNetwork + devtestCleanupEnv + devtestCreateNodes + script
	cmd := exec.CommandContext(ctx, testtool.Require(t, "bash"), "-c", full)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "HOME="+t.TempDir(), "LIBVIRT_DEFAULT_URI="+h.uri, "BASE="+h.dir, "PATH="+h.path)
	out, errOut, code := testtool.Run(t, cmd)
	if code != 0 {
		t.Fatalf("devtest script failed: exit %d\n%s\nstdout: %s\nstderr: %s", code, script, out, errOut)
	}
	return out
}

// sectionCState is all that devtest's section C can change in the cloud,
// read through the cloud's own API (the same on cloudsim and a real cloud).
type sectionCState struct {
	servers, ports, networks, volumes []string
}

func (e *env) sectionCState(t *testing.T) sectionCState {
	t.Helper()
	cs := e.cloudState(t)
	return sectionCState{servers: cs.servers, ports: cs.ports, networks: e.cloudNetworks(t), volumes: cloudStorage(t, e).volumes}
}

func (a sectionCState) equal(b sectionCState) bool {
	return slices.Equal(a.servers, b.servers) && slices.Equal(a.ports, b.ports) &&
		slices.Equal(a.networks, b.networks) && slices.Equal(a.volumes, b.volumes)
}

// cloudNetworks is the cloud's networks and subnets, one sorted line each,
// read from Neutron.
func (e *env) cloudNetworks(t *testing.T) []string {
	t.Helper()
	cloud, err := nodes.Connect(t.Context(), e.cloud)
	if err != nil {
		t.Fatal(err)
	}
	np, err := networks.List(cloud.Network, networks.ListOpts{}).AllPages(t.Context())
	if err != nil {
		t.Fatalf("list networks: %v", err)
	}
	ns, err := networks.ExtractNetworks(np)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := subnets.List(cloud.Network, subnets.ListOpts{}).AllPages(t.Context())
	if err != nil {
		t.Fatalf("list subnets: %v", err)
	}
	ss, err := subnets.ExtractSubnets(sp)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range ns {
		out = append(out, fmt.Sprintf("network %s %s up=%v %q %v", n.ID, n.Name, n.AdminStateUp, n.Description, n.Subnets))
	}
	for _, s := range ss {
		out = append(out, fmt.Sprintf("subnet %s %s net=%s %s dhcp=%v %v", s.ID, s.Name, s.NetworkID, s.CIDR, s.EnableDHCP, s.AllocationPools))
	}
	slices.Sort(out)
	return out
}

// cloudNetworkNamed is the one Neutron network called name.
func (e *env) cloudNetworkNamed(t *testing.T, name string) networks.Network {
	t.Helper()
	cloud, err := nodes.Connect(t.Context(), e.cloud)
	if err != nil {
		t.Fatal(err)
	}
	pages, err := networks.List(cloud.Network, networks.ListOpts{Name: name}).AllPages(t.Context())
	if err != nil {
		t.Fatalf("list networks %s: %v", name, err)
	}
	ns, err := networks.ExtractNetworks(pages)
	if err != nil || len(ns) != 1 {
		t.Fatalf("networks named %s: %d (%v)", name, len(ns), err)
	}
	return ns[0]
}

// removeNetworksAtEnd makes sure the networks a section-C run defines do
// not outlive a failed test (a real cloud keeps them).
func (e *env) removeNetworksAtEnd(t *testing.T, names ...string) {
	t.Cleanup(func() { e.removeNetworks(t, names...) })
}

// removeNetworks net-undefines those of the networks that exist.
func (e *env) removeNetworks(t *testing.T, names ...string) {
	bin := testtool.Require(t, "virsh")
	// Not t.Context: this also runs in t.Cleanup, after it ended.
	ctx, cancel := context.WithTimeout(context.Background(), e.bound())
	defer cancel()
	for _, name := range names {
		if exec.CommandContext(ctx, bin, "-c", e.uri, "net-info", name).Run() == nil {
			_ = exec.CommandContext(ctx, bin, "-c", e.uri, "net-destroy", name).Run() // may be inactive
			if err := exec.CommandContext(ctx, bin, "-c", e.uri, "net-undefine", name).Run(); err != nil {
				t.Errorf("net-undefine %s: %v", name, err)
			}
		}
	}
}

// TestDevtestSectionC runs all of devtest's section C in devtest_testenv.sh's
// order with the real virsh and libvirt-python, once with qemu+tcp and once
// with qemu+ssh through OpenSSH to the SSH endpoint: setup-network twice
// (the second run finds brbm and destroys and undefines it first; the
// host's 'default' network starts), cleanup-env, create-nodes for
// baremetalbrbm_0..3 (pool, 41G volumes, vol-path, configure-vm's
// defineXML of tripleo-incubator's domain.xml on that volume with the
// node's MAC on brbm, get-vm-mac), a node started and its volume refused
// deletion, cleanup-env again (destroy, undefine --remove-all-storage, a
// leftover volume deleted), and setup-network's removal lines. The cloud
// is left exactly as it was found: servers, ports, networks, subnets and
// volumes.
func TestDevtestSectionC(t *testing.T) {
	var client sshClient
	e := startEnv(t, withSSH(t, &client))
	e.removeNetworksAtEnd(t, "brbm", "default")
	if !t.Run("qemu+tcp", func(t *testing.T) {
		e.devtestSectionC(t, newDevtestHost(t, e, e.uri))
	}) {
		return // what it left would fail the next run for the wrong reason
	}
	t.Run("qemu+ssh", func(t *testing.T) {
		e.devtestSectionC(t, newDevtestHost(t, e, e.qemuSSHURI(t, &client), e.sshWrapperDir(t)))
	})
}

// qemuSSHURI is the libvirt URI that reaches the env through OpenSSH.
func (e *env) qemuSSHURI(t *testing.T, c *sshClient) string {
	t.Helper()
	_, port, _ := strings.Cut(e.st.sshLn.Addr().String(), ":")
	return "qemu+ssh://stack@127.0.0.1:" + port + "/system?keyfile=" + c.key + "&no_verify=1&no_tty=1"
}

// sshWrapperDir is a directory whose `ssh` (libvirt runs the first in
// PATH) is the real OpenSSH client with a throw-away known_hosts: OpenSSH
// would otherwise write the passwd home's ~/.ssh/known_hosts whatever HOME
// says.
func (e *env) sshWrapperDir(t *testing.T) string {
	t.Helper()
	bin := t.TempDir()
	wrapper := "#!/bin/sh\nexec " + testtool.Require(t, "ssh") + " -F /dev/null -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "ssh"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

func (e *env) devtestSectionC(t *testing.T, h *devtestHost) {
	// What a failed earlier run on a real cloud may have left: devtest's
	// own clean-up, before the cloud is taken as found.
	h.run(t, "cleanup_env")
	e.removeNetworks(t, "brbm", "default")
	before := e.sectionCState(t)
	// The host's 'default' network, as libvirt's package installs it
	// (defined, not started: setup-network starts it).
	e.mustVirsh(t, "net-define", writeXML(t, libvirtDefaultNetXML))

	first := h.run(t, "setup_network")
	if !strings.Contains(first, "Network brbm defined from /dev/fd/") || !strings.Contains(first, "Network brbm started") ||
		!strings.Contains(first, "Network default started") {
		t.Errorf("first setup-network:\n%s", first)
	}
	second := h.run(t, "setup_network")
	for _, s := range []string{"Network brbm destroyed", "Network brbm has been undefined", "Network brbm defined from", "Network brbm started"} {
		if !strings.Contains(second, s) {
			t.Errorf("second setup-network lacks %q:\n%s", s, second)
		}
	}
	if strings.Contains(second, "default") {
		t.Errorf("second setup-network touched 'default', which was active and autostarted:\n%s", second)
	}
	want := " Name        State    Autostart   Persistent\n" +
		"----------------------------------------------\n" +
		" brbm        active   yes         yes\n" +
		" default     active   yes         yes\n" +
		" provision   active   yes         yes\n\n"
	if table := e.mustVirsh(t, "net-list", "--all"); table != want {
		t.Errorf("net-list --all:\n%q\nwant\n%q", table, want)
	}
	// brbm has no <ip>: the cloud network gets the L2 placeholder subnet
	// Nova needs to boot servers on it (docs/semantics.md "Networks").
	brbm := e.cloudNetworkNamed(t, "brbm")
	if !brbm.AdminStateUp || len(brbm.Subnets) != 1 {
		t.Errorf("brbm in the cloud: %+v (want an admin-up network with one subnet)", brbm)
	}
	if got := e.mustVirsh(t, "net-dumpxml", "brbm"); got != "<network>\n  <name>brbm</name>\n  <uuid>"+brbm.ID+"</uuid>\n</network>\n\n" {
		t.Errorf("net-dumpxml brbm:\n%s", got)
	}

	if out := h.run(t, "cleanup_env"); out != "" {
		t.Errorf("cleanup-env found something to clean: %q", out)
	}
	out := h.run(t, "NODES='0 1 2 3'\ncreate_nodes")
	var wantOut strings.Builder
	for i := range 4 {
		fmt.Fprintf(&wantOut, "baremetalbrbm_%d /var/lib/libvirt/images/baremetalbrbm_%d.qcow2 %s\n", i, i, devtestNodeMAC(i))
	}
	if out != wantOut.String() {
		t.Fatalf("create-nodes (name, vol-path, get-vm-mac):\n%s\nwant:\n%s", out, wantOut.String())
	}
	for i := range 4 {
		e.checkDevtestNode(t, fmt.Sprintf("baremetalbrbm_%d", i), devtestNodeMAC(i), brbm.ID)
	}
	// create-nodes again skips the defined nodes; a volume whose node never
	// got defined (create-nodes cut short) is for cleanup-env's last loop.
	if out := h.run(t, "NODES='0 1 2 3'\ncreate_nodes"); out != "" {
		t.Errorf("create-nodes over defined nodes: %q", out)
	}
	h.run(t, "virsh vol-create-as default baremetalbrbm_9.qcow2 41G --format qcow2 --prealloc-metadata")

	if got := h.run(t, "virsh start baremetalbrbm_1"); got != "Domain 'baremetalbrbm_1' started\n\n" {
		t.Errorf("start: %q", got)
	}
	if got := h.run(t, "virsh list --name"); !strings.Contains(got, "baremetalbrbm_1\n") {
		t.Errorf("list --name after start: %q", got)
	}
	// Its only address is the L2 placeholder's, which no guest has.
	if got := e.mustVirsh(t, "domifaddr", "baremetalbrbm_1"); strings.Contains(got, "198.18.") {
		t.Errorf("domifaddr reports the placeholder subnet's address:\n%s", got)
	}
	if _, errOut, code := e.virsh(t, "vol-delete", "--pool", "default", "baremetalbrbm_1.qcow2"); code == 0 ||
		!strings.Contains(errOut, "error: Requested operation is not valid: volume 'baremetalbrbm_1.qcow2' is still in use.") {
		t.Errorf("vol-delete of a volume in use: exit %d, %s", code, errOut)
	}

	clean := h.run(t, "cleanup_env")
	for _, s := range []string{"Domain 'baremetalbrbm_1' destroyed", "Domain 'baremetalbrbm_3' has been undefined",
		"(/var/lib/libvirt/images/baremetalbrbm_0.qcow2) removed.", "Vol baremetalbrbm_9.qcow2 deleted"} {
		if !strings.Contains(clean, s) {
			t.Errorf("cleanup-env lacks %q:\n%s", s, clean)
		}
	}
	// setup-network's removal lines take brbm away; the host's 'default'
	// network goes as the test made it.
	h.run(t, `BRIDGE_NAME=brbm
(virsh net-list --persistent | grep "${BRIDGE_NAME} ") && virsh net-destroy ${BRIDGE_NAME}
(virsh net-list --inactive --persistent | grep "${BRIDGE_NAME} ") && virsh net-undefine ${BRIDGE_NAME}`)
	e.mustVirsh(t, "net-destroy", "default")
	e.mustVirsh(t, "net-undefine", "default")
	if after := e.sectionCState(t); !after.equal(before) {
		t.Errorf("devtest's section C left the cloud changed:\nbefore %v\nafter  %v", before, after)
	}
}

// checkDevtestNode reads a create-nodes node from the cloud: a server whose
// port on brbm has the node's MAC and whose disk is its 41 GiB volume, in
// use by the server.
func (e *env) checkDevtestNode(t *testing.T, name, mac, brbmID string) {
	t.Helper()
	srv := e.serverNamed(t, name)
	vol := volumeNamed(t, e, name+".qcow2")
	if vol.Status != "in-use" || !slices.Equal(vol.Servers, []string{srv.ID}) || vol.SizeGiB != 41 {
		t.Errorf("volume of %s: %+v, want 41 GiB in use by server %s", name, vol, srv.ID)
	}
	ps := e.listPorts(t, ports.ListOpts{DeviceID: srv.ID})
	if len(ps) != 1 || ps[0].MACAddress != mac || ps[0].NetworkID != brbmID {
		t.Errorf("ports of %s: %+v, want one with MAC %s on brbm %s", name, ps, mac, brbmID)
	}
}
