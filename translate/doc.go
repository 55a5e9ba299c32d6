// Package translate is the libvirt domain model over the cloud's nodes: a Nova
// server becomes a libvirt domain (identity, state and reason, XML), and
// failures become libvirt errors with libvirt's own codes and messages.
//
// It owns libvirt semantics and nothing about the wire: it must not import rpc
// or ssh, and it never sees gophercloud types (nodes/ hands it plain values).
package translate
