package nodes

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
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
	Metadata     map[string]string
	Fault        string // fault message of an ERROR server
	Created      time.Time
	Updated      time.Time
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

func nodeFromServer(s *servers.Server) Node {
	n := Node{
		ID:           s.ID,
		Name:         s.Name,
		Status:       s.Status,
		VMState:      s.VmState,
		TaskState:    s.TaskState,
		PowerState:   int(s.PowerState),
		InstanceName: s.InstanceName,
		Metadata:     s.Metadata,
		Fault:        s.Fault.Message,
		Created:      s.Created,
		Updated:      s.Updated,
	}
	if n.Metadata == nil {
		n.Metadata = map[string]string{}
	}
	if id, ok := s.Image["id"].(string); ok {
		n.ImageID = id
	}
	n.Flavor = Flavor{
		Name:    stringField(s.Flavor, "original_name"),
		RAMMiB:  intField(s.Flavor, "ram"),
		VCPUs:   intField(s.Flavor, "vcpus"),
		DiskGiB: intField(s.Flavor, "disk"),
	}
	n.Ports = portsFromAddresses(s.Addresses)
	return n
}

// portsFromAddresses reads one Port per distinct MAC from Nova's `addresses`
// (a port with several fixed IPs appears once per IP there). Sorted by
// network then MAC, so the order is stable across refreshes.
func portsFromAddresses(addrs map[string]any) []Port {
	seen := map[string]bool{}
	var ports []Port
	for network, list := range addrs {
		entries, _ := list.([]any)
		for _, e := range entries {
			m, _ := e.(map[string]any)
			mac, _ := m["OS-EXT-IPS-MAC:mac_addr"].(string)
			if mac == "" || seen[mac] {
				continue
			}
			seen[mac] = true
			ports = append(ports, Port{MAC: strings.ToLower(mac), Network: network})
		}
	}
	sort.Slice(ports, func(i, j int) bool {
		if ports[i].Network != ports[j].Network {
			return ports[i].Network < ports[j].Network
		}
		return ports[i].MAC < ports[j].MAC
	})
	return ports
}

func stringField(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func intField(m map[string]any, k string) int {
	switch v := m[k].(type) {
	case float64:
		return int(v)
	case int:
		return v
	}
	return 0
}
