package rpc

import (
	"context"
	"fmt"
	"sync"

	"github.com/digitalocean/go-libvirt"

	"quintupleo/driver/network"
	"quintupleo/virt"
)

// Network handlers (virNetworkDriver). Every call after a lookup carries
// the remote_nonnull_network from the lookup reply; like domains, the UUID
// identifies it and the driver is asked for fresh facts.

func wireNetwork(n network.Network) libvirt.Network {
	return libvirt.Network{Name: n.Name, UUID: libvirt.UUID(n.UUID)}
}

func (c *conn) network(ctx context.Context, n libvirt.Network) (network.Network, error) {
	return c.srv.drivers.Networks.LookupByUUID(ctx, virt.UUID(n.UUID))
}

// validNetListFlags are the virConnectListAllNetworksFlags libvirt 9.0 knows.
const validNetListFlags = virt.NetListInactive | virt.NetListActive | virt.NetListPersistent |
	virt.NetListTransient | virt.NetListAutostart | virt.NetListNoAutostart

func connectListAllNetworks(ctx context.Context, c *conn, a *libvirt.ConnectListAllNetworksArgs) (*libvirt.ConnectListAllNetworksRet, error) {
	flags := virt.NetworkListFlags(a.Flags)
	if flags&^validNetListFlags != 0 {
		return nil, virt.InvalidArg(virt.FromNetwork, fmt.Sprintf("unsupported flags (0x%x) in function virConnectListAllNetworks", uint32(flags&^validNetListFlags)))
	}
	nets, err := c.srv.drivers.Networks.List(ctx, flags)
	if err != nil {
		return nil, err
	}
	ret := &libvirt.ConnectListAllNetworksRet{Ret: uint32(len(nets))}
	if a.NeedResults != 0 {
		ret.Nets = make([]libvirt.Network, 0, len(nets))
		for _, n := range nets {
			ret.Nets = append(ret.Nets, wireNetwork(n))
		}
	}
	return ret, nil
}

// The pre-LIST_ALL calls (libvirt-python's listNetworks and
// listDefinedNetworks, which Ansible's virt_net uses): active and inactive
// names, at most maxnames of them.

func networkNames(ctx context.Context, c *conn, flags virt.NetworkListFlags, max int32) ([]string, error) {
	nets, err := c.srv.drivers.Networks.List(ctx, flags)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(nets))
	for _, n := range nets {
		if int32(len(names)) == max {
			break
		}
		names = append(names, n.Name)
	}
	return names, nil
}

func connectNumOfNetworks(ctx context.Context, c *conn, _ *none) (*libvirt.ConnectNumOfNetworksRet, error) {
	names, err := networkNames(ctx, c, virt.NetListActive, -1)
	return &libvirt.ConnectNumOfNetworksRet{Num: int32(len(names))}, err
}

func connectListNetworks(ctx context.Context, c *conn, a *libvirt.ConnectListNetworksArgs) (*libvirt.ConnectListNetworksRet, error) {
	names, err := networkNames(ctx, c, virt.NetListActive, a.Maxnames)
	return &libvirt.ConnectListNetworksRet{Names: names}, err
}

func connectNumOfDefinedNetworks(ctx context.Context, c *conn, _ *none) (*libvirt.ConnectNumOfDefinedNetworksRet, error) {
	names, err := networkNames(ctx, c, virt.NetListInactive, -1)
	return &libvirt.ConnectNumOfDefinedNetworksRet{Num: int32(len(names))}, err
}

func connectListDefinedNetworks(ctx context.Context, c *conn, a *libvirt.ConnectListDefinedNetworksArgs) (*libvirt.ConnectListDefinedNetworksRet, error) {
	names, err := networkNames(ctx, c, virt.NetListInactive, a.Maxnames)
	return &libvirt.ConnectListDefinedNetworksRet{Names: names}, err
}

func networkLookupByName(ctx context.Context, c *conn, a *libvirt.NetworkLookupByNameArgs) (*libvirt.NetworkLookupByNameRet, error) {
	n, err := c.srv.drivers.Networks.LookupByName(ctx, a.Name)
	if err != nil {
		return nil, err
	}
	return &libvirt.NetworkLookupByNameRet{Net: wireNetwork(n)}, nil
}

func networkLookupByUUID(ctx context.Context, c *conn, a *libvirt.NetworkLookupByUUIDArgs) (*libvirt.NetworkLookupByUUIDRet, error) {
	n, err := c.srv.drivers.Networks.LookupByUUID(ctx, virt.UUID(a.UUID))
	if err != nil {
		return nil, err
	}
	return &libvirt.NetworkLookupByUUIDRet{Net: wireNetwork(n)}, nil
}

func networkIsActive(ctx context.Context, c *conn, a *libvirt.NetworkIsActiveArgs) (*libvirt.NetworkIsActiveRet, error) {
	n, err := c.network(ctx, a.Net)
	if err != nil {
		return nil, err
	}
	return &libvirt.NetworkIsActiveRet{Active: b2i(n.Active)}, nil
}

func networkIsPersistent(ctx context.Context, c *conn, a *libvirt.NetworkIsPersistentArgs) (*libvirt.NetworkIsPersistentRet, error) {
	n, err := c.network(ctx, a.Net)
	if err != nil {
		return nil, err
	}
	return &libvirt.NetworkIsPersistentRet{Persistent: b2i(n.Persistent)}, nil
}

func networkGetAutostart(ctx context.Context, c *conn, a *libvirt.NetworkGetAutostartArgs) (*libvirt.NetworkGetAutostartRet, error) {
	n, err := c.network(ctx, a.Net)
	if err != nil {
		return nil, err
	}
	return &libvirt.NetworkGetAutostartRet{Autostart: b2i(n.Autostart)}, nil
}

func networkGetXMLDesc(ctx context.Context, c *conn, a *libvirt.NetworkGetXMLDescArgs) (*libvirt.NetworkGetXMLDescRet, error) {
	// VIR_NETWORK_XML_INACTIVE (1) is the only flag; both views are the same.
	if a.Flags&^1 != 0 {
		return nil, virt.InvalidArg(virt.FromNetwork, fmt.Sprintf("unsupported flags (0x%x) in function networkGetXMLDesc", a.Flags&^1))
	}
	xml, err := c.srv.drivers.Networks.XMLDesc(ctx, virt.UUID(a.Net.UUID), a.Flags)
	if err != nil {
		return nil, err
	}
	return &libvirt.NetworkGetXMLDescRet{XML: xml}, nil
}

func networkGetBridgeName(ctx context.Context, c *conn, a *libvirt.NetworkGetBridgeNameArgs) (*libvirt.NetworkGetBridgeNameRet, error) {
	name, err := c.srv.drivers.Networks.BridgeName(ctx, virt.UUID(a.Net.UUID))
	if err != nil {
		return nil, err
	}
	return &libvirt.NetworkGetBridgeNameRet{Name: name}, nil
}

func networkGetDhcpLeases(ctx context.Context, c *conn, a *libvirt.NetworkGetDhcpLeasesArgs) (*libvirt.NetworkGetDhcpLeasesRet, error) {
	if a.Flags != 0 {
		return nil, virt.InvalidArg(virt.FromNetwork, fmt.Sprintf("unsupported flags (0x%x) in function networkGetDHCPLeases", a.Flags))
	}
	mac := ""
	if len(a.Mac) > 0 {
		mac = a.Mac[0]
	}
	leases, err := c.srv.drivers.Networks.DHCPLeases(ctx, virt.UUID(a.Net.UUID), mac)
	if err != nil {
		return nil, err
	}
	ret := &libvirt.NetworkGetDhcpLeasesRet{Ret: uint32(len(leases))}
	if a.NeedResults != 0 {
		ret.Leases = []libvirt.NetworkDhcpLease{}
		for _, l := range leases {
			// type 0 = VIR_IP_ADDR_TYPE_IPV4; expiry 0: the allocation lasts
			// as long as the port.
			ret.Leases = append(ret.Leases, libvirt.NetworkDhcpLease{Mac: []string{l.MAC}, Ipaddr: l.IP, Prefix: uint32(l.Prefix)})
		}
	}
	return ret, nil
}

// noNetworkFlags refuses flags on the *Flags variants: libvirt 9.0 knows
// only VIR_NETWORK_DEFINE_VALIDATE / VIR_NETWORK_CREATE_VALIDATE (1),
// schema validation, which the driver's own checks stand in for.
func noNetworkFlags(flags uint32, fn string) error {
	if flags&^1 != 0 {
		return virt.InvalidArg(virt.FromNetwork, fmt.Sprintf("unsupported flags (0x%x) in function %s", flags&^1, fn))
	}
	return nil
}

func networkDefineXML(ctx context.Context, c *conn, a *libvirt.NetworkDefineXMLArgs) (*libvirt.NetworkDefineXMLRet, error) {
	n, err := c.srv.drivers.Networks.DefineXML(ctx, a.XML)
	if err != nil {
		return nil, err
	}
	return &libvirt.NetworkDefineXMLRet{Net: wireNetwork(n)}, nil
}

func networkDefineXMLFlags(ctx context.Context, c *conn, a *libvirt.NetworkDefineXMLFlagsArgs) (*libvirt.NetworkDefineXMLFlagsRet, error) {
	if err := noNetworkFlags(a.Flags, "networkDefineXMLFlags"); err != nil {
		return nil, err
	}
	n, err := c.srv.drivers.Networks.DefineXML(ctx, a.XML)
	if err != nil {
		return nil, err
	}
	return &libvirt.NetworkDefineXMLFlagsRet{Net: wireNetwork(n)}, nil
}

func networkCreateXML(ctx context.Context, c *conn, a *libvirt.NetworkCreateXMLArgs) (*libvirt.NetworkCreateXMLRet, error) {
	n, err := c.srv.drivers.Networks.CreateXML(ctx, a.XML)
	if err != nil {
		return nil, err
	}
	return &libvirt.NetworkCreateXMLRet{Net: wireNetwork(n)}, nil
}

func networkCreateXMLFlags(ctx context.Context, c *conn, a *libvirt.NetworkCreateXMLFlagsArgs) (*libvirt.NetworkCreateXMLFlagsRet, error) {
	if err := noNetworkFlags(a.Flags, "networkCreateXMLFlags"); err != nil {
		return nil, err
	}
	n, err := c.srv.drivers.Networks.CreateXML(ctx, a.XML)
	if err != nil {
		return nil, err
	}
	return &libvirt.NetworkCreateXMLFlagsRet{Net: wireNetwork(n)}, nil
}

func networkCreate(ctx context.Context, c *conn, a *libvirt.NetworkCreateArgs) (*none, error) {
	return nil, c.srv.drivers.Networks.Start(ctx, virt.UUID(a.Net.UUID))
}

func networkDestroy(ctx context.Context, c *conn, a *libvirt.NetworkDestroyArgs) (*none, error) {
	return nil, c.srv.drivers.Networks.Destroy(ctx, virt.UUID(a.Net.UUID))
}

func networkUndefine(ctx context.Context, c *conn, a *libvirt.NetworkUndefineArgs) (*none, error) {
	return nil, c.srv.drivers.Networks.Undefine(ctx, virt.UUID(a.Net.UUID))
}

func networkSetAutostart(ctx context.Context, c *conn, a *libvirt.NetworkSetAutostartArgs) (*none, error) {
	return nil, c.srv.drivers.Networks.SetAutostart(ctx, virt.UUID(a.Net.UUID), a.Autostart != 0)
}

// Network events. libvirt 9.0 has one network event ID, lifecycle (0);
// every registration is a callback (network events arrived after
// REMOTE_EVENT_CALLBACK, so there is no legacy form).

const networkEventIDLast = 1 // VIR_NETWORK_EVENT_ID_LAST in libvirt 9.0

// netEvents is a connection's network event registrations and the
// subscription that feeds them while there is at least one.
type netEvents struct {
	mu    sync.Mutex
	cbs   map[int32]*virt.UUID // callback ID → the network it is for (nil: all)
	stop  chan struct{}
	unsub func()
}

func connectNetworkEventRegisterAny(ctx context.Context, c *conn, a *libvirt.ConnectNetworkEventRegisterAnyArgs) (*libvirt.ConnectNetworkEventRegisterAnyRet, error) {
	if a.EventID < 0 || a.EventID >= networkEventIDLast {
		return nil, virt.InvalidArg(virt.FromNetwork, fmt.Sprintf("unsupported event ID %d", a.EventID))
	}
	var only *virt.UUID
	if len(a.Net) > 0 {
		u := virt.UUID(a.Net[0].UUID)
		only = &u
	}
	// c.mu is held from the count to the insertion, as addCallback holds
	// it: calls in flight together must not all pass the count.
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.eventCallbacks() >= c.srv.maxCallbacks {
		return nil, errTooManyCallbacks(c.srv.maxCallbacks)
	}
	id := c.srv.nextCallbackID.Add(1) - 1
	ne := &c.netEvents
	ne.mu.Lock()
	defer ne.mu.Unlock()
	if ne.cbs == nil {
		ne.cbs = map[int32]*virt.UUID{}
	}
	ne.cbs[id] = only
	if ne.stop == nil && c.ctx.Err() == nil {
		events, unsub := c.srv.drivers.Networks.Subscribe()
		ne.stop, ne.unsub = make(chan struct{}), unsub
		c.wg.Add(1)
		go func(stop chan struct{}) {
			defer c.wg.Done()
			pump(c, events, stop, c.deliverNetworkEvent)
		}(ne.stop)
	}
	return &libvirt.ConnectNetworkEventRegisterAnyRet{CallbackID: id}, nil
}

func connectNetworkEventDeregisterAny(ctx context.Context, c *conn, a *libvirt.ConnectNetworkEventDeregisterAnyArgs) (*none, error) {
	ne := &c.netEvents
	ne.mu.Lock()
	_, ok := ne.cbs[a.CallbackID]
	delete(ne.cbs, a.CallbackID)
	last := len(ne.cbs) == 0
	ne.mu.Unlock()
	if !ok {
		return nil, virt.Internal(virt.FromRPC, fmt.Sprintf("network event callback %d not registered", a.CallbackID), nil)
	}
	if last {
		ne.end()
	}
	return nil, nil
}

// end drops every registration and the subscription (deregistration of
// the last callback, CONNECT_CLOSE, disconnect).
func (ne *netEvents) end() {
	ne.mu.Lock()
	clear(ne.cbs)
	stop, unsub := ne.stop, ne.unsub
	ne.stop, ne.unsub = nil, nil
	ne.mu.Unlock()
	if stop != nil {
		close(stop)
		unsub()
	}
}

func (c *conn) deliverNetworkEvent(ev network.Event) {
	ne := &c.netEvents
	ne.mu.Lock()
	var ids []int32
	for id, only := range ne.cbs {
		if only == nil || *only == ev.Network.UUID {
			ids = append(ids, id)
		}
	}
	ne.mu.Unlock()
	for _, id := range ids {
		c.sendEvent(ProcNetworkEventLifecycle, &libvirt.NetworkEventLifecycleMsg{
			CallbackID: id, Net: wireNetwork(ev.Network), Event: int32(ev.Type)})
	}
}
