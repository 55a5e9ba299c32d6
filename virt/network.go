package virt

import "github.com/digitalocean/go-libvirt"

// NoNetwork is VIR_ERR_NO_NETWORK from the network driver, e.g. "Network
// not found: no network with matching name 'x'".
func NoNetwork(detail string) *Error {
	return &Error{Code: libvirt.ErrNoNetwork, Domain: FromNetwork, Format: "Network not found: %s", Detail: detail}
}

// NetworkEventType is virNetworkEventLifecycleType.
type NetworkEventType int32

// The virNetworkEventLifecycleType values (detail is always 0).
const (
	NetworkEventDefined   NetworkEventType = 0
	NetworkEventUndefined NetworkEventType = 1
	NetworkEventStarted   NetworkEventType = 2
	NetworkEventStopped   NetworkEventType = 3
)

// NetworkListFlags are virConnectListAllNetworksFlags.
type NetworkListFlags uint32

// The virConnectListAllNetworksFlags.
const (
	NetListInactive    NetworkListFlags = 1 << 0
	NetListActive      NetworkListFlags = 1 << 1
	NetListPersistent  NetworkListFlags = 1 << 2
	NetListTransient   NetworkListFlags = 1 << 3
	NetListAutostart   NetworkListFlags = 1 << 4
	NetListNoAutostart NetworkListFlags = 1 << 5
)
