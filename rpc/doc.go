// Package rpc serves the libvirt remote protocol (program 0x20008086,
// version 1, plus the keepalive program): framing, XDR, the procedure table,
// per-connection state (opened? read-only? event callbacks), keepalive, event
// delivery and listeners.
//
// It knows nothing about OpenStack: every answer comes from a Backend
// (implemented by translate.Hypervisor). It must not import gophercloud or
// nodes.
//
// The wire behaviour follows ../shared/reference/libvirt-rpc.md, captured
// from libvirt 9.0.
package rpc

//go:generate go run ./internal/gen -o procs_gen.go
