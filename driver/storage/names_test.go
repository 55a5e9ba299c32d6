package storage

import (
	"slices"
	"testing"

	"quintupleo/nodes/cinder"
	"quintupleo/virt"
)

// TestNamed: Cinder names become unique, shell-safe pool names and paths,
// the same whatever the listing order.
func TestNamed(t *testing.T) {
	vols := []cinder.Volume{
		{ID: "11111111-aaaa", Name: "disk.qcow2", SizeGiB: 2},
		{ID: "22222222-bbbb", Name: "twin"},
		{ID: "33333333-cccc", Name: "twin"},
		{ID: "44444444-dddd", Name: ""},
		{ID: "55555555-eeee", Name: "a/b c"},
	}
	want := []string{"disk.qcow2", "twin-22222222", "twin-33333333", "volume", "a_b_c"}
	got := named(vols, "/var/lib/libvirt/images")
	for i, v := range got {
		if v.Name != want[i] || v.Path != "/var/lib/libvirt/images/"+want[i] || v.Key != vols[i].ID {
			t.Errorf("volume %d: %+v, want name %s", i, v, want[i])
		}
	}
	if got[0].CapacityBytes != 2<<30 || got[0].AllocationBytes != 2<<30 {
		t.Errorf("sizes: %+v", got[0])
	}
	rev := slices.Clone(vols)
	slices.Reverse(rev)
	for _, v := range named(rev, "/x") {
		if i := slices.IndexFunc(vols, func(c cinder.Volume) bool { return c.ID == v.Key }); want[i] != v.Name {
			t.Errorf("reversed listing: %s named %s, want %s", v.Key, v.Name, want[i])
		}
	}
}

// TestMatches: the pool (active, persistent, autostarted, dir) against
// virConnectListAllStoragePools' filters (virsh pool-list without --all
// sends ACTIVE; virt's tests hold the bits to libvirt's numbers).
func TestMatches(t *testing.T) {
	const (
		active, inactive       = virt.PoolListActive, virt.PoolListInactive
		persistent, transient  = virt.PoolListPersistent, virt.PoolListTransient
		autostart, noAutostart = virt.PoolListAutostart, virt.PoolListNoAutostart
		dir, logical           = virt.PoolListDir, virt.PoolListLogical
	)
	for flags, want := range map[virt.StoragePoolListFlags]bool{
		0: true, active: true, inactive: false, active | inactive: true,
		persistent: true, transient: false, autostart: true, noAutostart: false,
		dir: true, logical: false, dir | logical: true, inactive | persistent: false,
	} {
		if got := matches(flags); got != want {
			t.Errorf("flags %#x: %v, want %v", flags, got, want)
		}
	}
}
