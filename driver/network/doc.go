// Package network will be libvirt's network driver over the cloud: Neutron
// networks as libvirt networks (virNetworkDriver: list, lookup, XML, the
// network lifecycle events), with the same de-duplicated, shell-safe naming
// rule as domains, since a domain's <source network='…'/> names them.
//
// It holds nothing yet. Until it does, rpc runs without a Networks driver
// and answers every network procedure as libvirtd answers a connection
// without a network driver: VIR_ERR_NO_SUPPORT, "this function is not
// supported by the connection driver: virConnectNumOfNetworks" (the public
// API's name), from VIR_FROM_NETWORK.
package network
