package translate

import (
	"github.com/digitalocean/go-libvirt"
)

// UUID is a domain UUID in its 16 raw bytes, as on the wire.
type UUID = libvirt.UUID

// State is a libvirt virDomainState.
type State int32

// libvirt's virDomainState values.
const (
	StateNoState     State = 0
	StateRunning     State = 1
	StateBlocked     State = 2
	StatePaused      State = 3
	StateShutdown    State = 4 // being shut down
	StateShutoff     State = 5
	StateCrashed     State = 6
	StatePMSuspended State = 7
)

// Active reports whether libvirt counts a domain in this state as active
// (listed by `virsh list`, has a positive id).
func (s State) Active() bool {
	switch s {
	case StateRunning, StateBlocked, StatePaused, StateShutdown, StatePMSuspended:
		return true
	}
	return false
}

// Domain is one libvirt domain as the protocol layer needs it: identity plus
// the facts behind get_state/get_info/dominfo. It is a value; a fresh copy is
// returned by every lookup.
type Domain struct {
	Name string
	UUID UUID
	// ID is the running id (positive, stable while the domain stays active), or
	// -1 when the domain is inactive.
	ID     int32
	State  State
	Reason int32 // the reason enum that goes with State (virDomainRunningReason, …)

	MaxMemoryKiB uint64
	MemoryKiB    uint64
	VCPUs        uint16
	CPUTimeNs    uint64

	Autostart  bool
	Persistent bool
}

// Wire returns the remote_nonnull_domain for d.
func (d Domain) Wire() libvirt.Domain {
	return libvirt.Domain{Name: d.Name, UUID: d.UUID, ID: d.ID}
}

// ListFlags are virConnectListAllDomainsFlags.
type ListFlags uint32

// The virConnectListAllDomainsFlags a shim can honour.
const (
	ListActive        ListFlags = 1 << 0
	ListInactive      ListFlags = 1 << 1
	ListPersistent    ListFlags = 1 << 2
	ListTransient     ListFlags = 1 << 3
	ListRunning       ListFlags = 1 << 4
	ListPaused        ListFlags = 1 << 5
	ListShutoff       ListFlags = 1 << 6
	ListOther         ListFlags = 1 << 7
	ListManagedSave   ListFlags = 1 << 8
	ListNoManagedSave ListFlags = 1 << 9
	ListAutostart     ListFlags = 1 << 10
	ListNoAutostart   ListFlags = 1 << 11
	ListHasSnapshot   ListFlags = 1 << 12
	ListNoSnapshot    ListFlags = 1 << 13
	ListHasCheckpoint ListFlags = 1 << 14
	ListNoCheckpoint  ListFlags = 1 << 15
)

// Matches applies virConnectListAllDomains filter groups to d: within a
// group any set flag matches, across groups all must; a group with no flag
// set does not filter. This is the one place these semantics live.
func (d Domain) Matches(f ListFlags) bool {
	group := func(mask ListFlags, match ListFlags) bool { return f&mask == 0 || f&match != 0 }
	activity := ListInactive
	if d.State.Active() {
		activity = ListActive
	}
	state := ListOther
	switch d.State {
	case StateRunning:
		state = ListRunning
	case StatePaused:
		state = ListPaused
	case StateShutoff:
		state = ListShutoff
	}
	autostart := ListNoAutostart
	if d.Autostart {
		autostart = ListAutostart
	}
	return group(ListActive|ListInactive, activity) &&
		group(ListPersistent|ListTransient, ListPersistent) &&
		group(ListRunning|ListPaused|ListShutoff|ListOther, state) &&
		group(ListManagedSave|ListNoManagedSave, ListNoManagedSave) &&
		group(ListAutostart|ListNoAutostart, autostart) &&
		group(ListHasSnapshot|ListNoSnapshot, ListNoSnapshot) &&
		group(ListHasCheckpoint|ListNoCheckpoint, ListNoCheckpoint)
}

// NodeInfo answers virNodeGetInfo.
type NodeInfo struct {
	Model   string // e.g. "x86_64"
	Memory  uint64 // KiB
	CPUs    int32
	MHz     int32
	Nodes   int32
	Sockets int32
	Cores   int32
	Threads int32
}

// LifecycleEvent is a VIR_DOMAIN_EVENT_ID_LIFECYCLE event.
type LifecycleEvent struct {
	Domain Domain
	Event  int32 // virDomainEventType (2 STARTED, 5 STOPPED, …)
	Detail int32 // the detail enum of Event
}

// Lifecycle event types (virDomainEventType).
const (
	EventDefined     int32 = 0
	EventUndefined   int32 = 1
	EventStarted     int32 = 2
	EventSuspended   int32 = 3
	EventResumed     int32 = 4
	EventStopped     int32 = 5
	EventShutdown    int32 = 6
	EventPMSuspended int32 = 7
	EventCrashed     int32 = 8
)
