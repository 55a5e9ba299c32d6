package virsh_test

import (
	"strings"
	"testing"

	"quintupleo/internal/stacktest"
	"quintupleo/internal/testtool"
)

// TestStorageDifferential runs each pool-* and vol-* read command through
// the real virsh and the emulator against one server (the cloudsim's
// Cinder behind it): the same stdout, stderr and status, byte for byte.
func TestStorageDifferential(t *testing.T) {
	testtool.Require(t, "virsh")
	st := stacktest.New(t, 1)
	for _, args := range [][]string{
		{"vol-create-as", "default", "baremetalbrbm_0.qcow2", "41G", "--format", "qcow2", "--prealloc-metadata"},
		{"vol-create-as", "default", "b1", "1500M"},
	} {
		if r := ourVirsh(t, st, nil, args...); r.status != 0 {
			t.Fatalf("%v: %+v", args, r)
		}
	}
	uuid := strings.TrimSpace(ourVirsh(t, st, nil, "pool-uuid", "default").out)
	key := strings.TrimSpace(ourVirsh(t, st, nil, "vol-key", "--pool", "default", "b1").out)
	const path = "/var/lib/libvirt/images/baremetalbrbm_0.qcow2"
	for _, args := range [][]string{
		{"pool-list"}, {"pool-list", "--all", "--persistent"}, {"pool-list", "--inactive"}, {"pool-list", "--details"},
		{"pool-list", "--all", "--name"}, {"pool-list", "--uuid"}, {"pool-list", "--uuid", "--name"}, {"pool-list", "--type", "dir"},
		{"pool-list", "--type", "logical"}, {"pool-list", "--type", "nope"}, {"pool-list", "--no-autostart"}, {"pool-list", "--transient"},
		{"-q", "pool-list", "--all"}, {"pool-list", "--details", "--name"},
		{"pool-info", "default"}, {"pool-info", uuid}, {"pool-info", "--bytes", "default"}, {"pool-info", "nope"}, {"pool-info"},
		{"pool-dumpxml", "default"}, {"pool-dumpxml", "--inactive", "default"}, {"pool-uuid", "default"}, {"pool-name", uuid},
		{"pool-define-as", "--name", "default", "dir", "--target", "/var/lib/libvirt/images"},
		{"pool-define-as", "default", "dir", "--print-xml", "--target", "/var/lib/libvirt/images"},
		{"pool-build", "default"}, {"pool-start", "default"}, {"pool-refresh", "default"}, {"pool-autostart", "default"},
		{"pool-autostart", "--disable", "default"}, {"pool-start", "nope"},
		{"vol-list", "default"}, {"vol-list", "--details", "default"}, {"vol-list", "nope"},
		{"vol-path", "--pool", "default", "baremetalbrbm_0.qcow2"}, {"vol-path", path}, {"vol-path", key}, {"vol-path", "nope"},
		{"vol-path", "--pool", "default", "nope"}, {"vol-path", "--pool", "nope", "b1"},
		{"vol-info", "--pool", "default", "b1"}, {"vol-info", "--bytes", path}, {"vol-info", "/var/lib/libvirt/images/nope"},
		{"vol-dumpxml", "--pool", "default", "b1"}, {"vol-key", path}, {"vol-name", path}, {"vol-name", "nope"},
		{"vol-pool", path}, {"vol-pool", "--uuid", key},
		{"vol-create-as", "default", "b1", "1G"}, {"vol-create-as", "default", "huge", "9999999G"},
		{"vol-create-as", "default", "x", "12Q"}, {"vol-create-as", "nope", "x", "1G"},
		{"vol-create-as", "default", "x", "1G", "--format", "qcow2", "--print-xml"},
		{"vol-delete", "--pool", "default", "nope"},
		{"-r", "vol-create-as", "default", "x", "1G"}, {"-r", "vol-list", "default"},
	} {
		want := realVirsh(t, st, args...)
		got := ourVirsh(t, st, nil, args...)
		if got != want {
			t.Errorf("virsh %s:\n ours: %q\n      %q\n      %d\nvirsh: %q\n      %q\n      %d", strings.Join(args, " "),
				got.out, got.err, got.status, want.out, want.err, want.status)
		}
	}
}

// TestStorageDifferentialChanges: each change is run by the real virsh,
// undone, then run by the emulator, with the same output.
func TestStorageDifferentialChanges(t *testing.T) {
	testtool.Require(t, "virsh")
	st := stacktest.New(t, 1)
	for _, s := range [][2][]string{
		{{"vol-create-as", "default", "n0.qcow2", "2G", "--format", "qcow2", "--prealloc-metadata"}, {"vol-delete", "--pool", "default", "n0.qcow2"}},
		{{"vol-create-as", "default", "n1", "1024M", "--allocation", "0"}, {"vol-delete", "/var/lib/libvirt/images/n1"}},
	} {
		want := realVirsh(t, st, s[0]...)
		realVirsh(t, st, s[1]...)
		got := ourVirsh(t, st, nil, s[0]...)
		if got != want {
			t.Errorf("virsh %s:\n ours: %+v\nvirsh: %+v", strings.Join(s[0], " "), got, want)
		}
		if want, got := realVirsh(t, st, s[1]...), ourVirsh(t, st, nil, s[0]...); got.status != 0 || want.status != 0 {
			t.Fatalf("redo: %+v / %+v", want, got)
		}
		if got, want := ourVirsh(t, st, nil, s[1]...), (result{out: "Vol " + volName(s[1]) + " deleted\n\n"}); got != want {
			t.Errorf("virsh %s:\n ours: %+v\nwant: %+v", strings.Join(s[1], " "), got, want)
		}
	}
}

// volName is the volume name a vol-delete line ends with.
func volName(args []string) string {
	a := args[len(args)-1]
	return a[strings.LastIndexByte(a, '/')+1:]
}

// TestStorageUndefineRemovesVolumes: undefine --remove-all-storage of a
// domain whose disk is a pool volume, by the real virsh and by the
// emulator: the same lines, and the volume gone both times.
func TestStorageUndefineRemovesVolumes(t *testing.T) {
	testtool.Require(t, "virsh")
	st := stacktest.New(t, 1)
	const xml = `<domain type='kvm'><name>bm_0</name><memory unit='KiB'>4194304</memory><vcpu>2</vcpu>
<os><type arch='x86_64'>hvm</type><boot dev='network'/></os><devices>
<disk type='file' device='disk'><source file='/var/lib/libvirt/images/bm_0.qcow2'/><target dev='sda' bus='sata'/></disk>
<interface type='network'><mac address='00:d6:4e:2a:5b:10'/><source network='provision'/></interface></devices></domain>`
	setup := func() {
		t.Helper()
		if r := ourVirsh(t, st, nil, "vol-create-as", "default", "bm_0.qcow2", "1G"); r.status != 0 {
			t.Fatalf("vol-create-as: %+v", r)
		}
		if r := ourVirshIn(t, st, xml, "define", "/dev/stdin"); r.status != 0 {
			t.Fatalf("define: %+v", r)
		}
	}
	args := []string{"undefine", "--managed-save", "--remove-all-storage", "bm_0"}
	setup()
	want := realVirsh(t, st, args...)
	if want.status != 0 || want.out != "Domain 'bm_0' has been undefined\nVolume 'vda'(/var/lib/libvirt/images/bm_0.qcow2) removed.\n\n" {
		t.Fatalf("real virsh: %+v", want)
	}
	setup()
	if got := ourVirsh(t, st, nil, args...); got != want {
		t.Errorf("undefine --remove-all-storage:\n ours: %+v\nvirsh: %+v", got, want)
	}
	if r := ourVirsh(t, st, nil, "vol-list", "default"); r.out != " Name   Path\n--------------\n\n" {
		t.Errorf("volumes left: %q", r.out)
	}
}

// TestStorageTablesMatchLibvirtd: the pool-list and vol-list tables (and
// the lines devtest greps out of them) are byte for byte those of a real
// libvirtd (the test driver) holding the same pool and volumes. virsh lays
// the tables out itself; what this holds to libvirtd is what quintupleo
// answers in them: names, states, autostart, persistence, paths, types and
// sizes. A Cinder volume is allocated whole, so the reference's volumes are
// made with their allocation equal to their capacity.
func TestStorageTablesMatchLibvirtd(t *testing.T) {
	testtool.Require(t, "virsh")
	ref := testtool.ReferenceLibvirtd(t)
	st := stacktest.New(t, 1)
	ours := "qemu+tcp://127.0.0.1:" + st.Port + "/system"
	// The test driver's own pool gives way to devtest's, made as
	// create-nodes makes it.
	for _, args := range [][]string{
		{"pool-destroy", "default-pool"}, {"pool-undefine", "default-pool"},
		{"pool-define-as", "--name", "default", "dir", "--target", "/var/lib/libvirt/images"},
		{"pool-autostart", "default"}, {"pool-start", "default"},
		{"vol-create-as", "default", "baremetalbrbm_0.qcow2", "41G", "--allocation", "41G", "--format", "qcow2"},
		{"vol-create-as", "default", "b1", "2G", "--allocation", "2G"},
	} {
		if r := virshAt(t, ref, nil, args...); r.status != 0 {
			t.Fatalf("reference libvirtd: virsh %v: %+v", args, r)
		}
	}
	for _, args := range [][]string{
		{"vol-create-as", "default", "baremetalbrbm_0.qcow2", "41G", "--format", "qcow2", "--prealloc-metadata"},
		{"vol-create-as", "default", "b1", "1500M"},
	} {
		if r := virshAt(t, ours, nil, args...); r.status != 0 {
			t.Fatalf("quintupleo: virsh %v: %+v", args, r)
		}
	}
	for _, args := range [][]string{
		{"pool-list"}, {"pool-list", "--all"}, {"pool-list", "--all", "--persistent"}, {"pool-list", "--inactive"},
		{"pool-list", "--autostart"}, {"pool-list", "--transient"}, {"pool-list", "--type", "dir"}, {"pool-list", "--name"},
		{"-q", "pool-list", "--all"},
		{"vol-list", "default"}, {"vol-list", "--details", "default"}, {"vol-list", "nope"},
		{"vol-path", "--pool", "default", "baremetalbrbm_0.qcow2"},
		{"vol-info", "--pool", "default", "b1"}, {"vol-info", "--bytes", "/var/lib/libvirt/images/baremetalbrbm_0.qcow2"},
	} {
		want, got := virshAt(t, ref, nil, args...), virshAt(t, ours, nil, args...)
		if got != want {
			t.Errorf("virsh %s:\n quintupleo: %q\n            %q\n            %d\n   libvirtd: %q\n            %q\n            %d",
				strings.Join(args, " "), got.out, got.err, got.status, want.out, want.err, want.status)
		}
	}
}
