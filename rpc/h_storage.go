package rpc

import (
	"context"

	"github.com/digitalocean/go-libvirt"

	"quintupleo/driver/storage"
	"quintupleo/virt"
)

// Storage handlers: pools are identified by the UUID of the
// remote_nonnull_storage_pool, volumes by the key of the
// remote_nonnull_storage_vol, as libvirt's remote driver does.

func wirePool(p storage.Pool) libvirt.StoragePool {
	return libvirt.StoragePool{Name: p.Name, UUID: libvirt.UUID(p.UUID)}
}

func (c *conn) wireVol(v storage.Volume) libvirt.StorageVol {
	return libvirt.StorageVol{Pool: c.srv.drivers.Storage.PoolName(), Name: v.Name, Key: v.Key}
}

func (c *conn) storage() Storage { return c.srv.drivers.Storage }

func poolUUID(p libvirt.StoragePool) virt.UUID { return virt.UUID(p.UUID) }

func connectListAllStoragePools(ctx context.Context, c *conn, a *libvirt.ConnectListAllStoragePoolsArgs) (*libvirt.ConnectListAllStoragePoolsRet, error) {
	pools, err := c.storage().Pools(ctx, uint32(a.Flags))
	if err != nil {
		return nil, err
	}
	ret := &libvirt.ConnectListAllStoragePoolsRet{Ret: uint32(len(pools))}
	if a.NeedResults != 0 {
		for _, p := range pools {
			ret.Pools = append(ret.Pools, wirePool(p))
		}
	}
	return ret, nil
}

// The pre-0.10 listing calls (libvirt-python's listStoragePools,
// Ansible's virt_pool): the pool is active, so it is never "defined".

const listActivePools = uint32(libvirt.ConnectListStoragePoolsActive)

func connectNumOfStoragePools(ctx context.Context, c *conn, _ *none) (*libvirt.ConnectNumOfStoragePoolsRet, error) {
	pools, err := c.storage().Pools(ctx, listActivePools)
	if err != nil {
		return nil, err
	}
	return &libvirt.ConnectNumOfStoragePoolsRet{Num: int32(len(pools))}, nil
}

func connectListStoragePools(ctx context.Context, c *conn, a *libvirt.ConnectListStoragePoolsArgs) (*libvirt.ConnectListStoragePoolsRet, error) {
	pools, err := c.storage().Pools(ctx, listActivePools)
	if err != nil {
		return nil, err
	}
	ret := &libvirt.ConnectListStoragePoolsRet{Names: []string{}}
	for _, p := range pools[:min(len(pools), int(max(0, a.Maxnames)))] {
		ret.Names = append(ret.Names, p.Name)
	}
	return ret, nil
}

func connectNumOfDefinedStoragePools(ctx context.Context, c *conn, _ *none) (*libvirt.ConnectNumOfDefinedStoragePoolsRet, error) {
	if _, err := c.storage().Pools(ctx, 0); err != nil {
		return nil, err
	}
	return &libvirt.ConnectNumOfDefinedStoragePoolsRet{Num: 0}, nil
}

func connectListDefinedStoragePools(ctx context.Context, c *conn, _ *libvirt.ConnectListDefinedStoragePoolsArgs) (*libvirt.ConnectListDefinedStoragePoolsRet, error) {
	if _, err := c.storage().Pools(ctx, 0); err != nil {
		return nil, err
	}
	return &libvirt.ConnectListDefinedStoragePoolsRet{Names: []string{}}, nil
}

func storagePoolLookupByName(ctx context.Context, c *conn, a *libvirt.StoragePoolLookupByNameArgs) (*libvirt.StoragePoolLookupByNameRet, error) {
	p, err := c.storage().PoolByName(ctx, a.Name)
	if err != nil {
		return nil, err
	}
	return &libvirt.StoragePoolLookupByNameRet{Pool: wirePool(p)}, nil
}

func storagePoolLookupByUUID(ctx context.Context, c *conn, a *libvirt.StoragePoolLookupByUUIDArgs) (*libvirt.StoragePoolLookupByUUIDRet, error) {
	p, err := c.storage().PoolByUUID(ctx, virt.UUID(a.UUID))
	if err != nil {
		return nil, err
	}
	return &libvirt.StoragePoolLookupByUUIDRet{Pool: wirePool(p)}, nil
}

func storagePoolLookupByVolume(ctx context.Context, c *conn, a *libvirt.StoragePoolLookupByVolumeArgs) (*libvirt.StoragePoolLookupByVolumeRet, error) {
	p, err := c.storage().PoolByName(ctx, a.Vol.Pool)
	if err != nil {
		return nil, err
	}
	return &libvirt.StoragePoolLookupByVolumeRet{Pool: wirePool(p)}, nil
}

func storagePoolLookupByTargetPath(ctx context.Context, c *conn, a *libvirt.StoragePoolLookupByTargetPathArgs) (*libvirt.StoragePoolLookupByTargetPathRet, error) {
	p, err := c.storage().PoolByTargetPath(ctx, a.Path)
	if err != nil {
		return nil, err
	}
	return &libvirt.StoragePoolLookupByTargetPathRet{Pool: wirePool(p)}, nil
}

func storagePoolGetInfo(ctx context.Context, c *conn, a *libvirt.StoragePoolGetInfoArgs) (*libvirt.StoragePoolGetInfoRet, error) {
	info, err := c.storage().PoolInfo(ctx, poolUUID(a.Pool))
	if err != nil {
		return nil, err
	}
	return &libvirt.StoragePoolGetInfoRet{State: uint8(info.State), Capacity: info.Capacity, Allocation: info.Allocation, Available: info.Available}, nil
}

func storagePoolGetXMLDesc(ctx context.Context, c *conn, a *libvirt.StoragePoolGetXMLDescArgs) (*libvirt.StoragePoolGetXMLDescRet, error) {
	x, err := c.storage().PoolXML(ctx, poolUUID(a.Pool), uint32(a.Flags))
	if err != nil {
		return nil, err
	}
	return &libvirt.StoragePoolGetXMLDescRet{XML: x}, nil
}

func storagePoolDefineXML(ctx context.Context, c *conn, a *libvirt.StoragePoolDefineXMLArgs) (*libvirt.StoragePoolDefineXMLRet, error) {
	p, err := c.storage().DefinePool(ctx, a.XML)
	if err != nil {
		return nil, err
	}
	return &libvirt.StoragePoolDefineXMLRet{Pool: wirePool(p)}, nil
}

func storagePoolCreateXML(ctx context.Context, c *conn, a *libvirt.StoragePoolCreateXMLArgs) (*libvirt.StoragePoolCreateXMLRet, error) {
	p, err := c.storage().DefinePool(ctx, a.XML)
	if err != nil {
		return nil, err
	}
	return &libvirt.StoragePoolCreateXMLRet{Pool: wirePool(p)}, nil
}

func storagePoolCreate(ctx context.Context, c *conn, a *libvirt.StoragePoolCreateArgs) (*none, error) {
	return nil, c.storage().StartPool(ctx, poolUUID(a.Pool))
}

func storagePoolBuild(ctx context.Context, c *conn, a *libvirt.StoragePoolBuildArgs) (*none, error) {
	return nil, c.storage().BuildPool(ctx, poolUUID(a.Pool))
}

func storagePoolRefresh(ctx context.Context, c *conn, a *libvirt.StoragePoolRefreshArgs) (*none, error) {
	return nil, c.storage().RefreshPool(ctx, poolUUID(a.Pool))
}

func storagePoolGetAutostart(ctx context.Context, c *conn, a *libvirt.StoragePoolGetAutostartArgs) (*libvirt.StoragePoolGetAutostartRet, error) {
	if _, err := c.storage().PoolByUUID(ctx, poolUUID(a.Pool)); err != nil {
		return nil, err
	}
	return &libvirt.StoragePoolGetAutostartRet{Autostart: 1}, nil
}

func storagePoolSetAutostart(ctx context.Context, c *conn, a *libvirt.StoragePoolSetAutostartArgs) (*none, error) {
	return nil, c.storage().SetPoolAutostart(ctx, poolUUID(a.Pool), a.Autostart != 0)
}

func storagePoolIsActive(ctx context.Context, c *conn, a *libvirt.StoragePoolIsActiveArgs) (*libvirt.StoragePoolIsActiveRet, error) {
	if _, err := c.storage().PoolByUUID(ctx, poolUUID(a.Pool)); err != nil {
		return nil, err
	}
	return &libvirt.StoragePoolIsActiveRet{Active: 1}, nil
}

func storagePoolIsPersistent(ctx context.Context, c *conn, a *libvirt.StoragePoolIsPersistentArgs) (*libvirt.StoragePoolIsPersistentRet, error) {
	if _, err := c.storage().PoolByUUID(ctx, poolUUID(a.Pool)); err != nil {
		return nil, err
	}
	return &libvirt.StoragePoolIsPersistentRet{Persistent: 1}, nil
}

func storagePoolNumOfVolumes(ctx context.Context, c *conn, a *libvirt.StoragePoolNumOfVolumesArgs) (*libvirt.StoragePoolNumOfVolumesRet, error) {
	vols, err := c.storage().Volumes(ctx, poolUUID(a.Pool))
	if err != nil {
		return nil, err
	}
	return &libvirt.StoragePoolNumOfVolumesRet{Num: int32(len(vols))}, nil
}

func storagePoolListVolumes(ctx context.Context, c *conn, a *libvirt.StoragePoolListVolumesArgs) (*libvirt.StoragePoolListVolumesRet, error) {
	vols, err := c.storage().Volumes(ctx, poolUUID(a.Pool))
	if err != nil {
		return nil, err
	}
	ret := &libvirt.StoragePoolListVolumesRet{Names: []string{}}
	for _, v := range vols[:min(len(vols), int(max(0, a.Maxnames)))] {
		ret.Names = append(ret.Names, v.Name)
	}
	return ret, nil
}

func storagePoolListAllVolumes(ctx context.Context, c *conn, a *libvirt.StoragePoolListAllVolumesArgs) (*libvirt.StoragePoolListAllVolumesRet, error) {
	vols, err := c.storage().Volumes(ctx, poolUUID(a.Pool))
	if err != nil {
		return nil, err
	}
	ret := &libvirt.StoragePoolListAllVolumesRet{Ret: uint32(len(vols))}
	if a.NeedResults != 0 {
		for _, v := range vols {
			ret.Vols = append(ret.Vols, c.wireVol(v))
		}
	}
	return ret, nil
}

func storageVolCreateXML(ctx context.Context, c *conn, a *libvirt.StorageVolCreateXMLArgs) (*libvirt.StorageVolCreateXMLRet, error) {
	v, err := c.storage().CreateVolume(ctx, poolUUID(a.Pool), a.XML, uint32(a.Flags))
	if err != nil {
		return nil, err
	}
	return &libvirt.StorageVolCreateXMLRet{Vol: c.wireVol(v)}, nil
}

func storageVolDelete(ctx context.Context, c *conn, a *libvirt.StorageVolDeleteArgs) (*none, error) {
	return nil, c.storage().DeleteVolume(ctx, a.Vol.Key, uint32(a.Flags))
}

func storageVolLookupByName(ctx context.Context, c *conn, a *libvirt.StorageVolLookupByNameArgs) (*libvirt.StorageVolLookupByNameRet, error) {
	v, err := c.storage().VolumeByName(ctx, poolUUID(a.Pool), a.Name)
	if err != nil {
		return nil, err
	}
	return &libvirt.StorageVolLookupByNameRet{Vol: c.wireVol(v)}, nil
}

func storageVolLookupByKey(ctx context.Context, c *conn, a *libvirt.StorageVolLookupByKeyArgs) (*libvirt.StorageVolLookupByKeyRet, error) {
	v, err := c.storage().VolumeByKey(ctx, a.Key)
	if err != nil {
		return nil, err
	}
	return &libvirt.StorageVolLookupByKeyRet{Vol: c.wireVol(v)}, nil
}

func storageVolLookupByPath(ctx context.Context, c *conn, a *libvirt.StorageVolLookupByPathArgs) (*libvirt.StorageVolLookupByPathRet, error) {
	v, err := c.storage().VolumeByPath(ctx, a.Path)
	if err != nil {
		return nil, err
	}
	return &libvirt.StorageVolLookupByPathRet{Vol: c.wireVol(v)}, nil
}

// volTypeFile is VIR_STORAGE_VOL_FILE: a dir pool's volumes are files.
const volTypeFile = 0

func storageVolGetInfo(ctx context.Context, c *conn, a *libvirt.StorageVolGetInfoArgs) (*libvirt.StorageVolGetInfoRet, error) {
	v, err := c.storage().VolumeByKey(ctx, a.Vol.Key)
	if err != nil {
		return nil, err
	}
	return &libvirt.StorageVolGetInfoRet{Type: volTypeFile, Capacity: v.CapacityBytes, Allocation: v.AllocationBytes}, nil
}

func storageVolGetInfoFlags(ctx context.Context, c *conn, a *libvirt.StorageVolGetInfoFlagsArgs) (*libvirt.StorageVolGetInfoFlagsRet, error) {
	r, err := storageVolGetInfo(ctx, c, &libvirt.StorageVolGetInfoArgs{Vol: a.Vol})
	if err != nil {
		return nil, err
	}
	return &libvirt.StorageVolGetInfoFlagsRet{Type: r.Type, Capacity: r.Capacity, Allocation: r.Allocation}, nil
}

func storageVolGetXMLDesc(ctx context.Context, c *conn, a *libvirt.StorageVolGetXMLDescArgs) (*libvirt.StorageVolGetXMLDescRet, error) {
	x, err := c.storage().VolumeXML(ctx, a.Vol.Key)
	if err != nil {
		return nil, err
	}
	return &libvirt.StorageVolGetXMLDescRet{XML: x}, nil
}

func storageVolGetPath(ctx context.Context, c *conn, a *libvirt.StorageVolGetPathArgs) (*libvirt.StorageVolGetPathRet, error) {
	v, err := c.storage().VolumeByKey(ctx, a.Vol.Key)
	if err != nil {
		return nil, err
	}
	return &libvirt.StorageVolGetPathRet{Name: v.Path}, nil
}
