package storage

import (
	"path"
	"strings"

	"quintupleo/nodes/cinder"
)

// Volume is one volume of the pool.
type Volume struct {
	Name string // unique in the pool
	Key  string // the Cinder volume ID
	Path string // PoolPath/Name
	// CapacityBytes is the Cinder size; AllocationBytes the same, because
	// Cinder counts the whole size against the quota and tells nothing of
	// what the backend has written.
	CapacityBytes, AllocationBytes uint64
	Status                         string
	Servers                        []string // servers it is attached to
}

const gib = 1 << 30

// named gives each Cinder volume its name in the pool. A Cinder name is
// used as it is when it is not empty, holds no '/' (it becomes part of a
// path) and no other volume has it; otherwise '/' becomes '_', an empty
// name is the volume ID, and every volume sharing a name gets '-' and the
// first 8 characters of its ID appended (all of them, so that the outcome
// does not depend on listing order; the domain names' rule).
func named(vols []cinder.Volume, poolPath string) []Volume {
	base := make([]string, len(vols))
	count := map[string]int{}
	for i, v := range vols {
		base[i] = strings.ReplaceAll(v.Name, "/", "_")
		if base[i] == "" {
			base[i] = v.ID
		}
		count[base[i]]++
	}
	out := make([]Volume, len(vols))
	for i, v := range vols {
		name := base[i]
		if count[name] > 1 {
			name += "-" + v.ID[:min(8, len(v.ID))]
		}
		size := uint64(v.SizeGiB) * gib
		out[i] = Volume{Name: name, Key: v.ID, Path: path.Join(poolPath, name), CapacityBytes: size,
			AllocationBytes: size, Status: v.Status, Servers: v.Servers}
	}
	return out
}
