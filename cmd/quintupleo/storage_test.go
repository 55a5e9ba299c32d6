package main

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"

	"quintupleo/cloudsim"
	"quintupleo/internal/testtool"
	"quintupleo/nodes"
	"quintupleo/nodes/cinder"
)

// storageState is what storage calls could leave behind in the cloud: the
// live servers and the volumes with their status and attachments. It is
// read through the cloud's own API, so the same assertions hold on cloudsim
// and on a real cloud.
type storageState struct {
	servers, volumes []string
}

func cloudStorage(t *testing.T, e *env) storageState {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cloud, err := nodes.Connect(ctx, e.cloud)
	if err != nil {
		t.Fatal(err)
	}
	var st storageState
	pages, err := servers.List(cloud.Compute, servers.ListOpts{}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	all, err := servers.ExtractServers(pages)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		st.servers = append(st.servers, s.ID+" "+s.Name)
	}
	cc := cloud.Cinder(cinder.Config{})
	if cc == nil {
		t.Fatal("the cloud has no Cinder")
	}
	vols, err := cc.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vols {
		st.volumes = append(st.volumes, fmt.Sprintf("%s %s %d %s %v", v.ID, v.Name, v.SizeGiB, v.Status, v.Servers))
	}
	slices.Sort(st.servers)
	return st
}

func (a storageState) equal(b storageState) bool {
	return slices.Equal(a.servers, b.servers) && slices.Equal(a.volumes, b.volumes)
}

// volumeNamed is the Cinder volume of that name.
func volumeNamed(t *testing.T, e *env, name string) cinder.Volume {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cloud, err := nodes.Connect(ctx, e.cloud)
	if err != nil {
		t.Fatal(err)
	}
	vols, err := cloud.Cinder(cinder.Config{}).List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vols {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("no Cinder volume %q", name)
	return cinder.Volume{}
}

func (e *env) bound() time.Duration {
	if e.clientMax == 0 {
		return 60 * time.Second
	}
	return e.clientMax
}

// TestVirshStorageCommands drives every pool and volume command virsh has
// for the pool with the real virsh: tables and XML in virsh's layout, the
// pool's figures from the Cinder quota, libvirt's errors for what the pool
// refuses (with nothing changed in the cloud).
func TestVirshStorageCommands(t *testing.T) {
	e := startEnv(t, func(o *cloudsim.Options, _ *serveConfig) {
		o.BlockQuota = cloudsim.BlockQuota{Volumes: 10, Gigabytes: 50, Snapshots: 10}
	})
	before := cloudStorage(t, e)

	// The pool as virsh shows it (layouts byte for byte those of real virsh 9.0).
	if got := e.mustVirsh(t, "pool-list", "--all", "--persistent"); got != " Name      State    Autostart\n-------------------------------\n default   active   yes\n\n" {
		t.Errorf("pool-list:\n%q", got)
	}
	uuid := strings.TrimSpace(e.mustVirsh(t, "pool-uuid", "default"))
	wantInfo := "Name:           default\nUUID:           " + uuid + "\nState:          running\nPersistent:     yes\nAutostart:      yes\n" +
		"Capacity:       50.00 GiB\nAllocation:     0.00 B\nAvailable:      50.00 GiB\n\n"
	if got := e.mustVirsh(t, "pool-info", "default"); got != wantInfo {
		t.Errorf("pool-info:\n%s\nwant:\n%s", got, wantInfo)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"pool-define-as", "--name", "default", "dir", "--target", "/var/lib/libvirt/images"},
			"error: Failed to define pool default\nerror: operation failed: pool 'default' already exists with uuid " + uuid + "\n"},
		{[]string{"pool-build", "default"}, "error: Failed to build pool default\nerror: Requested operation is not valid: storage pool 'default' is already active\n"},
		{[]string{"pool-start", "default"}, "error: Failed to start pool default\nerror: Requested operation is not valid: storage pool 'default' is already active\n"},
		{[]string{"pool-info", "images"}, "error: failed to get pool 'images'\nerror: Storage pool not found: no storage pool with matching name 'images'\n"},
		{[]string{"vol-create-as", "default", "huge", "51G"}, "error: Failed to create vol huge\nerror: operation failed: Not enough space left in storage pool\n"},
		{[]string{"vol-info", "/var/lib/libvirt/images/nosuch"}, "error: failed to get vol '/var/lib/libvirt/images/nosuch', specifying --pool might help\n" +
			"error: Storage volume not found: no storage vol with matching path '/var/lib/libvirt/images/nosuch'\n"},
	} {
		if _, errOut, code := e.virsh(t, c.args...); code != 1 || errOut != c.want {
			t.Errorf("virsh %v: exit %d\n%s\nwant:\n%s", c.args, code, errOut, c.want)
		}
	}
	if got := e.mustVirsh(t, "pool-autostart", "default"); got != "Pool default marked as autostarted\n\n" {
		t.Errorf("pool-autostart: %q", got)
	}
	if got := e.mustVirsh(t, "pool-refresh", "default"); got != "Pool default refreshed\n\n" {
		t.Errorf("pool-refresh: %q", got)
	}
	if !before.equal(cloudStorage(t, e)) {
		t.Fatalf("refused pool calls changed the cloud")
	}

	// Volumes: sizes round up to whole GiB.
	e.mustVirsh(t, "vol-create-as", "default", "b1", "1500M", "--format", "raw")
	e.mustVirsh(t, "vol-create-as", "default", "disk.qcow2", "4G", "--format", "qcow2", "--prealloc-metadata")
	if _, errOut, code := e.virsh(t, "vol-create-as", "default", "b1", "1G"); code != 1 ||
		errOut != "error: Failed to create vol b1\nerror: storage volume 'b1' exists already\n" {
		t.Errorf("vol-create-as of a taken name: exit %d, %q", code, errOut)
	}
	wantList := " Name         Path\n--------------------------------------------------\n" +
		" b1           /var/lib/libvirt/images/b1\n disk.qcow2   /var/lib/libvirt/images/disk.qcow2\n\n"
	if got := e.mustVirsh(t, "vol-list", "default"); got != wantList {
		t.Errorf("vol-list:\n%s\nwant:\n%s", got, wantList)
	}
	wantDetails := " Name         Path                                 Type   Capacity   Allocation\n" +
		"---------------------------------------------------------------------------------\n" +
		" b1           /var/lib/libvirt/images/b1           file   2.00 GiB   2.00 GiB\n" +
		" disk.qcow2   /var/lib/libvirt/images/disk.qcow2   file   4.00 GiB   4.00 GiB\n\n"
	if got := e.mustVirsh(t, "vol-list", "default", "--details"); got != wantDetails {
		t.Errorf("vol-list --details:\n%s\nwant:\n%s", got, wantDetails)
	}
	id := volumeNamed(t, e, "disk.qcow2").ID
	if got := e.mustVirsh(t, "vol-key", "--pool", "default", "disk.qcow2"); got != id+"\n\n" {
		t.Errorf("vol-key: %q, want the Cinder ID %s", got, id)
	}
	if got := e.mustVirsh(t, "vol-path", id); got != "/var/lib/libvirt/images/disk.qcow2\n\n" {
		t.Errorf("vol-path by key: %q", got)
	}
	if got := e.mustVirsh(t, "vol-info", "/var/lib/libvirt/images/disk.qcow2"); got != "Name:           disk.qcow2\nType:           file\nCapacity:       4.00 GiB\nAllocation:     4.00 GiB\n\n" {
		t.Errorf("vol-info by path: %q", got)
	}
	if got := e.mustVirsh(t, "vol-pool", "/var/lib/libvirt/images/disk.qcow2"); got != "default\n\n" {
		t.Errorf("vol-pool: %q", got)
	}
	wantXML := "<volume type='file'>\n  <name>disk.qcow2</name>\n  <key>" + id + "</key>\n" +
		"  <capacity unit='bytes'>4294967296</capacity>\n  <allocation unit='bytes'>4294967296</allocation>\n" +
		"  <target>\n    <path>/var/lib/libvirt/images/disk.qcow2</path>\n    <format type='raw'/>\n  </target>\n</volume>\n\n"
	if got := e.mustVirsh(t, "vol-dumpxml", "--pool", "default", "disk.qcow2"); got != wantXML {
		t.Errorf("vol-dumpxml:\n%s\nwant:\n%s", got, wantXML)
	}
	if got := e.mustVirsh(t, "pool-dumpxml", "default"); !strings.Contains(got, "<allocation unit='bytes'>6442450944</allocation>") ||
		!strings.Contains(got, "<available unit='bytes'>47244640256</available>") || !strings.Contains(got, "<path>/var/lib/libvirt/images</path>") {
		t.Errorf("pool-dumpxml:\n%s", got)
	}
	for _, name := range []string{"b1", "disk.qcow2"} {
		if got := e.mustVirsh(t, "vol-delete", "--pool", "default", name); got != "Vol "+name+" deleted\n\n" {
			t.Errorf("vol-delete %s: %q", name, got)
		}
	}
	if after := cloudStorage(t, e); !after.equal(before) {
		t.Errorf("the cloud changed:\nbefore %v\nafter  %v", before, after)
	}
}

// TestLibvirtPythonStorageLookups: sushy-tools finds a domain's disk with
// storageVolLookupByPath; Ansible's virt_pool lists pools with the old
// calls and reads their facts.
func TestLibvirtPythonStorageLookups(t *testing.T) {
	py := debianPython(t)
	e := startEnv(t)
	e.mustVirsh(t, "vol-create-as", "default", "sushy.img", "3G")
	script := `
import sys, libvirt
conn = libvirt.open(sys.argv[1])
pool = conn.storagePoolLookupByName("default")
print(pool.name(), pool.isActive(), pool.isPersistent(), pool.autostart(), pool.info()[0])
print(conn.listStoragePools(), conn.listDefinedStoragePools(), pool.listVolumes())
vol = conn.storageVolLookupByPath("/var/lib/libvirt/images/sushy.img")
print(vol.name(), vol.path(), vol.info(), vol.storagePoolLookupByVolume().name())
print(conn.storageVolLookupByKey(vol.key()).name())
try:
    conn.storageVolLookupByPath("/var/lib/libvirt/images/nosuch")
except libvirt.libvirtError as err:
    print("error", err.get_error_code(), err.get_error_domain(), err.get_error_message())
vol.delete(0)
print("left", pool.numOfVolumes())
`
	ctx, cancel := context.WithTimeout(t.Context(), e.bound())
	defer cancel()
	out, errOut, code := testtool.Run(t, exec.CommandContext(ctx, py, "-c", script, e.uri))
	want := "default 1 1 1 2\n['default'] [] ['sushy.img']\n" +
		"sushy.img /var/lib/libvirt/images/sushy.img [0, 3221225472, 3221225472] default\nsushy.img\n" +
		"error 50 18 Storage volume not found: no storage vol with matching path '/var/lib/libvirt/images/nosuch'\nleft 0\n"
	if code != 0 || out != want {
		t.Fatalf("libvirt-python: exit %d\n%s\nstderr: %s\nwant:\n%s", code, out, errOut, want)
	}
}

// TestStorageWithoutCinder: a cloud whose catalog has no Cinder has no
// storage pool, and every storage call says why; domains still define,
// booting from the image.
func TestStorageWithoutCinder(t *testing.T) {
	e := startEnv(t, func(o *cloudsim.Options, _ *serveConfig) { o.WithoutCinder = true })
	const why = "this function is not supported by the connection driver: the cloud's catalog has no block-storage service (Cinder); storage pools and volumes need it\n"
	for _, c := range []struct {
		args []string
		want string
	}{
		// virsh falls back from the LIST_ALL call on NO_SUPPORT, as against a
		// libvirtd without a storage driver.
		{[]string{"pool-list"}, "error: Failed to get the number of active pools \nerror: " + why},
		{[]string{"pool-info", "default"}, "error: failed to get pool 'default'\nerror: " + why},
		{[]string{"vol-create-as", "default", "x", "1G"}, "error: failed to get pool 'default'\nerror: " + why},
		{[]string{"vol-path", "/var/lib/libvirt/images/x"}, "error: failed to get vol '/var/lib/libvirt/images/x', specifying --pool might help\nerror: " + why},
	} {
		if _, errOut, code := e.virsh(t, c.args...); code != 1 || errOut != c.want {
			t.Errorf("virsh %v: exit %d\n%s\nwant:\n%s", c.args, code, errOut, c.want)
		}
	}
	e.mustVirsh(t, "define", writeXML(t, tripleoDomainXML("nocinder_0", "", "00:7d:ab:00:20:01")))
	if s := e.server(t, "nocinder_0"); s.Image["id"] == nil {
		t.Errorf("server booted without an image: %+v", s.Image)
	}
	e.mustVirsh(t, "undefine", "nocinder_0")
}

// TestAnsibleVirtPool runs Debian's community.libvirt.virt_pool: list_pools
// and facts (the pool's state, figures, path and volumes).
func TestAnsibleVirtPool(t *testing.T) {
	e := startEnv(t)
	e.mustVirsh(t, "vol-create-as", "default", "ansible.qcow2", "2G", "--format", "qcow2")
	defer e.mustVirsh(t, "vol-delete", "--pool", "default", "ansible.qcow2")
	if r := e.ansibleModule(t, "virt_pool", "command=list_pools"); fmt.Sprint(r["list_pools"]) != "[default]" {
		t.Errorf("list_pools: %v", r)
	}
	r := e.ansibleModule(t, "virt_pool", "command=facts")
	facts, _ := r["ansible_facts"].(map[string]any)
	pools, _ := facts["ansible_libvirt_pools"].(map[string]any)
	pool, _ := pools["default"].(map[string]any)
	uuid := strings.TrimSpace(e.mustVirsh(t, "pool-uuid", "default"))
	want := map[string]any{"autostart": "yes", "path": "/var/lib/libvirt/images", "persistent": "yes",
		"state": "active", "status": "running", "type": "dir", "uuid": uuid}
	for k, v := range want {
		if pool[k] != v {
			t.Errorf("facts: %s is %v, want %v (%v)", k, pool[k], v, pool)
		}
	}
	// The figures (strings of bytes) are the Cinder quota's; the cloud's
	// other volumes count.
	size := func(k string) int64 {
		n, err := strconv.ParseInt(fmt.Sprint(pool[k]), 10, 64)
		if err != nil {
			t.Errorf("facts: %s: %v", k, err)
		}
		return n
	}
	total, used, avail := size("size_total"), size("size_used"), size("size_available")
	vols, _ := pool["volumes"].([]any)
	if used < 2<<30 || used+avail != total || !slices.Contains(vols, any("ansible.qcow2")) || fmt.Sprint(pool["volume_count"]) != strconv.Itoa(len(vols)) {
		t.Errorf("facts: figures or volumes: %v", pool)
	}
}
