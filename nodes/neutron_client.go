package nodes

import "quintupleo/nodes/neutron"

// Neutron is the network service's client (nodes/neutron) over the
// inventory's cloud, for the libvirt network driver, reporting its changes
// to the cloud's Observer; nil when the cloud's catalog has no network
// service.
func (inv *Inventory) Neutron() *neutron.Client {
	if inv.cloud() == nil || inv.cloud().Network == nil {
		return nil
	}
	return neutron.New(inv.cloud().Network, inv.cloud().observer())
}
