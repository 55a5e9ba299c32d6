// Package rpc serves the libvirt remote protocol (program 0x20008086,
// version 1, plus the keepalive program): framing, XDR, the procedure table,
// per-connection state (opened? read-only? event callbacks), keepalive, event
// delivery and listeners.
//
// It knows nothing about OpenStack: every answer comes from the driver of
// the procedure's object family (backend.go: Host, Domains, Networks,
// Storage — small interfaces rpc owns, implemented by driver/*). A family
// without a driver answers VIR_ERR_NO_SUPPORT, as libvirtd does. The wire
// types (go-libvirt's generated structs, remote_nonnull_domain) stay here:
// the drivers speak virt's vocabulary. It must not import gophercloud or
// nodes.
//
// The wire behaviour follows what real libvirt 9.0 sends and answers
// (captured with a real libvirtd; docs/semantics.md).
package rpc

//go:generate go run ./internal/gen -o procs_gen.go
