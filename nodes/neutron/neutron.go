// Package neutron is quintupleo's client of the OpenStack network service:
// networks and their subnets as plain values, listed, shown, created,
// updated and deleted through gophercloud. It knows nothing of libvirt
// (driver/network gives these values their libvirt meaning) and nothing of
// the rest of nodes, which composes it.
//
// There is no cache here: Neutron has no changes-since, so a cache can only
// be kept fresh by listing everything again, and driver/network decides
// when that is worth it (see its doc).
package neutron

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"sort"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"

	"quintupleo/nodes/cloudcall"
)

// Network is one Neutron network with its subnets.
type Network struct {
	ID          string
	Name        string
	ProjectID   string
	Description string
	AdminUp     bool // admin_state_up
	Shared      bool
	External    bool // router:external
	MTU         int
	Subnets     []Subnet // in the order of the network's subnet list
}

// Subnet is one Neutron subnet.
type Subnet struct {
	ID        string
	Name      string
	NetworkID string
	IPVersion int
	CIDR      string
	Gateway   string // "" when the subnet has none
	DHCP      bool   // enable_dhcp
	Pools     []Pool // allocation pools
}

// Pool is one allocation pool of a subnet.
type Pool struct{ Start, End string }

// Client talks to one Neutron endpoint.
type Client struct {
	sc  *gophercloud.ServiceClient
	obs cloudcall.Observer
}

// The actions a Client reports to its Observer: one per call that changes
// the cloud.
const (
	ActionCreateNetwork = "create_network"
	ActionCreateSubnet  = "create_subnet"
	ActionUpdateNetwork = "update_network"
	ActionDeleteNetwork = "delete_network"
)

// Actions lists every action a Client reports.
func Actions() []string {
	return []string{ActionCreateNetwork, ActionCreateSubnet, ActionUpdateNetwork, ActionDeleteNetwork}
}

// New returns a client over an authenticated network service client that
// tells obs (nil: nobody) of each change it makes.
func New(sc *gophercloud.ServiceClient, obs cloudcall.Observer) *Client {
	return &Client{sc: sc, obs: obs}
}

// rawNetwork is the part of Neutron's network body gophercloud's Network
// does not decode (router:external is an extension).
type rawNetwork struct {
	networks.Network
	External bool `json:"router:external"`
	MTU      int  `json:"mtu"`
}

// List lists every network the credentials see, with its subnets: two
// paginated calls, networks then subnets, joined here.
func (c *Client) List(ctx context.Context) ([]Network, error) {
	pages, err := networks.List(c.sc, networks.ListOpts{}).AllPages(ctx)
	if err != nil {
		return nil, classify("list networks", err)
	}
	var raw []rawNetwork
	if err := networks.ExtractNetworksInto(pages, &raw); err != nil {
		return nil, classify("list networks", err)
	}
	spages, err := subnets.List(c.sc, subnets.ListOpts{}).AllPages(ctx)
	if err != nil {
		return nil, classify("list subnets", err)
	}
	all, err := subnets.ExtractSubnets(spages)
	if err != nil {
		return nil, classify("list subnets", err)
	}
	byID := make(map[string]subnets.Subnet, len(all))
	for _, s := range all {
		byID[s.ID] = s
	}
	out := make([]Network, 0, len(raw))
	for _, r := range raw {
		out = append(out, networkOf(r, byID))
	}
	// Neutron lists in no promised order; callers want the same answer
	// every time (names are assigned over the whole list).
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func networkOf(r rawNetwork, byID map[string]subnets.Subnet) Network {
	n := Network{ID: r.ID, Name: r.Name, ProjectID: r.ProjectID, Description: r.Description,
		AdminUp: r.AdminStateUp, Shared: r.Shared, External: r.External, MTU: r.MTU}
	for _, id := range r.Subnets {
		if s, ok := byID[id]; ok {
			n.Subnets = append(n.Subnets, subnetOf(s))
		}
	}
	return n
}

func subnetOf(s subnets.Subnet) Subnet {
	out := Subnet{ID: s.ID, Name: s.Name, NetworkID: s.NetworkID, IPVersion: s.IPVersion,
		CIDR: s.CIDR, Gateway: s.GatewayIP, DHCP: s.EnableDHCP}
	for _, p := range s.AllocationPools {
		out.Pools = append(out.Pools, Pool{Start: p.Start, End: p.End})
	}
	return out
}

// NetworkSpec is a network to create.
type NetworkSpec struct {
	Name        string
	Description string
	AdminUp     bool
}

// CreateNetwork creates a network (without subnets) and returns its ID.
func (c *Client) CreateNetwork(ctx context.Context, spec NetworkSpec) (_ string, err error) {
	done := cloudcall.Started(c.obs, ActionCreateNetwork)
	defer func() { done(err) }()
	up := spec.AdminUp
	n, err := networks.Create(ctx, c.sc, networks.CreateOpts{Name: spec.Name, Description: spec.Description, AdminStateUp: &up}).Extract()
	if err != nil {
		return "", classify("create network "+spec.Name, err)
	}
	return n.ID, nil
}

// The subnet quintupleo gives a network defined without an address (a
// libvirt network without <ip>, L2 only, as devtest's brbm): Nova boots a
// server only on a port with a fixed IP ("Port … requires a FixedIP in
// order to be used.") unless the cloud shows Neutron's ip_allocation
// (the segments plugin), so such a network needs a subnet to hold servers.
// Its addresses mean nothing to the guests (DHCP off, no gateway; the
// undercloud runs its own DHCP): 198.18.0.0/15, the benchmarking range no
// network routes, so they cannot clash with a real one. It is not shown in
// the network's XML, and domain addresses from it are not reported.
const (
	L2SubnetName = "quintupleo-l2"
	L2SubnetCIDR = "198.18.0.0/15"
)

// InL2Subnet reports whether addr is an address of the L2 placeholder
// subnet's range.
func InL2Subnet(addr string) bool {
	a, err := netip.ParseAddr(addr)
	return err == nil && netip.MustParsePrefix(L2SubnetCIDR).Contains(a)
}

// SubnetSpec is an IPv4 subnet to create on a network.
type SubnetSpec struct {
	NetworkID string
	Name      string
	CIDR      string
	Gateway   string // "" = no gateway (Neutron's gateway_ip null)
	DHCP      bool
	Pools     []Pool
}

// CreateSubnet creates a subnet and returns its ID.
func (c *Client) CreateSubnet(ctx context.Context, spec SubnetSpec) (_ string, err error) {
	done := cloudcall.Started(c.obs, ActionCreateSubnet)
	defer func() { done(err) }()
	dhcp := spec.DHCP
	opts := subnets.CreateOpts{NetworkID: spec.NetworkID, Name: spec.Name, CIDR: spec.CIDR,
		IPVersion: gophercloud.IPv4, EnableDHCP: &dhcp}
	if spec.Gateway != "" {
		opts.GatewayIP = &spec.Gateway
	} else {
		noGateway := ""
		opts.GatewayIP = &noGateway // gophercloud sends "" as null
	}
	for _, p := range spec.Pools {
		opts.AllocationPools = append(opts.AllocationPools, subnets.AllocationPool{Start: p.Start, End: p.End})
	}
	s, err := subnets.Create(ctx, c.sc, opts).Extract()
	if err != nil {
		return "", classify("create subnet of "+spec.NetworkID, err)
	}
	return s.ID, nil
}

// SetAdminUp sets a network's admin_state_up.
func (c *Client) SetAdminUp(ctx context.Context, id string, up bool) (err error) {
	done := cloudcall.Started(c.obs, ActionUpdateNetwork)
	defer func() { done(err) }()
	_, err = networks.Update(ctx, c.sc, id, networks.UpdateOpts{AdminStateUp: &up}).Extract()
	return classify("update network "+id, err)
}

// DeleteNetwork deletes a network; Neutron deletes its subnets with it
// when no port uses them.
func (c *Client) DeleteNetwork(ctx context.Context, id string) (err error) {
	done := cloudcall.Started(c.obs, ActionDeleteNetwork)
	defer func() { done(err) }()
	return classify("delete network "+id, networks.Delete(ctx, c.sc, id).ExtractErr())
}

// Kind is what went wrong, for callers that map it to their own errors.
type Kind int

const (
	Unavailable Kind = iota // 5xx, 429, no answer, transport failure
	NotFound                // 404
	Conflict                // 409 (in use, already exists)
	Refused                 // another 4xx: bad request, policy, quota
)

// Error is a failed Neutron call: what was tried, the class, and Neutron's
// own message (its NeutronError.message) when it sent one.
type Error struct {
	Op      string
	Kind    Kind
	Status  int    // HTTP status, 0 when there was no answer
	Message string // Neutron's message, safe to show
	Err     error
}

func (e *Error) Error() string {
	msg := "neutron: " + e.Op
	if e.Status != 0 {
		msg += fmt.Sprintf(": HTTP %d", e.Status)
	}
	if e.Message != "" {
		return msg + ": " + e.Message
	}
	return msg + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// classify wraps a gophercloud error with its class; a cancelled or
// expired context is returned wrapped as it is, for the caller's own check.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("neutron: %s: %w", op, err)
	}
	e := &Error{Op: op, Kind: Unavailable, Err: err}
	var resp gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &resp) {
		e.Status, e.Message = resp.Actual, neutronMessage(resp.Body)
		switch {
		case resp.Actual == http.StatusNotFound:
			e.Kind = NotFound
		case resp.Actual == http.StatusConflict:
			e.Kind = Conflict
		case resp.Actual >= 400 && resp.Actual < 500 && resp.Actual != http.StatusTooManyRequests:
			e.Kind = Refused
		}
	}
	return e
}

// Port is the part of a Neutron port a DHCP lease view needs.
type Port struct {
	ID, MAC, Name string
	FixedIPs      []FixedIP
}

// FixedIP is one address a port holds on a subnet.
type FixedIP struct{ SubnetID, IP string }

// Ports lists the ports on a network.
func (c *Client) Ports(ctx context.Context, networkID string) ([]Port, error) {
	return c.listPorts(ctx, ports.ListOpts{NetworkID: networkID}, "list ports of "+networkID)
}

// DevicePorts lists the ports bound to a device (a server's, by its ID).
func (c *Client) DevicePorts(ctx context.Context, deviceID string) ([]Port, error) {
	return c.listPorts(ctx, ports.ListOpts{DeviceID: deviceID}, "list ports of device "+deviceID)
}

func (c *Client) listPorts(ctx context.Context, opts ports.ListOpts, op string) ([]Port, error) {
	pages, err := ports.List(c.sc, opts).AllPages(ctx)
	if err != nil {
		return nil, classify(op, err)
	}
	all, err := ports.ExtractPorts(pages)
	if err != nil {
		return nil, classify(op, err)
	}
	out := make([]Port, 0, len(all))
	for _, p := range all {
		q := Port{ID: p.ID, MAC: p.MACAddress, Name: p.Name}
		for _, ip := range p.FixedIPs {
			q.FixedIPs = append(q.FixedIPs, FixedIP{SubnetID: ip.SubnetID, IP: ip.IPAddress})
		}
		out = append(out, q)
	}
	return out, nil
}
