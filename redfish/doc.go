// Package redfish is the Redfish front end of quintupleo: the DMTF Redfish
// subset that Ironic's redfish hardware type and its client library sushy
// use, served over the node model that the libvirt and SSH fronts share
// (docs/redfish.md).
//
// One System per node, its Id the node's UUID (nodes.Node.UUID, the UUID
// the libvirt front shows); a Manager and a Chassis per System, linked as
// Ironic follows them. Every GET reads the inventory's cache: a power sync
// of N nodes costs the cloud nothing beyond the inventory's own refreshes.
// PowerState is nodes.PowerStateOf. ComputerSystem.Reset and the Boot
// override act through the shared nodes.Executor (its 409 handling, its
// boot strategies, its one-time boot device), never twice for one request.
// Refusals are Redfish error bodies citing the Base message registry.
//
// Authentication is HTTP Basic or a SessionService session (X-Auth-Token)
// against accounts from htpasswd files with bcrypt entries; a read-only
// account may only read. TLS and the listener are internal/stack's.
//
// It sits on nodes and nothing else of ours: not on driver/* (the libvirt
// model) or rpc, beside which it stands.
package redfish
