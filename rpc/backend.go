package rpc

import (
	"context"

	"github.com/digitalocean/go-libvirt"

	"quintupleo/driver/domain"
	"quintupleo/driver/host"
	"quintupleo/driver/network"
	"quintupleo/driver/storage"
	"quintupleo/virt"
)

// The drivers behind the protocol, one small interface per libvirt object
// family, as libvirt keeps one driver table per family (virHypervisorDriver,
// virNetworkDriver, virStorageDriver in src/driver-*.h). rpc owns these
// interfaces; driver/* implement them and know nothing about the wire.
//
// Errors are *virt.Error where the client should see a specific libvirt
// error; anything else becomes VIR_ERR_INTERNAL_ERROR with a generic message.
// Every call that waits takes the call's context.

// Host is the host half of the hypervisor driver (driver/host): who we claim
// to be and what the host looks like.
type Host interface {
	Type() string       // "QEMU"
	Version() uint64    // hypervisor version, e.g. 7002000
	LibVersion() uint64 // libvirt library version we claim, e.g. 9000000
	Hostname(ctx context.Context) (string, error)
	Capabilities(ctx context.Context) (string, error)
	NodeInfo(ctx context.Context) (host.NodeInfo, error)
	FreeMemory(ctx context.Context) (uint64, error) // bytes
	CellsFreeMemory(ctx context.Context, start, maxCells int32) ([]uint64, error)
	MemoryStats(ctx context.Context, cell int32, flags uint32) ([]host.MemoryStat, error)
	Sysinfo(ctx context.Context, flags uint32) (string, error)
	DomainCapabilities(ctx context.Context, emulator, arch, machine, virtType string, flags uint32) (string, error)
}

// Domains is the domain half of the hypervisor driver (driver/domain).
//
// Domains are addressed by UUID after lookup, as libvirt's remote driver does
// (every later call passes the remote_nonnull_domain from the lookup reply,
// and the UUID is the part that identifies it).
type Domains interface {
	List(ctx context.Context, flags virt.ListFlags) ([]domain.Domain, error)
	LookupByName(ctx context.Context, name string) (domain.Domain, error)
	LookupByUUID(ctx context.Context, uuid virt.UUID) (domain.Domain, error)
	LookupByID(ctx context.Context, id int32) (domain.Domain, error)
	XMLDesc(ctx context.Context, uuid virt.UUID, flags uint32) (string, error)

	// Changes. Each blocks until the cloud reports the target state (or fails).
	Start(ctx context.Context, uuid virt.UUID) (domain.Domain, error)
	Destroy(ctx context.Context, uuid virt.UUID) error
	Shutdown(ctx context.Context, uuid virt.UUID) error
	Reboot(ctx context.Context, uuid virt.UUID) error
	Reset(ctx context.Context, uuid virt.UUID) error
	SetAutostart(ctx context.Context, uuid virt.UUID, autostart bool) error
	DefineXML(ctx context.Context, xml string, flags uint32) (domain.Domain, error)
	// CreateXML starts a new transient domain (virDomainCreateXML).
	CreateXML(ctx context.Context, xml string, flags uint32) (domain.Domain, error)
	Undefine(ctx context.Context, uuid virt.UUID, flags uint32) error
	Suspend(ctx context.Context, uuid virt.UUID) error
	Resume(ctx context.Context, uuid virt.UUID) error
	InjectNMI(ctx context.Context, uuid virt.UUID, flags uint32) error
	SetMetadata(ctx context.Context, uuid virt.UUID, typ int32, metadata, key, uri *string, flags uint32) error

	// Guest facts.
	InterfaceAddresses(ctx context.Context, uuid virt.UUID, source, flags uint32) ([]domain.Interface, error)
	GetMetadata(ctx context.Context, uuid virt.UUID, typ int32, uri *string, flags uint32) (string, error)
	// VCPUTimes is each vCPU's CPU time in ns (virDomainGetVcpus), or an
	// error where the cloud does not tell.
	VCPUTimes(ctx context.Context, uuid virt.UUID) ([]uint64, error)

	// Subscribe delivers lifecycle events of every domain, whatever caused
	// them, until unsubscribe is called. The channel is bounded; a subscriber
	// that falls behind loses events (they are logged), never blocks others.
	// unsubscribe closes the channel and may be called more than once.
	Subscribe() (events <-chan domain.Event, unsubscribe func())
}

// Networks is the network driver (virNetworkDriver; driver/network).
// Networks are addressed by UUID after lookup, as domains are.
type Networks interface {
	List(ctx context.Context, flags virt.NetworkListFlags) ([]network.Network, error)
	LookupByName(ctx context.Context, name string) (network.Network, error)
	LookupByUUID(ctx context.Context, uuid virt.UUID) (network.Network, error)
	XMLDesc(ctx context.Context, uuid virt.UUID, flags uint32) (string, error)
	BridgeName(ctx context.Context, uuid virt.UUID) (string, error)
	DefineXML(ctx context.Context, xml string) (network.Network, error)
	CreateXML(ctx context.Context, xml string) (network.Network, error)
	Start(ctx context.Context, uuid virt.UUID) error
	Destroy(ctx context.Context, uuid virt.UUID) error
	Undefine(ctx context.Context, uuid virt.UUID) error
	SetAutostart(ctx context.Context, uuid virt.UUID, autostart bool) error
	DHCPLeases(ctx context.Context, uuid virt.UUID, mac string) ([]network.Lease, error)
	// Subscribe delivers network lifecycle events as Domains.Subscribe does.
	Subscribe() (events <-chan network.Event, unsubscribe func())
}

// Storage is the storage driver (virStorageDriver; driver/storage): pools
// and volumes. Pools are addressed by UUID and volumes by key after lookup,
// as libvirt's remote driver does.
type Storage interface {
	Pools(ctx context.Context, flags uint32) ([]storage.Pool, error)
	PoolByName(ctx context.Context, name string) (storage.Pool, error)
	PoolByUUID(ctx context.Context, u virt.UUID) (storage.Pool, error)
	PoolByTargetPath(ctx context.Context, path string) (storage.Pool, error)
	PoolInfo(ctx context.Context, u virt.UUID) (storage.PoolInfo, error)
	PoolXML(ctx context.Context, u virt.UUID, flags uint32) (string, error)
	DefinePool(ctx context.Context, xml string) (storage.Pool, error)
	StartPool(ctx context.Context, u virt.UUID) error
	BuildPool(ctx context.Context, u virt.UUID) error
	RefreshPool(ctx context.Context, u virt.UUID) error
	SetPoolAutostart(ctx context.Context, u virt.UUID, on bool) error

	Volumes(ctx context.Context, pool virt.UUID) ([]storage.Volume, error)
	VolumeByName(ctx context.Context, pool virt.UUID, name string) (storage.Volume, error)
	VolumeByKey(ctx context.Context, key string) (storage.Volume, error)
	VolumeByPath(ctx context.Context, path string) (storage.Volume, error)
	CreateVolume(ctx context.Context, pool virt.UUID, xml string, flags uint32) (storage.Volume, error)
	DeleteVolume(ctx context.Context, key string, flags uint32) error
	VolumeXML(ctx context.Context, key string) (string, error)
	PoolName() string // the pool every volume is in
}

// Drivers are the families a Server answers from. A nil family is a missing
// sub-driver: each of its procedures answers VIR_ERR_NO_SUPPORT naming the
// public API, exactly as libvirtd does.
type Drivers struct {
	Host     Host
	Domains  Domains
	Networks Networks
	Storage  Storage
}

// wired reports whether the family f has a driver.
func (d Drivers) wired(f family) bool {
	switch f {
	case familyConnect:
		return true
	case familyHost:
		return d.Host != nil
	case familyDomain:
		return d.Domains != nil
	case familyNetwork:
		return d.Networks != nil
	case familyStorage:
		return d.Storage != nil
	}
	return false
}

// wireDomain is the remote_nonnull_domain of d.
func wireDomain(d domain.Domain) libvirt.Domain {
	return libvirt.Domain{Name: d.Name, UUID: libvirt.UUID(d.UUID), ID: d.ID}
}
