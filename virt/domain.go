package virt

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

// The reason enums that go with each State (virDomain*Reason in libvirt's
// include/libvirt/libvirt-domain.h). A domain's reason is an int32 whose
// meaning depends on its State.
const (
	// virDomainNostateReason
	NostateUnknown int32 = 0

	// virDomainRunningReason
	RunningUnknown           int32 = 0
	RunningBooted            int32 = 1
	RunningMigrated          int32 = 2
	RunningRestored          int32 = 3
	RunningFromSnapshot      int32 = 4
	RunningUnpaused          int32 = 5
	RunningMigrationCanceled int32 = 6
	RunningSaveCanceled      int32 = 7
	RunningWakeup            int32 = 8
	RunningCrashed           int32 = 9
	RunningPostcopy          int32 = 10
	RunningPostcopyFailed    int32 = 11

	// virDomainBlockedReason
	BlockedUnknown int32 = 0

	// virDomainPausedReason
	PausedUnknown        int32 = 0
	PausedUser           int32 = 1
	PausedMigration      int32 = 2
	PausedSave           int32 = 3
	PausedDump           int32 = 4
	PausedIOError        int32 = 5
	PausedWatchdog       int32 = 6
	PausedFromSnapshot   int32 = 7
	PausedShuttingDown   int32 = 8
	PausedSnapshot       int32 = 9
	PausedCrashed        int32 = 10
	PausedStartingUp     int32 = 11
	PausedPostcopy       int32 = 12
	PausedPostcopyFailed int32 = 13
	PausedAPIError       int32 = 14

	// virDomainShutdownReason
	ShutdownUnknown int32 = 0
	ShutdownUser    int32 = 1

	// virDomainShutoffReason
	ShutoffUnknown      int32 = 0
	ShutoffShutdown     int32 = 1
	ShutoffDestroyed    int32 = 2
	ShutoffCrashed      int32 = 3
	ShutoffMigrated     int32 = 4
	ShutoffSaved        int32 = 5
	ShutoffFailed       int32 = 6
	ShutoffFromSnapshot int32 = 7
	ShutoffDaemon       int32 = 8

	// virDomainCrashedReason
	CrashedUnknown  int32 = 0
	CrashedPanicked int32 = 1

	// virDomainPMSuspendedReason
	PMSuspendedUnknown int32 = 0
)

// EventType is a lifecycle event type (virDomainEventType).
type EventType int32

// virDomainEventType values.
const (
	EventDefined     EventType = 0
	EventUndefined   EventType = 1
	EventStarted     EventType = 2
	EventSuspended   EventType = 3
	EventResumed     EventType = 4
	EventStopped     EventType = 5
	EventShutdown    EventType = 6
	EventPMSuspended EventType = 7
	EventCrashed     EventType = 8
)

// The detail enums of each EventType (virDomainEvent*DetailType); only the
// details quintupleo reports. A detail is an int32 whose meaning depends on
// its EventType.
const (
	DefinedAdded     int32 = 0 // VIR_DOMAIN_EVENT_DEFINED_ADDED
	UndefinedRemoved int32 = 0 // VIR_DOMAIN_EVENT_UNDEFINED_REMOVED

	StartedBooted int32 = 0 // VIR_DOMAIN_EVENT_STARTED_BOOTED

	SuspendedPaused int32 = 0 // VIR_DOMAIN_EVENT_SUSPENDED_PAUSED
	ResumedUnpaused int32 = 0 // VIR_DOMAIN_EVENT_RESUMED_UNPAUSED

	StoppedShutdown  int32 = 0 // VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN: the guest (or the cloud) shut it down
	StoppedDestroyed int32 = 1 // VIR_DOMAIN_EVENT_STOPPED_DESTROYED
	StoppedCrashed   int32 = 2
	StoppedMigrated  int32 = 3
	StoppedSaved     int32 = 4
	StoppedFailed    int32 = 5

	ShutdownFinished      int32 = 0 // VIR_DOMAIN_EVENT_SHUTDOWN_FINISHED
	PMSuspendedMemory     int32 = 0 // VIR_DOMAIN_EVENT_PMSUSPENDED_MEMORY
	CrashedPanickedDetail int32 = 0 // VIR_DOMAIN_EVENT_CRASHED_PANICKED
)

// ListFlags are virConnectListAllDomainsFlags.
type ListFlags uint32

// The virConnectListAllDomainsFlags.
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

// virDomainXMLFlags (VIR_DOMAIN_XML_*), for virDomainGetXMLDesc.
const (
	XMLSecure     uint32 = 1 // include security-sensitive data; refused on read-only connections
	XMLInactive   uint32 = 2 // the persistent (next boot) definition: no id, no runtime-only elements
	XMLUpdateCPU  uint32 = 4 // update guest CPU to the host's
	XMLMigratable uint32 = 8 // migratable XML: runtime-only aliases are dropped
)

// virDomainCreateFlags (VIR_DOMAIN_START_*), for virDomainCreateXML and
// virDomainCreateWithFlags.
const (
	StartPaused      uint32 = 1 << 0 // VIR_DOMAIN_START_PAUSED
	StartAutodestroy uint32 = 1 << 1 // VIR_DOMAIN_START_AUTODESTROY
	StartBypassCache uint32 = 1 << 2 // VIR_DOMAIN_START_BYPASS_CACHE
	StartForceBoot   uint32 = 1 << 3 // VIR_DOMAIN_START_FORCE_BOOT
	StartValidate    uint32 = 1 << 4 // VIR_DOMAIN_START_VALIDATE
	StartResetNVRAM  uint32 = 1 << 5 // VIR_DOMAIN_START_RESET_NVRAM
)

// virDomainUndefineFlagsValues (VIR_DOMAIN_UNDEFINE_*), for
// virDomainUndefineFlags.
const (
	UndefineManagedSave         uint32 = 1 << 0 // VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
	UndefineSnapshotsMetadata   uint32 = 1 << 1 // VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
	UndefineNVRAM               uint32 = 1 << 2 // VIR_DOMAIN_UNDEFINE_NVRAM
	UndefineKeepNVRAM           uint32 = 1 << 3 // VIR_DOMAIN_UNDEFINE_KEEP_NVRAM
	UndefineCheckpointsMetadata uint32 = 1 << 4 // VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA
	UndefineTPM                 uint32 = 1 << 5 // VIR_DOMAIN_UNDEFINE_TPM
	UndefineKeepTPM             uint32 = 1 << 6 // VIR_DOMAIN_UNDEFINE_KEEP_TPM
)

// virDomainModificationImpact (VIR_DOMAIN_AFFECT_*): which definition a
// call changes; AffectCurrent (0) is the live one of a running domain, the
// persistent one otherwise.
const (
	AffectCurrent uint32 = 0
	AffectLive    uint32 = 1 << 0
	AffectConfig  uint32 = 1 << 1
)

// virDomainMetadataType (VIR_DOMAIN_METADATA_*), for virDomainGetMetadata
// and virDomainSetMetadata.
const (
	MetadataDescription int32 = 0
	MetadataTitle       int32 = 1
	MetadataElement     int32 = 2
)

// virDomainInterfaceAddressesSource
// (VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_*), for virDomainInterfaceAddresses.
const (
	AddrSourceLease uint32 = 0
	AddrSourceAgent uint32 = 1
	AddrSourceARP   uint32 = 2
)
