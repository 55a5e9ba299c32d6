package virt

import "github.com/digitalocean/go-libvirt"

// The storage driver's errors, with libvirt 9.0's formats (virerror.c) and
// the details its storage driver (src/storage/storage_driver.c) gives them.

// NoStoragePool is VIR_ERR_NO_STORAGE_POOL: "Storage pool not found: …".
func NoStoragePool(detail string) *Error {
	return &Error{Code: libvirt.ErrNoStoragePool, Domain: FromStorage, Format: "Storage pool not found: %s", Detail: detail}
}

// NoStorageVol is VIR_ERR_NO_STORAGE_VOL: "Storage volume not found: …".
func NoStorageVol(detail string) *Error {
	return &Error{Code: libvirt.ErrNoStorageVol, Domain: FromStorage, Format: "Storage volume not found: %s", Detail: detail}
}

// StorageVolExists is VIR_ERR_STORAGE_VOL_EXIST, as storageVolCreateXML
// raises it: "storage volume 'NAME' exists already".
func StorageVolExists(name string) *Error {
	return &Error{Code: libvirt.ErrStorageVolExist, Domain: FromStorage, Format: "storage volume %s exists already", Detail: "'" + name + "'"}
}

// StoragePoolListFlags are virConnectListAllStoragePoolsFlags
// (VIR_CONNECT_LIST_STORAGE_POOLS_*; unlike the domain flags, INACTIVE is
// the first bit and ACTIVE the second).
type StoragePoolListFlags uint32

// The virConnectListAllStoragePoolsFlags.
const (
	PoolListInactive    StoragePoolListFlags = 1 << 0
	PoolListActive      StoragePoolListFlags = 1 << 1
	PoolListPersistent  StoragePoolListFlags = 1 << 2
	PoolListTransient   StoragePoolListFlags = 1 << 3
	PoolListAutostart   StoragePoolListFlags = 1 << 4
	PoolListNoAutostart StoragePoolListFlags = 1 << 5
	PoolListDir         StoragePoolListFlags = 1 << 6
	PoolListFS          StoragePoolListFlags = 1 << 7
	PoolListNetFS       StoragePoolListFlags = 1 << 8
	PoolListLogical     StoragePoolListFlags = 1 << 9
	PoolListDisk        StoragePoolListFlags = 1 << 10
	PoolListISCSI       StoragePoolListFlags = 1 << 11
	PoolListSCSI        StoragePoolListFlags = 1 << 12
	PoolListMpath       StoragePoolListFlags = 1 << 13
	PoolListRBD         StoragePoolListFlags = 1 << 14
	PoolListSheepdog    StoragePoolListFlags = 1 << 15
	PoolListGluster     StoragePoolListFlags = 1 << 16
	PoolListZFS         StoragePoolListFlags = 1 << 17
	PoolListVstorage    StoragePoolListFlags = 1 << 18
	PoolListISCSIDirect StoragePoolListFlags = 1 << 19

	// PoolListTypes is every pool type bit (libvirt's
	// VIR_CONNECT_LIST_STORAGE_POOLS_FILTERS_POOL_TYPE): a filter with any
	// of them lists only pools of the types it names.
	PoolListTypes = PoolListDir | PoolListFS | PoolListNetFS | PoolListLogical | PoolListDisk | PoolListISCSI |
		PoolListSCSI | PoolListMpath | PoolListRBD | PoolListSheepdog | PoolListGluster | PoolListZFS |
		PoolListVstorage | PoolListISCSIDirect
)

// virStoragePoolState (VIR_STORAGE_POOL_*), as virStoragePoolGetInfo
// reports it.
const (
	PoolInactive     int32 = 0
	PoolBuilding     int32 = 1
	PoolRunning      int32 = 2
	PoolDegraded     int32 = 3
	PoolInaccessible int32 = 4
)

// virStorageVolCreateFlags (VIR_STORAGE_VOL_CREATE_*), for
// virStorageVolCreateXML.
const (
	VolCreatePreallocMetadata uint32 = 1 << 0
	VolCreateReflink          uint32 = 1 << 1
	VolCreateValidate         uint32 = 1 << 2
)
