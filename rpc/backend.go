package rpc

import (
	"context"

	"quintupleo/translate"
)

// Backend is the hypervisor behind the protocol: libvirt semantics over the
// cloud. *translate.Hypervisor implements it; the protocol layer knows nothing
// else about where domains come from.
//
// Domains are addressed by UUID after lookup, as libvirt's remote driver does
// (every later call passes the remote_nonnull_domain from the lookup reply,
// and the UUID is the part that identifies it).
//
// Errors are *translate.Error where the client should see a specific libvirt
// error; anything else becomes VIR_ERR_INTERNAL_ERROR with a generic message.
type Backend interface {
	// Connection-level facts.
	Type() string       // "QEMU"
	Version() uint64    // hypervisor version, e.g. 7002000
	LibVersion() uint64 // libvirt library version we claim, e.g. 9000000
	Hostname(ctx context.Context) (string, error)
	Capabilities(ctx context.Context) (string, error)
	NodeInfo(ctx context.Context) (translate.NodeInfo, error)

	// Domains.
	ListDomains(ctx context.Context, flags translate.ListFlags) ([]translate.Domain, error)
	LookupByName(ctx context.Context, name string) (translate.Domain, error)
	LookupByUUID(ctx context.Context, uuid translate.UUID) (translate.Domain, error)
	LookupByID(ctx context.Context, id int32) (translate.Domain, error)
	XMLDesc(ctx context.Context, uuid translate.UUID, flags uint32) (string, error)

	// Changes. Each blocks until the cloud reports the target state (or fails).
	Start(ctx context.Context, uuid translate.UUID) (translate.Domain, error)
	Destroy(ctx context.Context, uuid translate.UUID) error
	Shutdown(ctx context.Context, uuid translate.UUID) error
	Reboot(ctx context.Context, uuid translate.UUID) error
	Reset(ctx context.Context, uuid translate.UUID) error
	SetAutostart(ctx context.Context, uuid translate.UUID, autostart bool) error
	DefineXML(ctx context.Context, xml string, flags uint32) (translate.Domain, error)
	Undefine(ctx context.Context, uuid translate.UUID, flags uint32) error

	// Subscribe delivers lifecycle events of every domain, whatever caused
	// them, until unsubscribe is called. The channel is bounded; a subscriber
	// that falls behind loses events (they are logged), never blocks others.
	// unsubscribe closes the channel and may be called more than once.
	Subscribe() (events <-chan translate.LifecycleEvent, unsubscribe func())
}
