package translate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"

	"quintupleo/nodes"
)

// Identity facts we present. quintupleo answers as a QEMU/KVM host so that
// clients written for one (qemu:///system URIs, `hvm` OS type) need no change.
const (
	hypervisorType    = "QEMU"
	hypervisorVersion = 7002000 // QEMU 7.2.0, Debian 12's, what virsh 9.0 is used with
	libVersion        = 9000000 // libvirt 9.0.0, the virsh we are tested with

	// MetaAutostart records `virsh autostart`. Nova has no such notion: the
	// flag is kept and reported, it does not start anything.
	MetaAutostart = "libvirt:autostart"
)

// Config tunes a Hypervisor.
type Config struct {
	Hostname string // reported by virConnectGetHostname; "" = this machine's
	Logger   *slog.Logger
	// EventBuffer is the queue length of each event subscriber. Default 256.
	EventBuffer int
}

// Hypervisor is libvirt's view of the cloud: it implements rpc.Backend over
// a nodes.Inventory.
type Hypervisor struct {
	inv *nodes.Inventory
	cfg Config
	log *slog.Logger

	mu sync.Mutex
	// mu guards:
	view      *view
	subs      map[int]chan LifecycleEvent
	nextSub   int
	stopCause map[UUID]int32 // STOPPED detail to report for a stop we caused
	// offReason is the shut-off reason of domains we stopped (destroyed or
	// shutdown), which Nova cannot tell; forgotten once they run again.
	offReason map[UUID]int32
}

// New builds a Hypervisor over inv. Call Run to deliver events.
func New(inv *nodes.Inventory, cfg Config) *Hypervisor {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.EventBuffer <= 0 {
		cfg.EventBuffer = 256
	}
	if cfg.Hostname == "" {
		cfg.Hostname, _ = os.Hostname()
	}
	return &Hypervisor{inv: inv, cfg: cfg, log: cfg.Logger,
		subs: map[int]chan LifecycleEvent{}, stopCause: map[UUID]int32{}, offReason: map[UUID]int32{}}
}

// view is the domain index derived from one generation of the inventory.
// nodes and doms are aligned index for index.
type view struct {
	gen    uint64
	nodes  []nodes.Node
	doms   []Domain
	byUUID map[UUID]int
	byName map[string]int
	byID   map[int32]int
}

// current returns the index for the inventory's present generation,
// rebuilding it only when the inventory changed.
func (h *Hypervisor) current(ctx context.Context) (*view, error) {
	ns, gen, err := h.inv.Nodes(ctx)
	if err != nil {
		return nil, FromNodes(err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.view != nil && h.view.gen >= gen {
		// Current, or a concurrent reader already built a newer one.
		return h.view, nil
	}
	if old := h.view; old != nil && sameMembers(old.nodes, ns) {
		h.view = h.refreshView(old, ns, gen)
		return h.view, nil
	}
	v := &view{gen: gen, byUUID: make(map[UUID]int, len(ns)), byName: make(map[string]int, len(ns)),
		byID: map[int32]int{}}
	names := assignNames(ns)
	for i, n := range ns {
		u, ok := parseUUID(n.ID)
		if !ok {
			h.log.Warn("server id is not a UUID; not shown as a domain", "id", n.ID)
			continue
		}
		d := h.withOffReason(domainOf(n, names[i], u))
		idx := len(v.doms)
		v.nodes = append(v.nodes, n)
		v.doms = append(v.doms, d)
		v.byUUID[u] = idx
		v.byName[d.Name] = idx
		if d.ID > 0 {
			v.byID[d.ID] = idx
		}
	}
	h.view = v
	return v, nil
}

// sameMembers reports whether a new inventory listing holds the same
// servers, with the same names, in the same order as a view's (only states
// and other values changed): then names and the UUID and name indexes carry
// over, which keeps a power action cheap at 10,000 nodes.
func sameMembers(viewNodes, ns []nodes.Node) bool {
	if len(viewNodes) != len(ns) {
		return false // includes servers skipped for a non-UUID id: rebuild
	}
	for i := range ns {
		if viewNodes[i].ID != ns[i].ID || viewNodes[i].Name != ns[i].Name {
			return false
		}
	}
	return true
}

// refreshView derives the view of a new generation from old when only node
// values changed: domains are recomputed, names and the UUID and name
// indexes are shared (never modified after a view is built).
func (h *Hypervisor) refreshView(old *view, ns []nodes.Node, gen uint64) *view {
	v := &view{gen: gen, nodes: ns, doms: make([]Domain, len(ns)),
		byUUID: old.byUUID, byName: old.byName, byID: make(map[int32]int, len(old.byID))}
	for i, n := range ns {
		d := h.withOffReason(domainOf(n, old.doms[i].Name, old.doms[i].UUID))
		v.doms[i] = d
		if d.ID > 0 {
			v.byID[d.ID] = i
		}
	}
	return v
}

// withOffReason applies the shut-off reason we know for domains we stopped
// ourselves. h.mu must be held.
func (h *Hypervisor) withOffReason(d Domain) Domain {
	if r, ok := h.offReason[d.UUID]; ok {
		if d.State == StateShutoff {
			d.Reason = r
		} else if d.State.Active() && d.State != StateShutdown {
			delete(h.offReason, d.UUID) // running again: the reason is history
		}
	}
	return d
}

// domainOf is the libvirt domain of a node.
func domainOf(n nodes.Node, name string, u UUID) Domain {
	state, reason := MapState(NovaState{Status: n.Status, VMState: n.VMState, TaskState: n.TaskState, PowerState: n.PowerState})
	d := Domain{
		Name:         name,
		UUID:         u,
		ID:           -1,
		State:        state,
		Reason:       reason,
		MaxMemoryKiB: uint64(n.Flavor.RAMMiB) * 1024,
		MemoryKiB:    uint64(n.Flavor.RAMMiB) * 1024,
		VCPUs:        uint16(n.Flavor.VCPUs),
		Autostart:    n.Metadata[MetaAutostart] == "1",
		Persistent:   true,
	}
	if state.Active() {
		d.ID = runningID(n)
	}
	return d
}

// bootDevice is the libvirt boot device of the node's next start.
func (h *Hypervisor) bootDevice(n nodes.Node) string {
	if h.inv.BootDevice(n) == nodes.BootNetwork {
		return BootNetwork
	}
	return BootHD
}

// specOf is the domain XML model of a node.
func (h *Hypervisor) specOf(n nodes.Node, d Domain) DomainSpec {
	spec := DomainSpec{
		Name:      d.Name,
		UUID:      d.UUID,
		ID:        d.ID,
		MemoryKiB: d.MaxMemoryKiB,
		VCPUs:     d.VCPUs,
		BootDev:   h.bootDevice(n),
		Firmware:  "bios",
		Disks:     []Disk{RootDisk()},
	}
	if n.Status == "ERROR" && n.Fault != "" {
		spec.Description = "Nova reports ERROR: " + n.Fault
	}
	for _, p := range n.Ports {
		spec.Interfaces = append(spec.Interfaces, Interface{MAC: p.MAC, Network: p.Network, Model: "virtio"})
	}
	return spec
}

// FromNodes turns an error of the nodes layer into the libvirt error a
// client should see.
func FromNodes(err error) error {
	if err == nil {
		return nil
	}
	var te *Error
	if errors.As(err, &te) {
		return err
	}
	var ne *nodes.Error
	reason := ""
	if errors.As(err, &ne) {
		reason = ne.Reason
	}
	switch {
	case errors.Is(err, context.Canceled):
		return Internal("the client went away", err)
	case errors.Is(err, nodes.ErrNotFound):
		return &Error{Code: NoDomainName("").Code, Domain: FromQEMU, Format: fmtNoDomain, Detail: "the server no longer exists in the cloud", Err: err}
	case errors.Is(err, nodes.ErrConflict):
		if reason == "" {
			reason = "the cloud refused the action in the server's current state"
		}
		e := OperationInvalid(reason)
		e.Err = err
		return e
	case errors.Is(err, nodes.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		if reason == "" {
			reason = "the cloud did not reach the requested state in time"
		}
		return OperationTimeout(reason, err)
	case errors.Is(err, nodes.ErrFailed):
		return OperationFailed("the cloud failed the action: "+reason, err)
	case errors.Is(err, nodes.ErrUnavailable):
		if reason == "" {
			reason = "no usable answer"
		}
		return OperationFailed("cloud unavailable: "+reason, err)
	}
	return Internal("unexpected failure in the cloud backend; see the quintupleo log", err)
}

// Type answers virConnectGetType.
func (h *Hypervisor) Type() string { return hypervisorType }

// Version answers virConnectGetVersion.
func (h *Hypervisor) Version() uint64 { return hypervisorVersion }

// LibVersion answers virConnectGetLibVersion.
func (h *Hypervisor) LibVersion() uint64 { return libVersion }

// Hostname answers virConnectGetHostname.
func (h *Hypervisor) Hostname(context.Context) (string, error) { return h.cfg.Hostname, nil }

// NodeInfo answers virNodeGetInfo: the cloud's nodes summed up as one host.
func (h *Hypervisor) NodeInfo(ctx context.Context) (NodeInfo, error) {
	v, err := h.current(ctx)
	if err != nil {
		return NodeInfo{}, err
	}
	info := NodeInfo{Model: "x86_64", MHz: 2000, Nodes: 1, Sockets: 1, Threads: 1}
	for _, d := range v.doms {
		info.Memory += d.MaxMemoryKiB
		info.CPUs += int32(d.VCPUs)
	}
	if info.CPUs == 0 {
		info.CPUs = 1
	}
	if info.Memory == 0 {
		info.Memory = 1024 * 1024
	}
	info.Cores = info.CPUs
	return info, nil
}

// Capabilities answers virConnectGetCapabilities.
func (h *Hypervisor) Capabilities(context.Context) (string, error) {
	return capabilitiesXML, nil
}

const capabilitiesXML = `<capabilities>

  <host>
    <cpu>
      <arch>x86_64</arch>
    </cpu>
    <power_management/>
    <iommu support='no'/>
    <migration_features>
      <live/>
    </migration_features>
    <topology>
      <cells num='1'>
        <cell id='0'>
          <cpus num='1'>
            <cpu id='0' socket_id='0' die_id='0' core_id='0' siblings='0'/>
          </cpus>
        </cell>
      </cells>
    </topology>
  </host>

  <guest>
    <os_type>hvm</os_type>
    <arch name='x86_64'>
      <wordsize>64</wordsize>
      <emulator>/usr/bin/qemu-system-x86_64</emulator>
      <machine maxCpus='255'>pc</machine>
      <domain type='qemu'/>
      <domain type='kvm'/>
    </arch>
    <features>
      <acpi default='on' toggle='yes'/>
      <apic default='on' toggle='no'/>
    </features>
  </guest>

</capabilities>
`

// ListVersion is the generation of the domain view: ListDomains answers
// the same for the same flags until it changes (rpc.ListVersioner).
func (h *Hypervisor) ListVersion(ctx context.Context) (uint64, error) {
	v, err := h.current(ctx)
	if err != nil {
		return 0, err
	}
	return v.gen, nil
}

// ListDomains answers virConnectListAllDomains.
func (h *Hypervisor) ListDomains(ctx context.Context, flags ListFlags) ([]Domain, error) {
	v, err := h.current(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Domain, 0, len(v.doms))
	for _, d := range v.doms {
		if d.Matches(flags) {
			out = append(out, d)
		}
	}
	return out, nil
}

// LookupByName answers virDomainLookupByName.
func (h *Hypervisor) LookupByName(ctx context.Context, name string) (Domain, error) {
	v, err := h.current(ctx)
	if err != nil {
		return Domain{}, err
	}
	i, ok := v.byName[name]
	if !ok {
		return Domain{}, NoDomainName(name)
	}
	return v.doms[i], nil
}

// LookupByUUID answers virDomainLookupByUUID.
func (h *Hypervisor) LookupByUUID(ctx context.Context, u UUID) (Domain, error) {
	_, d, err := h.find(ctx, u)
	return d, err
}

// LookupByID answers virDomainLookupByID.
func (h *Hypervisor) LookupByID(ctx context.Context, id int32) (Domain, error) {
	v, err := h.current(ctx)
	if err != nil {
		return Domain{}, err
	}
	i, ok := v.byID[id]
	if !ok {
		return Domain{}, NoDomainID(id)
	}
	return v.doms[i], nil
}

func (h *Hypervisor) find(ctx context.Context, u UUID) (nodes.Node, Domain, error) {
	v, err := h.current(ctx)
	if err != nil {
		return nodes.Node{}, Domain{}, err
	}
	i, ok := v.byUUID[u]
	if !ok {
		return nodes.Node{}, Domain{}, NoDomainUUID(FormatUUID(u))
	}
	return v.nodes[i], v.doms[i], nil
}

// XMLDesc answers virDomainGetXMLDesc.
func (h *Hypervisor) XMLDesc(ctx context.Context, u UUID, flags uint32) (string, error) {
	n, d, err := h.find(ctx, u)
	if err != nil {
		return "", err
	}
	return RenderXML(h.specOf(n, d), flags), nil
}

// Start answers virDomainCreate: the Nova action that brings the server to
// ACTIVE from where it is, waited for.
func (h *Hypervisor) Start(ctx context.Context, u UUID) (Domain, error) {
	n, d, err := h.find(ctx, u)
	if err != nil {
		return Domain{}, err
	}
	if d.State.Active() {
		return Domain{}, OperationInvalid("domain is already running")
	}
	if _, err := h.inv.PowerOn(ctx, n.ID); err != nil {
		return Domain{}, FromNodes(err)
	}
	_, d, err = h.find(ctx, u)
	return d, err
}

// Destroy answers virDomainDestroy with os-stop. Nova stops gracefully first
// (up to its shutdown_timeout, 60 s by default, or the image's
// os_shutdown_timeout property); libvirt's destroy is immediate. See
// docs/operations.md for shortening it.
func (h *Hypervisor) Destroy(ctx context.Context, u UUID) error {
	return h.stop(ctx, u, 1, ShutoffDestroyed) // VIR_DOMAIN_EVENT_STOPPED_DESTROYED
}

// Shutdown answers virDomainShutdown with os-stop.
func (h *Hypervisor) Shutdown(ctx context.Context, u UUID) error {
	return h.stop(ctx, u, 0, ShutoffShutdown) // VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN
}

func (h *Hypervisor) stop(ctx context.Context, u UUID, detail, reason int32) error {
	n, d, err := h.find(ctx, u)
	if err != nil {
		return err
	}
	if !d.State.Active() {
		return OperationInvalid("domain is not running")
	}
	h.mu.Lock()
	h.stopCause[u] = detail
	h.offReason[u] = reason
	h.mu.Unlock()
	if _, err := h.inv.PowerOff(ctx, n.ID); err != nil {
		h.mu.Lock()
		delete(h.stopCause, u)
		delete(h.offReason, u)
		h.mu.Unlock()
		return FromNodes(err)
	}
	return nil
}

// Reboot answers virDomainReboot with a SOFT reboot.
func (h *Hypervisor) Reboot(ctx context.Context, u UUID) error {
	return h.reboot(ctx, u, false)
}

// Reset answers virDomainReset with a HARD reboot.
func (h *Hypervisor) Reset(ctx context.Context, u UUID) error {
	return h.reboot(ctx, u, true)
}

func (h *Hypervisor) reboot(ctx context.Context, u UUID, hard bool) error {
	n, d, err := h.find(ctx, u)
	if err != nil {
		return err
	}
	if !d.State.Active() {
		return OperationInvalid("domain is not running")
	}
	if _, err := h.inv.Reboot(ctx, n.ID, hard); err != nil {
		return FromNodes(err)
	}
	return nil
}

// SetAutostart answers virDomainSetAutostart by recording the flag in the
// server's metadata (Nova has nothing it could switch).
func (h *Hypervisor) SetAutostart(ctx context.Context, u UUID, autostart bool) error {
	n, d, err := h.find(ctx, u)
	if err != nil {
		return err
	}
	if d.Autostart == autostart {
		return nil
	}
	value := ""
	if autostart {
		value = "1"
	}
	if _, err := h.inv.SetMetadata(ctx, n.ID, MetaAutostart, value); err != nil {
		return FromNodes(err)
	}
	return nil
}

// DefineXML answers virDomainDefineXML(Flags) for an existing domain: the
// only change the cloud can make is the boot device (server metadata, as OVB
// does). Anything else is refused, naming what cannot change.
func (h *Hypervisor) DefineXML(ctx context.Context, xml string, _ uint32) (Domain, error) {
	spec, err := ParseXML(xml)
	if err != nil {
		return Domain{}, err
	}
	v, err := h.current(ctx)
	if err != nil {
		return Domain{}, err
	}
	i, ok := v.byUUID[spec.UUID]
	if spec.UUID == (UUID{}) {
		i, ok = v.byName[spec.Name]
	}
	if !ok {
		return Domain{}, NoSupport("defining new domains (creating cloud servers) is not supported yet")
	}
	n, d := v.nodes[i], v.doms[i]
	current := h.specOf(n, d)
	changed := DiffSpec(current, spec)
	var refused []string
	bootChanged := false
	for _, c := range changed {
		if c == "boot device" {
			bootChanged = true
			continue
		}
		refused = append(refused, c)
	}
	if len(refused) > 0 {
		return Domain{}, ConfigUnsupported(fmt.Sprintf("cannot change %s of domain '%s' in the cloud; only the boot device can be changed", joinList(refused), d.Name))
	}
	if bootChanged {
		var dev nodes.BootDevice
		switch spec.BootDev {
		case BootNetwork:
			dev = nodes.BootNetwork
		case BootHD:
			dev = nodes.BootDisk
		default:
			return Domain{}, ConfigUnsupported(fmt.Sprintf("boot device '%s' is not supported by this cloud", spec.BootDev))
		}
		if err := h.inv.SetBootDevice(ctx, n.ID, dev); err != nil {
			return Domain{}, FromNodes(err)
		}
	}
	return h.LookupByUUID(ctx, d.UUID)
}

func joinList(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	out := items[0]
	for _, it := range items[1 : len(items)-1] {
		out += ", " + it
	}
	return out + " and " + items[len(items)-1]
}

// Undefine answers virDomainUndefine(Flags). Deleting a cloud server from a
// libvirt call is too destructive to do implicitly; it is refused for now.
func (h *Hypervisor) Undefine(ctx context.Context, u UUID, _ uint32) error {
	if _, _, err := h.find(ctx, u); err != nil {
		return err
	}
	return NoSupport("undefining a domain (deleting its cloud server) is not supported")
}

// Subscribe answers the event-callback registrations: lifecycle events of all
// domains, from any cause, until unsubscribe.
func (h *Hypervisor) Subscribe() (<-chan LifecycleEvent, func()) {
	ch := make(chan LifecycleEvent, h.cfg.EventBuffer)
	h.mu.Lock()
	id := h.nextSub
	h.nextSub++
	h.subs[id] = ch
	h.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			h.mu.Lock()
			delete(h.subs, id)
			h.mu.Unlock()
			close(ch)
		})
	}
}

// Subscribers is how many event subscriptions are open (clients listening
// for lifecycle events).
func (h *Hypervisor) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// Run turns inventory changes into lifecycle events until ctx ends. The
// caller owns the goroutine.
func (h *Hypervisor) Run(ctx context.Context) error {
	changes, unsubscribe := h.inv.Subscribe(1024)
	defer unsubscribe()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case c, ok := <-changes:
			if !ok {
				return nil
			}
			for _, ev := range h.eventsOf(ctx, c) {
				h.publish(ev)
			}
		}
	}
}

func (h *Hypervisor) publish(ev LifecycleEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, ch := range h.subs {
		select {
		case ch <- ev:
		default:
			h.log.Warn("event subscriber is behind; lifecycle event dropped", "subscriber", id, "domain", ev.Domain.Name)
		}
	}
}

// eventsOf maps one inventory change onto libvirt lifecycle events.
func (h *Hypervisor) eventsOf(ctx context.Context, c nodes.Change) []LifecycleEvent {
	named := func(n nodes.Node) (Domain, bool) {
		u, ok := parseUUID(n.ID)
		if !ok {
			return Domain{}, false
		}
		name := sanitizeName(n.Name)
		if v, err := h.current(ctx); err == nil {
			if i, ok := v.byUUID[u]; ok {
				name = v.doms[i].Name
			}
		}
		return domainOf(n, name, u), true
	}
	switch {
	case c.Added:
		d, ok := named(c.After)
		if !ok {
			return nil
		}
		return []LifecycleEvent{{Domain: d, Event: EventDefined, Detail: 0}} // ADDED
	case c.Removed:
		d, ok := named(c.Before)
		if !ok {
			return nil
		}
		d.ID = -1
		return []LifecycleEvent{{Domain: d, Event: EventUndefined, Detail: 0}} // REMOVED
	}
	before, ok := named(c.Before)
	if !ok {
		return nil
	}
	after, _ := named(c.After)
	was, is := before.State, after.State
	if was == is {
		return nil
	}
	switch {
	case !was.Active() && is.Active():
		return []LifecycleEvent{{Domain: after, Event: EventStarted, Detail: 0}} // BOOTED
	case was.Active() && !is.Active():
		detail := int32(0) // SHUTDOWN: the guest or the cloud stopped it
		h.mu.Lock()
		if cause, ok := h.stopCause[after.UUID]; ok {
			detail = cause
			delete(h.stopCause, after.UUID)
		}
		h.mu.Unlock()
		if is == StateCrashed {
			return []LifecycleEvent{{Domain: after, Event: EventCrashed, Detail: 0}}
		}
		return []LifecycleEvent{{Domain: after, Event: EventStopped, Detail: detail}}
	case is == StatePaused:
		return []LifecycleEvent{{Domain: after, Event: EventSuspended, Detail: 0}}
	case was == StatePaused && is == StateRunning:
		return []LifecycleEvent{{Domain: after, Event: EventResumed, Detail: 0}}
	case is == StateShutdown:
		return []LifecycleEvent{{Domain: after, Event: EventShutdown, Detail: 0}}
	case is == StatePMSuspended:
		return []LifecycleEvent{{Domain: after, Event: EventPMSuspended, Detail: 0}}
	}
	return nil
}
