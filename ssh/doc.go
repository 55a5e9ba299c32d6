// Package ssh is quintupleo's SSH endpoint: a golang.org/x/crypto/ssh server
// that answers the command lines existing automation sends to a libvirt host
// (the Ironic ssh power driver, Nova's VirtualPowerManager, TripleO devtest,
// people typing virsh) and libvirt's own qemu+ssh:// transport.
//
// It owns host keys, authorized_keys, exec/shell sessions, the confined
// command interpreter (mvdan.cc/sh/v3 with exec/open/stat handlers), the
// confined text utilities (ssh/coreutils), the virsh command set (ssh/virsh) and
// the qemu+ssh bridge.
//
// It must not touch OpenStack: every libvirt operation goes through a libvirt
// RPC connection obtained from the Dialer (cmd wires that to rpc.Server), so
// libvirt semantics live in exactly one place. Nothing a session runs may
// start a host program or touch a file outside its scratch directory.
package ssh
