// Package domxml is libvirt's domain XML as quintupleo writes and reads it:
// RenderXML writes a DomainSpec the way libvirt's qemu driver does (and the
// line-based clients that grep dumpxml expect), ParseXML reads what `virsh
// define`/`edit` send with libvirt's checks and error wording (libxml2's for
// XML that is not well-formed), and Diff says, as a typed change set, which
// fields an edited definition changes.
//
// It knows nothing of the cloud: driver/domain maps nodes to DomainSpecs and
// decides what a change means.
package domxml
