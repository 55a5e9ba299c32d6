// Package domain is libvirt's domain driver over the cloud's nodes
// (virHypervisorDriver's domain half): a Nova server becomes a libvirt domain
// with a name, id and UUID (identity.go), a state and reason (state.go, a
// data table), an XML definition (domxml/); power actions (lifecycle.go),
// define (define.go) and lifecycle events (events.go) follow libvirt's
// semantics, and failures of the nodes layer become libvirt errors with
// libvirt's codes and messages (errors.go).
//
// It owns libvirt semantics and nothing about the wire: it must not import
// rpc, ssh or go-libvirt (its vocabulary is virt), and it never sees
// gophercloud types (nodes hands it plain values). Other driver families are
// not its business, except network (for <source network>) once that exists.
package domain
