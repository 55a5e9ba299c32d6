package domain

import (
	"hash/fnv"
	"strings"

	"quintupleo/nodes"
	"quintupleo/virt"
)

// Domain names must be unique (libvirt looks domains up by name) and
// shell-safe (clients paste them unquoted into command lines). The rule,
// deterministic and the same on every replica:
//
//   - a server name made only of [A-Za-z0-9_.+-] that does not start with '-'
//     or '.' and no other server shares is used as it is;
//   - otherwise every other character becomes '_' (an empty result becomes
//     "server"), and when two or more servers would then share a name, each of
//     them gets "-" and the first 8 hex digits of its UUID appended — all of
//     them, so the result does not depend on listing order.
//
// Every domain can also be reached by its UUID, which never changes.

func shellSafeRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		r == '_' || r == '.' || r == '+' || r == '-'
}

func sanitizeName(name string) string {
	var b strings.Builder
	for _, r := range name {
		if shellSafeRune(r) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	for len(s) > 0 && (s[0] == '-' || s[0] == '.') {
		s = "_" + s[1:]
	}
	if s == "" {
		return "server"
	}
	return s
}

// assignNames returns the domain name of each node, index for index.
func assignNames(ns []nodes.Node) []string {
	names := make([]string, len(ns))
	count := make(map[string]int, len(ns))
	for i, n := range ns {
		names[i] = sanitizeName(n.Name)
		count[names[i]]++
	}
	for i, n := range ns {
		if count[names[i]] > 1 {
			suffix := strings.ReplaceAll(n.ID, "-", "")
			names[i] += "-" + suffix[:min(8, len(suffix))]
		}
	}
	return names
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
