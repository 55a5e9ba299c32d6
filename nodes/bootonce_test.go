package nodes_test

import (
	"testing"

	"quintupleo/cloudsim"
	"quintupleo/nodes"
)

// A one-time boot device is kept in the cloud (server metadata), boots the
// next power-on, and reverts after it; a persistent one replaces it.
func TestBootDeviceOnceRevertsAfterPowerOn(t *testing.T) {
	inv, x, _ := newExecutor(t, cloudsim.Options{Nodes: 1}, nodes.ExecutorConfig{})
	ns, _, err := inv.Nodes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	id := ns[0].ID
	if err := x.SetBootDeviceOnce(t.Context(), id, nodes.BootNetwork); err != nil {
		t.Fatal(err)
	}
	n, _ := inv.Node(t.Context(), id)
	if n.Metadata[nodes.MetaPXEFirst] != "1" || n.Metadata[nodes.MetaBootOnce] != "disk" {
		t.Fatalf("after SetBootDeviceOnce: metadata %v", n.Metadata)
	}
	if next, revert, ok := x.BootOnce(n); !ok || next != nodes.BootNetwork || revert != nodes.BootDisk {
		t.Errorf("BootOnce = %s, %s, %v", next, revert, ok)
	}
	n, err = x.PowerOn(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if _, has := n.Metadata[nodes.MetaBootOnce]; has || n.Metadata[nodes.MetaPXEFirst] != "" {
		t.Errorf("after the power-on: metadata %v, want the mark gone and pxe-first empty", n.Metadata)
	}

	// Once more, spent by a reboot this time; then a persistent device
	// clears a pending mark.
	if err := x.SetBootDeviceOnce(t.Context(), id, nodes.BootNetwork); err != nil {
		t.Fatal(err)
	}
	if n, err = x.Reboot(t.Context(), id, true); err != nil {
		t.Fatal(err)
	}
	if _, has := n.Metadata[nodes.MetaBootOnce]; has || n.Metadata[nodes.MetaPXEFirst] != "" {
		t.Errorf("after the reboot: metadata %v", n.Metadata)
	}
	if err := x.SetBootDeviceOnce(t.Context(), id, nodes.BootNetwork); err != nil {
		t.Fatal(err)
	}
	if err := x.SetBootDevice(t.Context(), id, nodes.BootNetwork); err != nil {
		t.Fatal(err)
	}
	n, _ = inv.Node(t.Context(), id)
	if _, has := n.Metadata[nodes.MetaBootOnce]; has || n.Metadata[nodes.MetaPXEFirst] != "1" {
		t.Errorf("after SetBootDevice: metadata %v, want the mark gone and pxe-first 1", n.Metadata)
	}
}
