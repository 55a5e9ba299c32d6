// Package storage will be libvirt's storage driver over the cloud: Cinder as
// storage pools and volumes (virStorageDriver: pools, volumes, their XML,
// and vol-upload/vol-download, which need libvirt streams in rpc).
//
// It holds nothing yet. Until it does, rpc runs without a Storage driver and
// answers every storage procedure with VIR_ERR_NO_SUPPORT naming the public
// API, from VIR_FROM_STORAGE, as libvirtd does without a storage driver.
package storage
