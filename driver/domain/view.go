package domain

import (
	"context"

	"quintupleo/nodes"
	"quintupleo/virt"
)

// view is the domain index derived from one generation of the inventory.
// nodes and doms are aligned index for index. A view is never modified
// after it is built; the maps may be shared with the next view.
type view struct {
	gen    uint64
	nodes  []nodes.Node
	doms   []Domain
	byUUID map[virt.UUID]int
	byName map[string]int
	byID   map[int32]int
}

// current returns the index for the inventory's present generation,
// rebuilding it only when the inventory changed.
func (h *Driver) current(ctx context.Context) (*view, error) {
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
	v := h.buildView(ns, gen)
	if h.view != nil {
		h.rememberDeparted(h.view, v)
	}
	h.view = v
	return v, nil
}

// rememberDeparted keeps the names of old's domains that v no longer has,
// for their UNDEFINED events. h.mu must be held.
func (h *Driver) rememberDeparted(old, v *view) {
	for i, d := range old.doms {
		if _, ok := v.byUUID[d.UUID]; ok {
			continue
		}
		if len(h.departed) >= h.inv.Config().ChangeBuffer {
			for u := range h.departed { // drop any one: its event is long lost
				delete(h.departed, u)
				break
			}
		}
		h.departed[d.UUID] = old.doms[i].Name
	}
}

// departedName is the name the view gave a domain that has left it, if it
// had one. forget drops it (its UNDEFINED event has it); events of the
// domain's last state changes, processed after it left, still need it.
func (h *Driver) departedName(u virt.UUID, forget bool) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	name, ok := h.departed[u]
	if forget {
		delete(h.departed, u)
	}
	return name, ok
}

// buildView indexes ns from scratch. h.mu must be held.
func (h *Driver) buildView(ns []nodes.Node, gen uint64) *view {
	v := &view{gen: gen, byUUID: make(map[virt.UUID]int, len(ns)), byName: make(map[string]int, len(ns)),
		byID: map[int32]int{}}
	names := assignNames(ns)
	for i, n := range ns {
		u, ok := domainUUID(n)
		if !ok {
			h.log.Warn("server id is not a UUID; not shown as a domain", "id", n.ID)
			continue
		}
		d := domainOf(n, names[i], u)
		idx := len(v.doms)
		v.nodes = append(v.nodes, n)
		v.doms = append(v.doms, d)
		v.byUUID[u] = idx
		v.byName[d.Name] = idx
		if d.ID > 0 {
			v.byID[d.ID] = idx
		}
	}
	return v
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
// indexes are shared.
func (h *Driver) refreshView(old *view, ns []nodes.Node, gen uint64) *view {
	v := &view{gen: gen, nodes: ns, doms: make([]Domain, len(ns)),
		byUUID: old.byUUID, byName: old.byName, byID: make(map[int32]int, len(old.byID))}
	for i, n := range ns {
		d := domainOf(n, old.doms[i].Name, old.doms[i].UUID)
		v.doms[i] = d
		if d.ID > 0 {
			v.byID[d.ID] = i
		}
	}
	return v
}

// domainOf is the libvirt domain of a node.
func domainOf(n nodes.Node, name string, u virt.UUID) Domain {
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
		Persistent:   !isTransient(n),
	}
	if state.Active() {
		d.ID = runningID(n)
	}
	return withReason(d, n)
}

// ListVersion is the generation of the domain view: List answers the same
// for the same flags until it changes (rpc's encoded-reply cache relies on
// it: whatever the list flags test must change only with the generation).
func (h *Driver) ListVersion(ctx context.Context) (uint64, error) {
	v, err := h.current(ctx)
	if err != nil {
		return 0, err
	}
	return v.gen, nil
}

// List answers virConnectListAllDomains.
func (h *Driver) List(ctx context.Context, flags virt.ListFlags) ([]Domain, error) {
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

// Capacity is the cloud's nodes summed up, for the host driver's model:
// every domain's memory (KiB) and vCPUs, and the memory of the active ones.
func (h *Driver) Capacity(ctx context.Context) (memoryKiB, activeKiB uint64, vcpus int32, err error) {
	v, err := h.current(ctx)
	if err != nil {
		return 0, 0, 0, err
	}
	for _, d := range v.doms {
		memoryKiB += d.MaxMemoryKiB
		vcpus += int32(d.VCPUs)
		if d.State.Active() {
			activeKiB += d.MaxMemoryKiB
		}
	}
	return memoryKiB, activeKiB, vcpus, nil
}

// LookupByName answers virDomainLookupByName.
func (h *Driver) LookupByName(ctx context.Context, name string) (Domain, error) {
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
func (h *Driver) LookupByUUID(ctx context.Context, u virt.UUID) (Domain, error) {
	_, d, err := h.find(ctx, u)
	return d, err
}

// LookupByID answers virDomainLookupByID.
func (h *Driver) LookupByID(ctx context.Context, id int32) (Domain, error) {
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

func (h *Driver) find(ctx context.Context, u virt.UUID) (nodes.Node, Domain, error) {
	v, err := h.current(ctx)
	if err != nil {
		return nodes.Node{}, Domain{}, err
	}
	i, ok := v.byUUID[u]
	if !ok {
		return nodes.Node{}, Domain{}, NoDomainUUID(u)
	}
	return v.nodes[i], v.doms[i], nil
}
