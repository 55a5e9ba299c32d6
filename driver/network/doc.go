// Package network is libvirt's network driver over the cloud: the Neutron
// networks the credentials see, as libvirt networks (virNetworkDriver: list,
// lookups, XML, define/create/start/destroy/undefine, autostart, lifecycle
// events). docs/semantics.md, "Networks", is the contract.
//
//   - Names follow the one rule of every family (virt.UniqueNames), so the
//     name a domain's <source network='…'/> shows is the network's name here.
//   - UUID = the Neutron network ID.
//   - Active = admin_state_up. A Neutron network has no "inactive" form that
//     still exists apart from that: net-destroy sets it down, net-start up.
//   - Persistent, except networks net-create made (marked in their
//     description), which net-destroy deletes, as libvirt forgets a
//     transient network when it stops.
//   - Autostart is "yes" for every persistent network: it is there whenever
//     the cloud is, and nothing can keep it from "starting".
//
// The view is listed on demand and kept for a short TTL (Config.TTL), not
// refreshed in the background: Neutron has no changes-since, so a cache kept
// fresh would cost two full listings (networks, subnets) every interval for
// the rare client that asks (devtest's setup-network runs a handful of
// network calls, once). While a client listens for network events a poll
// loop lists at Config.PollInterval, so that changes made elsewhere are
// delivered; our own changes re-list at once (read-your-writes) and publish
// their events from that listing.
package network
