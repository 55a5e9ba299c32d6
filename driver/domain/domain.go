package domain

import "quintupleo/virt"

// MetaAutostart is the server metadata key that records `virsh autostart`.
// Nova has no such notion: the flag is kept and reported, it does not start
// anything.
const MetaAutostart = "libvirt:autostart"

// Domain is one libvirt domain as the protocol layer needs it: identity plus
// the facts behind get_state/get_info/dominfo. It is a value; a fresh copy is
// returned by every lookup.
type Domain struct {
	Name string
	UUID virt.UUID
	// ID is the running id (positive, stable while the domain stays active), or
	// -1 when the domain is inactive.
	ID     int32
	State  virt.State
	Reason int32 // the reason enum that goes with State (virt.Running…, virt.Shutoff…)

	MaxMemoryKiB uint64
	MemoryKiB    uint64
	VCPUs        uint16
	CPUTimeNs    uint64

	Autostart  bool
	Persistent bool
}

// Matches applies virConnectListAllDomains filter groups to d: within a
// group any set flag matches, across groups all must; a group with no flag
// set does not filter. This is the one place these semantics live.
func (d Domain) Matches(f virt.ListFlags) bool {
	group := func(mask, match virt.ListFlags) bool { return f&mask == 0 || f&match != 0 }
	activity := virt.ListInactive
	if d.State.Active() {
		activity = virt.ListActive
	}
	state := virt.ListOther
	switch d.State {
	case virt.StateRunning:
		state = virt.ListRunning
	case virt.StatePaused:
		state = virt.ListPaused
	case virt.StateShutoff:
		state = virt.ListShutoff
	}
	persistence := virt.ListTransient
	if d.Persistent {
		persistence = virt.ListPersistent
	}
	autostart := virt.ListNoAutostart
	if d.Autostart {
		autostart = virt.ListAutostart
	}
	return group(virt.ListActive|virt.ListInactive, activity) &&
		group(virt.ListPersistent|virt.ListTransient, persistence) &&
		group(virt.ListRunning|virt.ListPaused|virt.ListShutoff|virt.ListOther, state) &&
		group(virt.ListManagedSave|virt.ListNoManagedSave, virt.ListNoManagedSave) &&
		group(virt.ListAutostart|virt.ListNoAutostart, autostart) &&
		group(virt.ListHasSnapshot|virt.ListNoSnapshot, virt.ListNoSnapshot) &&
		group(virt.ListHasCheckpoint|virt.ListNoCheckpoint, virt.ListNoCheckpoint)
}

// Event is a VIR_DOMAIN_EVENT_ID_LIFECYCLE or (with Metadata) a
// VIR_DOMAIN_EVENT_ID_METADATA_CHANGE event.
type Event struct {
	Domain Domain
	Type   virt.EventType
	Detail int32 // the detail enum of Type (virt.Stopped…, …)
	// Metadata, when set, makes this a METADATA_CHANGE event instead of
	// a lifecycle one (Type and Detail unused).
	Metadata *MetadataChange
}

// MetadataChange is what a METADATA_CHANGE event says: which of the
// domain's metadata changed (virt.MetadataTitle, MetadataDescription or
// MetadataElement) and, for an element, its namespace.
type MetadataChange struct {
	Type int32
	URI  string // "" for the title and the description
}
