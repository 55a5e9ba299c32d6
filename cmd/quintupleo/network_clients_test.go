package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"quintupleo/cloudsim"
	"quintupleo/internal/testtool"
)

// TestLibvirtPythonNetworks: libvirt-python reads the provisioning
// network's XML and lists networks the pre-LIST_ALL way (Ansible's
// virt_net does); bad XML and unknown names get libvirt's errors, with
// nothing changed in the cloud.
func TestLibvirtPythonNetworks(t *testing.T) {
	py := debianPython(t)
	e := startEnv(t)
	before := e.cloudNetworks(t)
	script := `
import sys, libvirt
conn = libvirt.open(sys.argv[1])
net = conn.networkLookupByName('provision')
print(net.XMLDesc(), end='')
print(conn.listNetworks(), conn.listDefinedNetworks(), net.isActive(), net.isPersistent(), net.autostart())
def err(f):
    try:
        f()
    except libvirt.libvirtError as e:
        print("error", e.get_error_code(), e.get_error_domain(), e.get_error_message())
err(lambda: conn.networkLookupByName('nope'))
err(lambda: conn.networkDefineXML('<network><name>bad</name>'))
err(lambda: conn.networkDefineXML('<pool/>'))
err(lambda: conn.networkDefineXML('<network/>'))
err(lambda: conn.networkDefineXML("<network><name>nat</name><forward mode='nat'/></network>"))
err(lambda: conn.networkDefineXML("<network><name>x</name><forward mode='blah'/></network>"))
err(lambda: conn.networkDefineXML("<network><name>provision</name></network>"))
err(lambda: conn.networkDefineXML("<network><name>d</name><ip address='10.9.0.1' prefix='24'><dhcp><host mac='00:11:22:33:44:55' ip='10.9.0.5'/></dhcp></ip></network>"))
err(net.destroy)
err(net.undefine)
err(lambda: net.setAutostart(0))
`
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	out, errOut, code := testtool.Run(t, exec.CommandContext(ctx, py, "-c", script, e.uri))
	uuid := e.cloudNetworkNamed(t, "provision").ID
	want := "<network>\n  <name>provision</name>\n  <uuid>" + uuid + "</uuid>\n" +
		"  <ip address='10.128.0.0' netmask='255.255.0.0'>\n  </ip>\n</network>\n" +
		"['provision'] [] 1 1 1\n" +
		"error 43 19 Network not found: no network with matching name 'nope'\n" +
		"error 35 19 (network_definition):1: unexpected EOF\n" +
		"error 27 5 XML error: expecting root element of 'network', not 'pool'\n" +
		"error 21 19 missing name information\n" +
		"error 67 19 unsupported configuration: forward mode 'nat' cannot be honoured by a cloud network: the host does not forward a Neutron network's traffic; leave <forward> out or use mode='bridge'\n" +
		"error 67 19 unsupported configuration: unknown forwarding type 'blah'\n" +
		"error 9 19 operation failed: network 'provision' already exists with uuid " + uuid + "\n" +
		"error 67 19 unsupported configuration: <dhcp><host> of network 'd' cannot be honoured by a cloud network\n" +
		"error 29 19 operation forbidden: cannot destroy network 'provision': quintupleo did not create it (serve with --network-allow-foreign to allow it)\n" +
		"error 29 19 operation forbidden: cannot undefine network 'provision': quintupleo did not create it (serve with --network-allow-foreign to allow it)\n" +
		"error 67 19 unsupported configuration: network 'provision' is a cloud network, which is there whenever the cloud is: its autostart cannot be turned off\n"
	if code != 0 || out != want {
		t.Errorf("libvirt-python: exit %d, stderr %s\n got: %q\nwant: %q", code, errOut, out, want)
	}
	if got := e.cloudNetworks(t); !slices.Equal(got, before) {
		t.Errorf("the cloud's networks changed:\nwant %v\ngot  %v", before, got)
	}
}

// TestNetworkDefineWithSubnet: net-define of an <ip> with <dhcp> makes a
// Neutron network and a DHCP subnet with the ranges as allocation pools;
// without <dhcp> the subnet's DHCP is off; net-create is transient and
// net-destroy deletes it. dumpxml renders the network from Neutron.
func TestNetworkDefineWithSubnet(t *testing.T) {
	e := startEnv(t)
	before := e.cloudNetworks(t)
	withDHCP := writeXML(t, `<network><name>prov2</name><ip address='10.20.0.1' netmask='255.255.255.0'>
<dhcp><range start='10.20.0.100' end='10.20.0.150'/></dhcp></ip></network>`)
	e.mustVirsh(t, "net-define", withDHCP)
	uuid := strings.TrimSpace(e.mustVirsh(t, "net-uuid", "prov2"))
	got := e.mustVirsh(t, "net-dumpxml", "prov2")
	want := "<network>\n  <name>prov2</name>\n  <uuid>" + uuid + "</uuid>\n" +
		"  <ip address='10.20.0.1' netmask='255.255.255.0'>\n    <dhcp>\n" +
		"      <range start='10.20.0.100' end='10.20.0.150'/>\n    </dhcp>\n  </ip>\n</network>\n\n"
	if got != want {
		t.Errorf("net-dumpxml:\n%q\nwant\n%q", got, want)
	}
	// Defining its own dumpxml again changes nothing.
	e.mustVirsh(t, "net-define", writeXML(t, strings.TrimSuffix(got, "\n")))
	info := e.mustVirsh(t, "net-info", "prov2")
	if info != "Name:           prov2\nUUID:           "+uuid+"\nActive:         no\nPersistent:     yes\nAutostart:      yes\nBridge:         \n\n" {
		t.Errorf("net-info: %q", info)
	}
	noDHCP := writeXML(t, `<network><name>tmp</name><ip address='10.21.0.1' prefix='24'/></network>`)
	if out := e.mustVirsh(t, "net-create", noDHCP); !strings.HasPrefix(out, "Network tmp created from ") {
		t.Errorf("net-create: %q", out)
	}
	if out := e.mustVirsh(t, "net-list", "--transient"); !strings.Contains(out, " tmp    active   no          no\n") {
		t.Errorf("net-list --transient:\n%s", out)
	}
	if out := e.mustVirsh(t, "net-dumpxml", "tmp"); !strings.Contains(out, "<ip address='10.21.0.1' netmask='255.255.255.0'>\n  </ip>\n") {
		t.Errorf("net-dumpxml tmp (no <dhcp>: Neutron DHCP off):\n%s", out)
	}
	e.mustVirsh(t, "net-destroy", "tmp")
	e.mustVirsh(t, "net-undefine", "prov2")
	if got := e.cloudNetworks(t); !slices.Equal(got, before) {
		t.Errorf("the cloud's networks changed:\nwant %v\ngot  %v", before, got)
	}
}

// TestNetworkEvents: real virsh's net-event hears our own changes and a
// network added elsewhere in the cloud.
func TestNetworkEvents(t *testing.T) {
	bin := testtool.Require(t, "virsh")
	e := startEnv(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-c", e.uri, "net-event", "--event", "lifecycle", "--loop", "--timeout", "4")
	cmd.Env = append(os.Environ(), "LC_ALL=C", "HOME="+t.TempDir())
	var out strings.Builder
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // registered
	e.mustVirsh(t, "net-define", writeXML(t, strings.ReplaceAll(devtestNetXML, "%NETWORK_NAME%", "brbm")))
	e.mustVirsh(t, "net-start", "brbm")
	e.mustVirsh(t, "net-destroy", "brbm")
	e.mustVirsh(t, "net-undefine", "brbm")
	if _, err := e.sim.AddNetwork(cloudsim.NetworkSpec{Name: "elsewhere"}); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("net-event: %v\n%s", err, out.String())
	}
	want := "event 'lifecycle' for network brbm: Defined\nevent 'lifecycle' for network brbm: Started\n" +
		"event 'lifecycle' for network brbm: Stopped\nevent 'lifecycle' for network brbm: Undefined\n" +
		"event 'lifecycle' for network elsewhere: Defined\nevent 'lifecycle' for network elsewhere: Started\n" +
		"event loop timed out\nevents received: 6\n\n"
	if out.String() != want {
		t.Errorf("net-event:\n%q\nwant\n%q", out.String(), want)
	}
}

// ansibleModule runs one task of a community.libvirt module (Debian's
// ansible package) against the env with the JSON callback and returns the
// host's result.
func (e *env) ansibleModule(t *testing.T, module, args string) map[string]any {
	t.Helper()
	ansible := testtool.Require(t, "ansible")
	ctx, cancel := context.WithTimeout(t.Context(), 2*e.bound())
	defer cancel()
	cmd := exec.CommandContext(ctx, ansible, "localhost", "-m", "community.libvirt."+module, "-a", args+" uri="+e.uri)
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8", "HOME="+t.TempDir(), "ANSIBLE_STDOUT_CALLBACK=json",
		"ANSIBLE_LOAD_CALLBACK_PLUGINS=1", "ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3", "ANSIBLE_LOCALHOST_WARNING=0")
	out, errOut, code := testtool.Run(t, cmd)
	if code != 0 {
		t.Fatalf("ansible %s %s: exit %d\n%s\n%s", module, args, code, out, errOut)
	}
	var doc struct {
		Plays []struct {
			Tasks []struct {
				Hosts map[string]map[string]any `json:"hosts"`
			} `json:"tasks"`
		} `json:"plays"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Plays) == 0 || len(doc.Plays[0].Tasks) == 0 {
		t.Fatalf("ansible output: %v\n%s", err, out)
	}
	return doc.Plays[0].Tasks[0].Hosts["localhost"]
}

// TestAnsibleVirtNet runs Debian's community.libvirt.virt_net: list_nets,
// info and get_xml.
func TestAnsibleVirtNet(t *testing.T) {
	e := startEnv(t)
	run := func(args string) map[string]any {
		t.Helper()
		return e.ansibleModule(t, "virt_net", args)
	}
	if r := run("command=list_nets"); fmt.Sprint(r["list_nets"]) != "[provision]" {
		t.Errorf("list_nets: %v", r)
	}
	info := run("command=info")
	nets, _ := info["networks"].(map[string]any)
	prov, _ := nets["provision"].(map[string]any)
	if prov["state"] != "active" || prov["autostart"] != "yes" || prov["persistent"] != "yes" {
		t.Errorf("info: %v", info)
	}
	if r := run("command=get_xml name=provision"); !strings.Contains(fmt.Sprint(r["get_xml"]), "<name>provision</name>") {
		t.Errorf("get_xml: %v", r)
	}
}
