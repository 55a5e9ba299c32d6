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
