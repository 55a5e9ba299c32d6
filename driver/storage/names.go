package storage

import (
	"path"

	"quintupleo/nodes/cinder"
	"quintupleo/virt"
)

// Volume is one volume of the pool.
type Volume struct {
	Name      string // unique in the pool
	CloudName string // the Cinder name it is derived from
	Key       string // the Cinder volume ID
	Path      string // PoolPath/Name
	// CapacityBytes is the Cinder size; AllocationBytes the same, because
	// Cinder counts the whole size against the quota and tells nothing of
	// what the backend has written.
	CapacityBytes, AllocationBytes uint64
	Status                         string
	Servers                        []string // servers it is attached to
}

const gib = 1 << 30

// named gives each Cinder volume its name in the pool by the rule every
// family shares (virt.UniqueNames: shell-safe, unique, the same on every
// replica), since clients paste volume names into command lines as they do
// domain names (devtest's cleanup-env does).
func named(vols []cinder.Volume, poolPath string) []Volume {
	names, ids := make([]string, len(vols)), make([]string, len(vols))
	for i, v := range vols {
		names[i], ids[i] = v.Name, v.ID
	}
	unique := virt.UniqueNames(names, ids, "volume")
	out := make([]Volume, len(vols))
	for i, v := range vols {
		size := uint64(v.SizeGiB) * gib
		out[i] = Volume{Name: unique[i], CloudName: v.Name, Key: v.ID, Path: path.Join(poolPath, unique[i]),
			CapacityBytes: size, AllocationBytes: size, Status: v.Status, Servers: v.Servers}
	}
	return out
}
