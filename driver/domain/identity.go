package domain

import (
	"hash/fnv"

	"quintupleo/nodes"
	"quintupleo/virt"
)

// Domain names follow the one naming rule of every family (virt.UniqueNames:
// shell-safe, unique, suffixed with the UUID's first 8 hex digits when
// shared), with "server" for an empty name. Every domain can also be reached
// by its UUID, which never changes.

func sanitizeName(name string) string { return virt.SanitizeName(name, "server") }

// assignNames returns the domain name of each node, index for index.
func assignNames(ns []nodes.Node) []string {
	names, ids := make([]string, len(ns)), make([]string, len(ns))
	for i, n := range ns {
		names[i], ids[i] = n.Name, n.ID
	}
	return virt.UniqueNames(names, ids, "server")
}

// runningID is the libvirt id of an active domain: the number in Nova's
// instance name (instance-0000000b → 11) when the cloud shows it (admin
// credentials), which is stable and unique per cloud; otherwise a positive
// number derived from the UUID, stable across restarts and replicas.
func runningID(n nodes.Node) int32 {
	if v := n.InstanceNumber(); v > 0 && v <= 1<<31-1 {
		return int32(v)
	}
	h := fnv.New32a()
	h.Write([]byte(n.ID))
	id := int32(h.Sum32() & 0x7fffffff)
	if id == 0 {
		id = 1
	}
	return id
}

// MetaUUID is the server metadata key that keeps the UUID a domain was
// defined with: Nova chooses server UUIDs, and a domain must keep answering
// to the one its XML gave, on every replica.
const MetaUUID = "libvirt:uuid"

// domainUUID is the UUID of n's domain: the one it was defined with, else the
// server's own.
func domainUUID(n nodes.Node) (virt.UUID, bool) {
	if u, ok := virt.ParseUUID(n.Metadata[MetaUUID]); ok {
		return u, true
	}
	return virt.ParseUUID(n.ID)
}
