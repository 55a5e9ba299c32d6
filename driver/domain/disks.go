package domain

import (
	"context"
	"strconv"

	"quintupleo/driver/domain/domxml"
	"quintupleo/nodes"
)

// Volumes are the storage pool's volumes seen as domain disks
// (driver/storage implements it; the families do not import each other).
type Volumes interface {
	// DiskVolume is the Cinder volume a disk source names: a path (type
	// 'file' or 'block') or a pool and volume name (type 'volume'). ok is
	// false when the path is not a volume of the pool.
	DiskVolume(ctx context.Context, path, pool, volume string) (id string, ok bool, err error)
	// VolumePath is the pool path of a Cinder volume, "" when unknown.
	VolumePath(ctx context.Context, id string) string
}

// bootVolume is the volume a new domain's disk names, which its server
// boots from; "" when the disk is not a pool volume (the server then boots
// from --define-image, as without storage).
func (h *Driver) bootVolume(ctx context.Context, name string, src domxml.DiskSource) (string, error) {
	if h.vols == nil || (src.File == "" && src.Volume == "") {
		return "", nil
	}
	id, ok, err := h.vols.DiskVolume(ctx, src.File, src.Pool, src.Volume)
	if err != nil {
		return "", err
	}
	if !ok {
		h.log.Info("new domain: its disk is not a storage pool volume; the server boots from the image", "domain", name, "source", src.File)
		return "", nil
	}
	h.log.Info("new domain: the server boots from its disk's volume", "domain", name, "volume", id)
	return id, nil
}

// disksOf are the disks of a node: its image disk (when it booted from an
// image) and then each attached Cinder volume, by its pool path where the
// storage pool names it.
func (h *Driver) disksOf(ctx context.Context, n nodes.Node) []domxml.Disk {
	var disks []domxml.Disk
	if n.ImageID != "" || len(n.Volumes) == 0 {
		disks = append(disks, domxml.RootDisk())
	}
	for _, id := range n.Volumes {
		d := domxml.Disk{Device: "disk", Bus: "virtio", Target: "vd" + string(rune('a'+len(disks)))}
		if len(disks) >= 26 {
			d.Target = "vd" + strconv.Itoa(len(disks))
		}
		if h.vols != nil {
			d.Source = h.vols.VolumePath(ctx, id)
		}
		if d.Source == "" {
			d.Source = "/dev/disk/by-id/virtio-" + id[:min(20, len(id))]
		}
		disks = append(disks, d)
	}
	return disks
}
