package storage

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"quintupleo/nodes/cinder"
	"quintupleo/virt"
)

// list reads every volume from Cinder and caches the result.
// A listing that started before one of our own changes (forget) may not
// show it, so it is returned to its caller but not cached; and a cached
// listing is as old as when it started, not when it ended.
func (d *Driver) list(ctx context.Context) ([]Volume, error) {
	d.mu.Lock()
	gen := d.gen
	d.mu.Unlock()
	start := time.Now()
	raw, err := d.cc.List(ctx)
	if err != nil {
		return nil, fromCinder(err)
	}
	vols := named(raw, d.cfg.PoolPath)
	d.mu.Lock()
	if d.gen == gen {
		d.vols, d.listedAt = vols, start
	}
	d.mu.Unlock()
	return vols, nil
}

// cached is the last listing when it is younger than CacheFor, else a
// fresh one.
func (d *Driver) cached(ctx context.Context) ([]Volume, error) {
	d.mu.Lock()
	vols, at := d.vols, d.listedAt
	d.mu.Unlock()
	if !at.IsZero() && time.Since(at) < d.cfg.CacheFor {
		return vols, nil
	}
	return d.list(ctx)
}

// forget drops the cache after our own change, so that the next read sees it.
func (d *Driver) forget() {
	d.mu.Lock()
	d.vols, d.listedAt = nil, time.Time{}
	d.gen++
	d.mu.Unlock()
}

// Volumes lists the pool's volumes, freshly.
func (d *Driver) Volumes(ctx context.Context, pool virt.UUID) ([]Volume, error) {
	if _, err := d.PoolByUUID(ctx, pool); err != nil {
		return nil, err
	}
	return d.list(ctx)
}

// find is the first volume of the (cached) listing for which match holds.
func (d *Driver) find(ctx context.Context, match func(Volume) bool, notFound string) (Volume, error) {
	if err := d.ready(); err != nil {
		return Volume{}, err
	}
	vols, err := d.cached(ctx)
	if err != nil {
		return Volume{}, err
	}
	for _, v := range vols {
		if match(v) {
			return v, nil
		}
	}
	return Volume{}, virt.NoStorageVol(notFound)
}

// VolumeByName looks a volume of the pool up by name.
func (d *Driver) VolumeByName(ctx context.Context, pool virt.UUID, name string) (Volume, error) {
	if _, err := d.PoolByUUID(ctx, pool); err != nil {
		return Volume{}, err
	}
	return d.find(ctx, func(v Volume) bool { return v.Name == name }, fmt.Sprintf("no storage vol with matching name '%s'", name))
}

// VolumeByKey looks a volume up by key (its Cinder ID).
func (d *Driver) VolumeByKey(ctx context.Context, key string) (Volume, error) {
	return d.find(ctx, func(v Volume) bool { return v.Key == key }, "no storage vol with matching key "+key)
}

// VolumeByPath looks a volume up by path.
func (d *Driver) VolumeByPath(ctx context.Context, p string) (Volume, error) {
	clean := path.Clean(p)
	notFound := fmt.Sprintf("no storage vol with matching path '%s'", p)
	if clean != p {
		notFound = fmt.Sprintf("no storage vol with matching path '%s' (%s)", p, clean)
	}
	return d.find(ctx, func(v Volume) bool { return v.Path == clean }, notFound)
}

// PoolName is the pool's name (every volume is in it).
func (d *Driver) PoolName() string { return d.pool.Name }

// CreateVolume answers vol-create-as and vol-create: a Cinder volume of the
// XML's capacity rounded up to whole GiB (Cinder's unit; at least 1),
// waited for until available and marked bootable, so that a domain can
// boot from it.
func (d *Driver) CreateVolume(ctx context.Context, pool virt.UUID, xml string, flags uint32) (Volume, error) {
	if _, err := d.PoolByUUID(ctx, pool); err != nil {
		return Volume{}, err
	}
	// Preallocating qcow2 metadata means nothing for a Cinder volume, and
	// devtest passes it on Debian.
	if flags&^virt.VolCreatePreallocMetadata != 0 {
		return Volume{}, virt.InvalidArg(from, fmt.Sprintf("unsupported flags (0x%x) in function storageVolCreateXML", flags&^virt.VolCreatePreallocMetadata))
	}
	def, err := parseVolumeXML(xml)
	if err != nil {
		return Volume{}, err
	}
	if virt.SanitizeName(def.name, "") != def.name {
		return Volume{}, virt.ConfigUnsupported(from, fmt.Sprintf("volume name '%s' cannot be kept in the cloud: a volume's name must be made of letters, digits and '_', '.', '+', '-', not starting with '-' or '.'", def.name))
	}
	vols, err := d.list(ctx)
	if err != nil {
		return Volume{}, err
	}
	for _, v := range vols {
		// A Cinder volume of that name, even one the pool shows with a
		// suffix, would make the new one's name ambiguous.
		if v.Name == def.name || v.CloudName == def.name {
			return Volume{}, virt.StorageVolExists(def.name)
		}
	}
	size := int(max(1, (def.capacity+gib-1)/gib))
	d.log.Info("creating a Cinder volume for a new storage volume", "volume", def.name, "requested_bytes", def.capacity,
		"size_gib", size, "format", def.format, "note", "Cinder sizes are whole GiB; a Cinder volume is a raw block device whatever the format asked for")
	cv, err := d.cc.Create(ctx, cinder.CreateSpec{Name: def.name, SizeGiB: size, Bootable: true})
	d.forget()
	if err != nil {
		return Volume{}, d.createError(def.name, err)
	}
	return d.VolumeByKey(ctx, cv.ID)
}

// createError is the libvirt error of a refused create: over the gigabytes
// quota is libvirt's "not enough space" (the pool's capacity is the quota).
func (d *Driver) createError(name string, err error) error {
	var ce *cinder.Error
	if errors.As(err, &ce) && errors.Is(err, cinder.ErrOverQuota) {
		d.log.Info("Cinder refused a volume over quota", "volume", name, "reason", ce.Reason)
		if strings.Contains(ce.Reason, "VolumeSizeExceedsAvailableQuota") || strings.Contains(ce.Reason, "gigabytes") {
			return virt.OperationFailed(from, "Not enough space left in storage pool", err)
		}
		return virt.OperationFailed(from, fmt.Sprintf("the cloud refused volume '%s': %s", name, ce.Reason), err)
	}
	return fromCinder(err)
}

// DeleteVolume answers vol-delete. A volume a server holds is refused with
// libvirt's "still in use" and left as it is; one Cinder is detaching
// (its server is being deleted) is waited for first.
func (d *Driver) DeleteVolume(ctx context.Context, key string, flags uint32) error {
	if flags != 0 {
		return virt.InvalidArg(from, fmt.Sprintf("unsupported flags (0x%x) in function storageVolDelete", flags))
	}
	v, err := d.VolumeByKey(ctx, key)
	if err != nil {
		return err
	}
	cv, err := d.cc.Get(ctx, key)
	if err != nil {
		return fromCinder(err)
	}
	if cv.Status == "detaching" {
		if err := d.cc.WaitReleased(ctx, key); err != nil {
			return fromCinder(err)
		}
		cv.Status, cv.Servers = "available", nil
	}
	if cv.InUse() {
		d.log.Info("vol-delete of a volume in use refused", "volume", v.Name, "status", cv.Status, "servers", cv.Servers)
		return virt.OperationInvalid(from, fmt.Sprintf("volume '%s' is still in use.", v.Name), nil)
	}
	err = d.cc.Delete(ctx, key)
	d.forget()
	if err != nil {
		return fromCinder(err)
	}
	d.log.Info("storage volume deleted: Cinder volume gone", "volume", v.Name, "id", key)
	return nil
}

// VolumeXML is the volume's XML, as libvirt writes a dir pool's file.
func (d *Driver) VolumeXML(ctx context.Context, key string) (string, error) {
	v, err := d.VolumeByKey(ctx, key)
	if err != nil {
		return "", err
	}
	return volumeXML(v), nil
}

// DiskVolume is the Cinder volume a new domain's disk names, by path (a
// file or block source) or by pool and volume name (type 'volume'); ok is
// false when it names none of the pool's volumes (or there is no Cinder).
func (d *Driver) DiskVolume(ctx context.Context, p, pool, volume string) (id string, ok bool, err error) {
	if d.cc == nil || (p == "" && volume == "") {
		return "", false, nil
	}
	var v Volume
	switch {
	case volume != "" && pool != d.pool.Name:
		return "", false, virt.NoStoragePool(fmt.Sprintf("no storage pool with matching name '%s'", pool))
	case volume != "":
		v, err = d.VolumeByName(ctx, d.pool.UUID, volume)
	default:
		v, err = d.VolumeByPath(ctx, p)
	}
	if e, isVirt := virt.As(err); isVirt && e.Code == virt.NoStorageVol("").Code && volume == "" {
		return "", false, nil // a file of the host, not a pool volume
	}
	if err != nil {
		return "", false, err
	}
	return v.Key, true, nil
}

// VolumePath is the pool path of Cinder volume id for a domain's XML, ""
// when it is not one the pool can name right now.
func (d *Driver) VolumePath(ctx context.Context, id string) string {
	if d.cc == nil {
		return ""
	}
	v, err := d.VolumeByKey(ctx, id)
	if err != nil {
		d.log.Debug("no pool path for an attached volume", "volume", id, "err", err)
		return ""
	}
	return v.Path
}
