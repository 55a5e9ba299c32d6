package nodes

import (
	"strconv"
	"strings"
	"time"
)

// Node is one Nova server as the rest of quintupleo sees it: plain values, no
// gophercloud types. A Node is immutable once built; the inventory replaces
// whole values.
type Node struct {
	ID           string // Nova server UUID
	Name         string
	Status       string // Nova status: ACTIVE, SHUTOFF, BUILD, ERROR, …
	VMState      string // OS-EXT-STS:vm_state
	TaskState    string // OS-EXT-STS:task_state, "" when none
	PowerState   int    // OS-EXT-STS:power_state
	InstanceName string // OS-EXT-SRV-ATTR:instance_name (admin only), e.g. instance-0000000b
	Flavor       Flavor
	ImageID      string
	Ports        []Port
	// Volumes are the Cinder volumes attached (os-extended-volumes), in
	// Nova's order: the first of a server booted from a volume is its root.
	Volumes  []string
	Metadata map[string]string
	// Description is the server's description (microversion 2.19+), nil
	// when Nova has none (null). The rescue boot strategy keeps a boot
	// device chosen while the server is rescued at its end (rescuemark.go).
	Description *string
	Fault       string // fault message of an ERROR server
	Created     time.Time
	Updated     time.Time
}

// Flavor is the part of the embedded flavor (microversion ≥ 2.47) we use.
type Flavor struct {
	Name    string
	RAMMiB  int
	VCPUs   int
	DiskGiB int
}

// Port is one network attachment as Nova reports it in `addresses`.
type Port struct {
	MAC     string
	Network string // network name (the key of `addresses`)
	// FixedIPs are the port's fixed addresses (Nova's OS-EXT-IPS:type
	// "fixed"; floating IPs are NAT in front of the guest, not on its
	// interface), in Nova's order.
	FixedIPs []IP
}

// IP is one address of a port.
type IP struct {
	Addr    string
	Version int // 4 or 6
}

// Deleted reports whether Nova says the server is gone (seen in changes-since
// listings).
func (n Node) Deleted() bool {
	return n.Status == "DELETED" || n.Status == "SOFT_DELETED" || n.VMState == "deleted" || n.VMState == "soft-delete"
}

// InstanceNumber is the integer inside Nova's instance name
// ("instance-0000000b" → 11), or 0 when unknown.
func (n Node) InstanceNumber() int64 {
	i := strings.LastIndexByte(n.InstanceName, '-')
	if i < 0 {
		return 0
	}
	v, err := strconv.ParseInt(n.InstanceName[i+1:], 16, 64)
	if err != nil || v < 0 {
		return 0
	}
	return v
}

// MetaDomainUUID is the server metadata key that keeps the UUID a node was
// defined with through the libvirt front (driver/domain writes it, as
// domain.MetaUUID): Nova chooses server UUIDs, and a node must answer to the
// same UUID through every front end and on every replica.
const MetaDomainUUID = "libvirt:uuid"

// UUID is the node's UUID as every front end shows it: the one it was
// defined with (MetaDomainUUID, in canonical form), else the server's own.
func (n Node) UUID() string {
	if u := strings.ToLower(n.Metadata[MetaDomainUUID]); canonicalUUID(u) {
		return u
	}
	return n.ID
}

// canonicalUUID reports whether s is 8-4-4-4-12 lower-case hex digits.
func canonicalUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}
