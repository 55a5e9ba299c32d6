package main

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"quintupleo/cloudsim"
	"quintupleo/internal/testtool"
)

// guestAPIScript calls, through libvirt-python, every API of issue 13 that
// a cloud can answer, and asserts libvirt's semantics: values that agree
// with each other and with nodeinfo and dominfo, states and reasons, and
// libvirt's errors (code, domain, message) where the cloud has no answer.
const guestAPIScript = `
import sys, re, libvirt
libvirt.registerErrorHandler(lambda *a: None, None)
conn = libvirt.open(sys.argv[1])
run, off = conn.lookupByName("node-1"), conn.lookupByName("node-0")
run.create()
def err(f, *a):
    try:
        f(*a)
    except libvirt.libvirtError as e:
        return "%d %d %s" % (e.get_error_code(), e.get_error_domain(), e.get_error_message())
    return "no error"
def check(what, ok):
    print(what, "ok" if ok else "FAILED")

# One host model: nodeinfo, free memory, cells, memory stats, capabilities, sysinfo.
info = conn.getInfo()                      # [model, memory MiB, cpus, mhz, nodes, sockets, cores, threads]
doms = conn.listAllDomains()
total = sum(d.info()[1] for d in doms)     # KiB
active = sum(d.info()[1] for d in doms if d.isActive())
free = conn.getFreeMemory()
check("nodeinfo memory is the domains' total", info[1] * 1024 == total)
check("free memory is the inactive domains'", free == (total - active) * 1024 and free > 0)
check("cells", conn.getCellsFreeMemory(0, 8) == [free])
stats = conn.getMemoryStats(-1)
check("memory stats", stats == {"total": total, "free": free // 1024})
check("memory stats of cell 0", conn.getMemoryStats(0) == stats)
print("stats of cell 1:", err(conn.getMemoryStats, 1))
print("cells from 1:", err(conn.getCellsFreeMemory, 1, 1))
caps = conn.getCapabilities()
uuid = re.search(r"<host>\s*<uuid>([0-9a-f-]+)</uuid>", caps).group(1)
check("capabilities topology", "<cpus num='%d'>" % info[2] in caps and caps.count("<cpu id=") == info[2]
      and "<memory unit='KiB'>%d</memory>" % total in caps)
check("capabilities machine as the domains'", ">pc-i440fx-7.2</machine>" in caps and "machine='pc-i440fx-7.2'" in run.XMLDesc(0))
check("sysinfo uuid is the host's", "<entry name='uuid'>%s</entry>" % uuid in conn.getSysinfo(0))
dc = conn.getDomainCapabilities(None, None, None, None, 0)
check("domain capabilities", "<machine>pc-i440fx-7.2</machine>" in dc and "<mode name='host-passthrough' supported='yes'>" in dc)
print("domcaps arm:", err(conn.getDomainCapabilities, None, "aarch64", None, None, 0))

# suspend / resume: Nova pause and unpause.
run.suspend()
check("suspended", run.state() == [libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_PAUSED_USER] and run.isActive())
run.suspend()  # already paused: nothing to do, as qemu
run.resume()
check("resumed", run.state() == [libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_RUNNING_UNPAUSED])
run.resume()
print("suspend shut off:", err(off.suspend))
print("resume shut off:", err(off.resume))

# inject-NMI: trigger_crash_dump.
run.injectNMI()
print("nmi shut off:", err(off.injectNMI))
print("nmi flags:", err(run.injectNMI, 1))

# Interface addresses: the ports' fixed IPs with their subnets' prefixes.
ifs = run.interfaceAddresses(libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE)
macs = re.findall(r"<mac address='([0-9a-f:]+)'/>", run.XMLDesc(0))
check("interface addresses by MAC", sorted(i["hwaddr"] for i in ifs.values()) == sorted(macs)
      and all(re.match(r"^tap[0-9a-f-]{11}$", n) for n in ifs)
      and all(a["prefix"] > 0 and a["type"] == libvirt.VIR_IP_ADDR_TYPE_IPV4 for i in ifs.values() for a in i["addrs"]))
arp = run.interfaceAddresses(libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP)
check("arp: same addresses, no prefix", sorted(a["addr"] for i in arp.values() for a in i["addrs"]) ==
      sorted(a["addr"] for i in ifs.values() for a in i["addrs"]) and all(a["prefix"] == 0 for i in arp.values() for a in i["addrs"]))
print("agent:", err(run.interfaceAddresses, libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT))
print("addresses shut off:", err(off.interfaceAddresses, 0))

# Metadata, in the storage define keeps <title>, <description>, <metadata> in.
print("no title:", err(off.metadata, libvirt.VIR_DOMAIN_METADATA_TITLE, None, 0))
off.setMetadata(libvirt.VIR_DOMAIN_METADATA_TITLE, "rack 4", None, None, 0)
off.setMetadata(libvirt.VIR_DOMAIN_METADATA_DESCRIPTION, "two\nlines", None, None, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
off.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, "<bios><attr name='a'/></bios>", "sushy", "http://openstack.org/xmlns/libvirt/sushy", 0)
x = off.XMLDesc(0)
import xml.etree.ElementTree as ET
check("metadata in dumpxml", ET.fromstring(x).findtext("title") == "rack 4" and ET.fromstring(x).findtext("description") == "two\nlines"
      and '<sushy:bios xmlns:sushy="http://openstack.org/xmlns/libvirt/sushy">' in x)
check("metadata read back", off.metadata(libvirt.VIR_DOMAIN_METADATA_TITLE, None, 0) == "rack 4"
      and off.metadata(libvirt.VIR_DOMAIN_METADATA_DESCRIPTION, None, 0) == "two\nlines"
      and off.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, "http://openstack.org/xmlns/libvirt/sushy", 0) == '<bios>\n  <attr name="a"/>\n</bios>')
print("live on shut off:", err(off.setMetadata, libvirt.VIR_DOMAIN_METADATA_TITLE, "t", None, None, libvirt.VIR_DOMAIN_AFFECT_LIVE))
print("title newline:", err(off.setMetadata, libvirt.VIR_DOMAIN_METADATA_TITLE, "a\nb", None, None, 0))
off.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, None, None, "http://openstack.org/xmlns/libvirt/sushy", 0)
print("removed:", err(off.metadata, libvirt.VIR_DOMAIN_METADATA_ELEMENT, "http://openstack.org/xmlns/libvirt/sushy", 0))

# Statistics the cloud does not give: libvirt's "not supported", never zeros.
print("memory stats:", err(run.memoryStats))
print("block stats:", err(run.blockStats, "vda"))
print("interface stats:", err(run.interfaceStats, "vnet0"))
`

const guestAPIWant = `nodeinfo memory is the domains' total ok
free memory is the inactive domains' ok
cells ok
memory stats ok
memory stats of cell 0 ok
stats of cell 1: 8 0 invalid argument: cellNum in virHostMemGetStats must be less than or equal to 0
cells from 1: 1 0 internal error: start cell 1 out of range (0-0)
capabilities topology ok
capabilities machine as the domains' ok
sysinfo uuid is the host's ok
domain capabilities ok
domcaps arm: 8 10 invalid argument: unable to find any emulator to serve 'aarch64' architecture
suspended ok
resumed ok
suspend shut off: 55 10 Requested operation is not valid: domain is not running
resume shut off: 55 10 Requested operation is not valid: domain is not running
nmi shut off: 55 10 Requested operation is not valid: domain is not running
nmi flags: 8 10 invalid argument: unsupported flags (0x1) in function qemuDomainInjectNMI
interface addresses by MAC ok
arp: same addresses, no prefix ok
agent: 74 10 argument unsupported: QEMU guest agent is not configured
addresses shut off: 55 10 Requested operation is not valid: domain is not running
no title: 80 20 metadata not found: Requested metadata element is not present
metadata in dumpxml ok
metadata read back ok
live on shut off: 55 20 Requested operation is not valid: domain is not running
title newline: 8 20 metadata title can't contain newlines
removed: 80 20 metadata not found: Requested metadata element is not present
memory stats: 3 20 this function is not supported by the connection driver: virDomainMemoryStats
block stats: 3 20 this function is not supported by the connection driver: virDomainBlockStats
interface stats: 3 20 this function is not supported by the connection driver: virDomainInterfaceStats
`

// TestLibvirtPythonGuestAndHostAPIs runs guestAPIScript through Debian's
// python3-libvirt and checks what Nova was asked: pause, unpause and
// trigger_crash_dump, nothing for the calls that only read.
func TestLibvirtPythonGuestAndHostAPIs(t *testing.T) {
	py := debianPython(t)
	e := startEnv(t)
	ctx, cancel := context.WithTimeout(t.Context(), e.clientMax)
	defer cancel()
	e.nova.take()
	out, errOut, code := testtool.Run(t, exec.CommandContext(ctx, py, "-c", guestAPIScript, e.uri))
	if code != 0 || out != guestAPIWant {
		t.Fatalf("libvirt-python: exit %d\n%s\nstderr: %s\nwant:\n%s", code, out, errOut, guestAPIWant)
	}
	actions, _ := e.nova.take()
	if got := strings.Join(actions, " "); got != "os-start pause unpause trigger_crash_dump" {
		t.Errorf("Nova actions: %s", got)
	}
}

// TestSuspendResumeEventsAndNMIRefused: virsh suspend and resume deliver
// libvirt's SUSPENDED and RESUMED lifecycle events; a cloud that refuses
// trigger_crash_dump (a hypervisor without NMI: Nova's 400) gives libvirt's
// "Operation not supported" with Nova's reason.
func TestSuspendResumeEventsAndNMIRefused(t *testing.T) {
	e := startEnv(t)
	e.mustVirsh(t, "start", "node-2")
	events := e.eventStream(t)
	e.mustVirsh(t, "suspend", "node-2")
	waitLine(t, events, "event 'lifecycle' for domain 'node-2': Suspended Paused")
	e.mustVirsh(t, "resume", "node-2")
	waitLine(t, events, "event 'lifecycle' for domain 'node-2': Resumed Unpaused")
	if got := strings.TrimSpace(e.mustVirsh(t, "domstate", "--reason", "node-2")); got != "running (unpaused)" {
		t.Errorf("domstate --reason after resume = %q", got)
	}

	if _, err := e.sim.AddFault(cloudsim.Fault{Endpoint: "trigger_crash_dump", ErrorRate: 1, Status: 400}); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := e.virsh(t, "inject-nmi", "node-2")
	if code != 1 || !strings.HasPrefix(errOut, "error: Operation not supported: Nova's trigger_crash_dump (compute API 2.17): ") {
		t.Errorf("inject-nmi on a refusing cloud: exit %d, %q", code, errOut)
	}
}

// TestAnsibleVirtPauseAndFreemem drives Debian's Ansible
// community.libvirt.virt module: freemem (libvirt-python's getFreeMemory,
// which would read 0 for a missing procedure), pause, unpause and
// state=paused, each checked by the module's own status.
func TestAnsibleVirtPauseAndFreemem(t *testing.T) {
	bin := testtool.Require(t, "ansible")
	debianPython(t)
	e := startEnv(t)
	e.mustVirsh(t, "start", "node-3")
	virt := func(args string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), e.clientMax)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "localhost", "-c", "local", "-m", "community.libvirt.virt", "-a", args+" uri="+e.uri)
		cmd.Env = append(cmd.Environ(), "ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3", "HOME="+t.TempDir(), "ANSIBLE_LOCALHOST_WARNING=false")
		out, errOut, code := testtool.Run(t, cmd)
		if code != 0 {
			t.Fatalf("ansible %s: exit %d\n%s\n%s", args, code, out, errOut)
		}
		return out
	}
	free := strings.TrimSpace(e.mustVirsh(t, "freecell"))
	kib := strings.TrimSuffix(strings.TrimPrefix(free, "Total: "), " KiB")
	if out := virt("command=freemem"); !strings.Contains(out, `"freemem": `) || strings.Contains(out, `"freemem": 0`) ||
		!strings.Contains(out, `"freemem": `+strconv.FormatUint(mustUint(t, kib)*1024, 10)) {
		t.Errorf("freemem, virsh says %s:\n%s", free, out)
	}
	virt("command=pause name=node-3")
	if out := virt("command=status name=node-3"); !strings.Contains(out, `"status": "paused"`) {
		t.Errorf("status after pause:\n%s", out)
	}
	virt("command=unpause name=node-3")
	if out := virt("command=status name=node-3"); !strings.Contains(out, `"status": "running"`) {
		t.Errorf("status after unpause:\n%s", out)
	}
	if out := virt("name=node-3 state=paused"); !strings.Contains(out, `"changed": true`) {
		t.Errorf("state=paused:\n%s", out)
	}
	if out := virt("name=node-3 state=paused"); !strings.Contains(out, `"changed": false`) {
		t.Errorf("state=paused again:\n%s", out)
	}
}

func mustUint(t *testing.T, s string) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return v
}
