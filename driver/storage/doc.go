// Package storage is libvirt's storage driver over the cloud: the project's
// Cinder volumes as the volumes of one storage pool (docs/semantics.md,
// "Storage").
//
// The pool (its name configurable, "default" by default) is a view, not a
// thing of its own: it exists, is active, persistent and autostarted
// whenever the cloud's catalog has Cinder, and its capacity is the
// project's gigabytes quota. Each volume gets a name unique in the pool
// (names.go), a path under the pool's target directory that a domain's
// <disk type='file'> names (devtest's vol-path, sushy-tools'
// storageVolLookupByPath), and the Cinder volume ID as its key.
//
// Without Cinder every call answers libvirt's error saying so: there is no
// storage kept anywhere else.
package storage
