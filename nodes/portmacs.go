package nodes

import (
	"context"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
)

// portsPerQuery bounds the device_id filters of one Neutron port listing,
// keeping its URL well under the few kilobytes API servers accept.
const portsPerQuery = 50

// addPortsWithoutIPs completes the ports of the nodes whose `addresses`
// name a network without entries: Nova builds `addresses` from fixed IPs,
// so a port without one (a network without a subnet: devtest's brbm, an
// isolated provisioning network) is missing with its MAC, which is the
// node's identity to Ironic and devtest. Neutron has them: one listing of
// the ports of all such nodes (per portsPerQuery) and one of their
// networks' names. Nodes without such networks cost nothing.
func (c *Cloud) addPortsWithoutIPs(ctx context.Context, ns []Node) error {
	var ids []string
	for _, n := range ns {
		if len(n.macless) > 0 {
			ids = append(ids, n.ID)
		}
	}
	if len(ids) == 0 || c.Network == nil {
		return nil
	}
	var found []neutronPort
	for chunk := range slices.Chunk(ids, portsPerQuery) {
		ps, err := c.portsOfDevices(ctx, chunk)
		if err != nil {
			return classify("list the ports of servers whose addresses hide them", err)
		}
		found = append(found, ps...)
	}
	names, err := c.networkNames(ctx, found)
	if err != nil {
		return classify("name the networks of ports without fixed IPs", err)
	}
	byDevice := map[string][]neutronPort{}
	for _, p := range found {
		byDevice[p.DeviceID] = append(byDevice[p.DeviceID], p)
	}
	for i := range ns {
		if len(ns[i].macless) > 0 {
			ns[i] = ns[i].withPorts(byDevice[ns[i].ID], names)
		}
	}
	return nil
}

// withPorts adds the Neutron ports on n's MAC-less networks that Nova's
// `addresses` did not show, in the order node() keeps.
func (n Node) withPorts(ps []neutronPort, names map[string]string) Node {
	have := map[string]bool{}
	for _, p := range n.Ports {
		have[p.MAC] = true
	}
	ports := slices.Clone(n.Ports)
	for _, p := range ps {
		mac, name := strings.ToLower(p.MAC), names[p.NetworkID]
		if !have[mac] && slices.Contains(n.macless, name) {
			have[mac] = true
			ports = append(ports, Port{MAC: mac, Network: name})
		}
	}
	sort.Slice(ports, func(i, j int) bool {
		if ports[i].Network != ports[j].Network {
			return ports[i].Network < ports[j].Network
		}
		return ports[i].MAC < ports[j].MAC
	})
	n.Ports, n.macless = ports, nil
	return n
}

type neutronPort struct {
	MAC       string `json:"mac_address"`
	NetworkID string `json:"network_id"`
	DeviceID  string `json:"device_id"`
}

// portsOfDevices lists the ports bound to any of the servers ids.
func (c *Cloud) portsOfDevices(ctx context.Context, ids []string) ([]neutronPort, error) {
	q := url.Values{"device_id": ids, "fields": {"mac_address", "network_id", "device_id"}}
	var body struct {
		Ports []neutronPort `json:"ports"`
	}
	_, err := c.Network.Get(ctx, c.Network.ServiceURL("ports")+"?"+q.Encode(), &body, &gophercloud.RequestOpts{OkCodes: []int{200}})
	return body.Ports, err
}

// networkNames maps the networks of ps to their names.
func (c *Cloud) networkNames(ctx context.Context, ps []neutronPort) (map[string]string, error) {
	q := url.Values{"fields": {"id", "name"}}
	for _, p := range ps {
		if !slices.Contains(q["id"], p.NetworkID) {
			q.Add("id", p.NetworkID)
		}
	}
	names := map[string]string{}
	if len(q["id"]) == 0 {
		return names, nil
	}
	var body struct {
		Networks []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"networks"`
	}
	if _, err := c.Network.Get(ctx, c.Network.ServiceURL("networks")+"?"+q.Encode(), &body, &gophercloud.RequestOpts{OkCodes: []int{200}}); err != nil {
		return nil, err
	}
	for _, n := range body.Networks {
		names[n.ID] = n.Name
	}
	return names, nil
}
