package main

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestVirshListShowsTheCloudsNodes(t *testing.T) {
	e := startEnv(t)

	rows := listTable(t, e.mustVirsh(t, "list", "--all"))
	if len(rows) != 5 {
		t.Fatalf("list --all: %d domains, want 5: %v", len(rows), rows)
	}
	for i := range 5 {
		name := fmt.Sprintf("node-%d", i)
		if got := rows[name]; got != [2]string{"-", "shut off"} {
			t.Errorf("list --all %s = %v, want [- shut off]", name, got)
		}
	}
	if got := names(e.mustVirsh(t, "list", "--all", "--name")); !slices.Equal(got, []string{"node-0", "node-1", "node-2", "node-3", "node-4"}) {
		t.Errorf("list --all --name = %q", got)
	}
	if got := names(e.mustVirsh(t, "list", "--name")); len(got) != 0 {
		t.Errorf("list --name with nothing running = %q", got)
	}
	if got := names(e.mustVirsh(t, "list", "--inactive", "--name")); len(got) != 5 {
		t.Errorf("list --inactive --name = %q, want 5 names", got)
	}
	uuids := names(e.mustVirsh(t, "list", "--all", "--uuid"))
	uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	if len(uuids) != 5 {
		t.Fatalf("list --all --uuid = %q", uuids)
	}
	for _, u := range uuids {
		if !uuidRE.MatchString(u) {
			t.Errorf("list --uuid line %q is not a UUID", u)
		}
	}
}

func TestVirshPowerCycle(t *testing.T) {
	e := startEnv(t)

	if out := e.mustVirsh(t, "start", "node-1"); !strings.Contains(out, "Domain 'node-1' started") {
		t.Errorf("start: %q", out)
	}
	// Clients re-check at once: the change must already be visible.
	if got := names(e.mustVirsh(t, "list", "--name")); !slices.Equal(got, []string{"node-1"}) {
		t.Fatalf("list --name right after start = %q, want [node-1]", got)
	}
	rows := listTable(t, e.mustVirsh(t, "list"))
	id, err := strconv.Atoi(rows["node-1"][0])
	if err != nil || id <= 0 || rows["node-1"][1] != "running" {
		t.Fatalf("list after start: node-1 = %v, want a positive id and running", rows["node-1"])
	}
	if got := strings.TrimSpace(e.mustVirsh(t, "domstate", "node-1")); got != "running" {
		t.Errorf("domstate = %q", got)
	}
	if got := strings.TrimSpace(e.mustVirsh(t, "domstate", "--reason", "node-1")); got != "running (booted)" {
		t.Errorf("domstate --reason = %q", got)
	}
	if got := strings.TrimSpace(e.mustVirsh(t, "domid", "node-1")); got != strconv.Itoa(id) {
		t.Errorf("domid = %q, want %d", got, id)
	}
	// Lookups by id and by UUID resolve as virsh does.
	if got := strings.TrimSpace(e.mustVirsh(t, "domname", strconv.Itoa(id))); got != "node-1" {
		t.Errorf("domname %d = %q", id, got)
	}
	uuid := strings.TrimSpace(e.mustVirsh(t, "domuuid", "node-1"))
	if got := strings.TrimSpace(e.mustVirsh(t, "domname", uuid)); got != "node-1" {
		t.Errorf("domname %s = %q", uuid, got)
	}

	// Starting a running domain: virsh's own refusal, exit 1.
	if _, errOut, code := e.virsh(t, "start", "node-1"); code != 1 || !strings.Contains(errOut, "error: Domain is already active") {
		t.Errorf("start of running domain: exit %d, stderr %q", code, errOut)
	}

	e.mustVirsh(t, "reboot", "node-1")
	e.mustVirsh(t, "reset", "node-1")
	if got := strings.TrimSpace(e.mustVirsh(t, "domstate", "node-1")); got != "running" {
		t.Errorf("domstate after reboot+reset = %q", got)
	}
	// The id is stable while the domain stays active.
	if got := strings.TrimSpace(e.mustVirsh(t, "domid", "node-1")); got != strconv.Itoa(id) {
		t.Errorf("domid after reboot = %q, want %d", got, id)
	}

	if out := e.mustVirsh(t, "destroy", "node-1"); !strings.Contains(out, "Domain 'node-1' destroyed") {
		t.Errorf("destroy: %q", out)
	}
	if got := names(e.mustVirsh(t, "list", "--name")); len(got) != 0 {
		t.Fatalf("list --name right after destroy = %q, want empty", got)
	}
	if got := strings.TrimSpace(e.mustVirsh(t, "domstate", "--reason", "node-1")); got != "shut off (destroyed)" {
		t.Errorf("domstate --reason after destroy = %q", got)
	}
	if got := strings.TrimSpace(e.mustVirsh(t, "domid", "node-1")); got != "-" {
		t.Errorf("domid of shut off domain = %q, want -", got)
	}
	if _, errOut, code := e.virsh(t, "destroy", "node-1"); code != 1 || !strings.Contains(errOut, "error: Requested operation is not valid: domain is not running") {
		t.Errorf("destroy of shut off domain: exit %d, stderr %q", code, errOut)
	}

	e.mustVirsh(t, "start", "node-2")
	if out := e.mustVirsh(t, "shutdown", "node-2"); !strings.Contains(out, "Domain 'node-2' is being shutdown") {
		t.Errorf("shutdown: %q", out)
	}
	if got := strings.TrimSpace(e.mustVirsh(t, "domstate", "--reason", "node-2")); got != "shut off (shutdown)" {
		t.Errorf("domstate --reason after shutdown = %q", got)
	}
	for _, cmd := range []string{"reboot", "reset", "shutdown"} {
		if _, errOut, code := e.virsh(t, cmd, "node-2"); code != 1 || !strings.Contains(errOut, "domain is not running") {
			t.Errorf("%s of shut off domain: exit %d, stderr %q", cmd, code, errOut)
		}
	}
}

func TestVirshDominfoAndXML(t *testing.T) {
	e := startEnv(t)

	info := e.mustVirsh(t, "dominfo", "node-3")
	for _, want := range []string{
		"Id:             -\n",
		"Name:           node-3\n",
		"OS Type:        hvm\n",
		"State:          shut off\n",
		"CPU(s):         2\n",
		"Max memory:     4194304 KiB\n",
		"Used memory:    4194304 KiB\n",
		"Persistent:     yes\n",
		"Autostart:      disable\n",
		"Managed save:   no\n",
	} {
		if !strings.Contains(info, want) {
			t.Errorf("dominfo lacks %q:\n%s", want, info)
		}
	}

	xml := e.mustVirsh(t, "dumpxml", "node-3")
	for _, want := range []string{
		"<name>node-3</name>",
		"<memory unit='KiB'>4194304</memory>",
		"<mac address='52:54:00:00:00:03'/>",
		"<source network='provision'/>",
		"<boot dev='hd'/>",
	} {
		if !strings.Contains(xml, want) {
			t.Errorf("dumpxml lacks %q:\n%s", want, xml)
		}
	}
	iflist := e.mustVirsh(t, "domiflist", "node-3")
	if !regexp.MustCompile(`(?m)^ -\s+network\s+provision\s+virtio\s+52:54:00:00:00:03$`).MatchString(iflist) {
		t.Errorf("domiflist:\n%s", iflist)
	}

	if out := e.mustVirsh(t, "autostart", "node-3"); !strings.Contains(out, "Domain 'node-3' marked as autostarted") {
		t.Errorf("autostart: %q", out)
	}
	if info := e.mustVirsh(t, "dominfo", "node-3"); !strings.Contains(info, "Autostart:      enable\n") {
		t.Errorf("dominfo after autostart:\n%s", info)
	}
	e.mustVirsh(t, "autostart", "--disable", "node-3")
	if info := e.mustVirsh(t, "dominfo", "node-3"); !strings.Contains(info, "Autostart:      disable\n") {
		t.Errorf("dominfo after autostart --disable:\n%s", info)
	}
}

func TestVirshHostCommands(t *testing.T) {
	e := startEnv(t)

	if got := strings.TrimSpace(e.mustVirsh(t, "uri")); got != e.uri {
		t.Errorf("uri = %q, want %q", got, e.uri)
	}
	if got := strings.TrimSpace(e.mustVirsh(t, "hostname")); got == "" {
		t.Error("hostname is empty")
	}
	version := e.mustVirsh(t, "version")
	if !strings.Contains(version, "Using API: QEMU") || !strings.Contains(version, "Running hypervisor: QEMU 7.2.0") {
		t.Errorf("version:\n%s", version)
	}
	nodeinfo := e.mustVirsh(t, "nodeinfo")
	// Five nodes of the fixture: 2 vCPUs and 4096 MiB each.
	if !strings.Contains(nodeinfo, "CPU(s):              10\n") || !strings.Contains(nodeinfo, "Memory size:         20971520 KiB\n") {
		t.Errorf("nodeinfo:\n%s", nodeinfo)
	}
}

func TestVirshErrors(t *testing.T) {
	e := startEnv(t)

	for _, args := range [][]string{{"dominfo", "nosuch"}, {"start", "nosuch"}, {"dumpxml", "nosuch"}} {
		out, errOut, code := e.virsh(t, args...)
		// Real virsh prints one empty line on stdout before giving up.
		if code != 1 || strings.TrimSpace(out) != "" || !strings.Contains(errOut, "error: failed to get domain 'nosuch'") {
			t.Errorf("virsh %v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
	// The server keeps serving after errors.
	if len(names(e.mustVirsh(t, "list", "--all", "--name"))) != 5 {
		t.Error("list after errors is wrong")
	}
}

func TestVirshReadOnlyRefusesChanges(t *testing.T) {
	e := startEnv(t)
	e.mustVirsh(t, "start", "node-0")

	if got := names(e.mustVirsh(t, "-r", "list", "--all", "--name")); len(got) != 5 {
		t.Errorf("read-only list --all --name = %q", got)
	}
	e.mustVirsh(t, "-r", "dumpxml", "node-0")
	for _, args := range [][]string{{"destroy", "node-0"}, {"start", "node-1"}, {"reboot", "node-0"}, {"autostart", "node-1"}} {
		_, errOut, code := e.virsh(t, append([]string{"-r"}, args...)...)
		if code != 1 || !strings.Contains(errOut, "read only access prevents") {
			t.Errorf("virsh -r %v: exit %d, stderr %q", args, code, errOut)
		}
	}
	// Nothing changed.
	if got := names(e.mustVirsh(t, "list", "--name")); !slices.Equal(got, []string{"node-0"}) {
		t.Errorf("after refused changes, running = %q, want [node-0]", got)
	}
}
