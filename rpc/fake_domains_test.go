package rpc_test

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"quintupleo/driver/domain"
	"quintupleo/internal/pubsub"
	"quintupleo/virt"
)

// fakeDomains is the domain family for protocol tests: a few domains with
// libvirt semantics good enough for virsh, and lifecycle events for every
// change. It keeps rpc.Domains' contract as driver/domain does: events go
// through the same pubsub hub (unsubscribe closes the channel), and
// Undefine refuses as the real driver does.
type fakeDomains struct {
	events *pubsub.Hub[domain.Event]

	mu     sync.Mutex // guards the fields below
	doms   []*domain.Domain
	nextID int32
	// block, when set, makes the next Start wait for it to close (to test
	// that a slow call blocks nobody else).
	block   chan struct{}
	started chan struct{} // closed when a blocked Start begins waiting
	// subscribed, when set, receives a value on every Subscribe.
	subscribed chan struct{}
}

func newFakeDomains() *fakeDomains {
	b := &fakeDomains{nextID: 1, events: pubsub.New[domain.Event](16, nil)}
	b.add("node-0", "11111111-2222-3333-4444-555555555555", true)
	b.add("node-1", "22222222-2222-3333-4444-555555555555", false)
	b.add("node-2", "33333333-2222-3333-4444-555555555555", false)
	return b
}

func (b *fakeDomains) add(name, id string, running bool) {
	d := &domain.Domain{
		Name: name, UUID: mustUUID(id), ID: -1,
		State: virt.StateShutoff, Reason: virt.ShutoffShutdown,
		MaxMemoryKiB: 2097152, MemoryKiB: 2097152, VCPUs: 2, Persistent: true,
	}
	if running {
		d.ID, d.State, d.Reason = b.nextID, virt.StateRunning, virt.RunningBooted
		d.CPUTimeNs = 1500000000
		b.nextID++
	}
	b.doms = append(b.doms, d)
}

func (b *fakeDomains) List(ctx context.Context, flags virt.ListFlags) ([]domain.Domain, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []domain.Domain
	for _, d := range b.doms {
		if d.Matches(flags) {
			out = append(out, *d)
		}
	}
	return out, nil
}

func (b *fakeDomains) find(pred func(*domain.Domain) bool) *domain.Domain {
	for _, d := range b.doms {
		if pred(d) {
			return d
		}
	}
	return nil
}

func (b *fakeDomains) LookupByName(ctx context.Context, name string) (domain.Domain, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if d := b.find(func(d *domain.Domain) bool { return d.Name == name }); d != nil {
		return *d, nil
	}
	return domain.Domain{}, domain.NoDomainName(name)
}

func (b *fakeDomains) LookupByUUID(ctx context.Context, u virt.UUID) (domain.Domain, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if d := b.find(func(d *domain.Domain) bool { return d.UUID == u }); d != nil {
		return *d, nil
	}
	return domain.Domain{}, domain.NoDomainUUID(u)
}

func (b *fakeDomains) LookupByID(ctx context.Context, id int32) (domain.Domain, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if d := b.find(func(d *domain.Domain) bool { return id > 0 && d.ID == id }); d != nil {
		return *d, nil
	}
	return domain.Domain{}, domain.NoDomainID(id)
}

func (b *fakeDomains) XMLDesc(ctx context.Context, u virt.UUID, flags uint32) (string, error) {
	d, err := b.LookupByUUID(ctx, u)
	if err != nil {
		return "", err
	}
	id := ""
	if d.ID > 0 {
		id = fmt.Sprintf(" id='%d'", d.ID)
	}
	var x strings.Builder
	fmt.Fprintf(&x, "<domain type='kvm'%s>\n", id)
	fmt.Fprintf(&x, "  <name>%s</name>\n  <uuid>%s</uuid>\n", d.Name, d.UUID)
	fmt.Fprintf(&x, "  <memory unit='KiB'>%d</memory>\n  <currentMemory unit='KiB'>%d</currentMemory>\n", d.MaxMemoryKiB, d.MemoryKiB)
	fmt.Fprintf(&x, "  <vcpu placement='static'>%d</vcpu>\n", d.VCPUs)
	x.WriteString("  <os>\n    <type arch='x86_64' machine='pc'>hvm</type>\n    <boot dev='network'/>\n  </os>\n")
	x.WriteString("  <devices>\n    <interface type='network'>\n      <mac address='52:54:00:aa:bb:cc'/>\n      <source network='provision'/>\n      <model type='virtio'/>\n    </interface>\n  </devices>\n")
	x.WriteString("</domain>\n")
	return x.String(), nil
}

// noEvent is what a change returns when it emits no event.
const noEvent virt.EventType = -1

// change applies f to the domain and emits the event it returns.
func (b *fakeDomains) change(u virt.UUID, f func(d *domain.Domain) (virt.EventType, int32, error)) (domain.Domain, error) {
	b.mu.Lock()
	d := b.find(func(d *domain.Domain) bool { return d.UUID == u })
	if d == nil {
		b.mu.Unlock()
		return domain.Domain{}, domain.NoDomainUUID(u)
	}
	ev, detail, err := f(d)
	out := *d
	b.mu.Unlock()
	if err != nil {
		return domain.Domain{}, err
	}
	if ev != noEvent {
		b.events.Publish(domain.Event{Domain: out, Type: ev, Detail: detail})
	}
	return out, nil
}

// Emit sends an event as if the cloud changed a domain behind our back.
func (b *fakeDomains) Emit(name string, event virt.EventType, detail int32) {
	d, _ := b.LookupByName(context.Background(), name)
	b.change(d.UUID, func(*domain.Domain) (virt.EventType, int32, error) { return event, detail, nil })
}

func (b *fakeDomains) Start(ctx context.Context, u virt.UUID) (domain.Domain, error) {
	b.mu.Lock()
	block, started := b.block, b.started
	b.block, b.started = nil, nil
	b.mu.Unlock()
	if block != nil {
		close(started)
		select {
		case <-block:
		case <-ctx.Done():
			return domain.Domain{}, ctx.Err()
		}
	}
	return b.change(u, func(d *domain.Domain) (virt.EventType, int32, error) {
		if d.State.Active() {
			return 0, 0, domain.AlreadyRunning()
		}
		d.ID, d.State, d.Reason = b.nextID, virt.StateRunning, virt.RunningBooted
		b.nextID++
		return virt.EventStarted, virt.StartedBooted, nil
	})
}

func (b *fakeDomains) stop(u virt.UUID, reason int32, detail int32) error {
	_, err := b.change(u, func(d *domain.Domain) (virt.EventType, int32, error) {
		if !d.State.Active() {
			return 0, 0, domain.NotRunning()
		}
		d.ID, d.State, d.Reason = -1, virt.StateShutoff, reason
		return virt.EventStopped, detail, nil
	})
	return err
}

func (b *fakeDomains) Destroy(ctx context.Context, u virt.UUID) error {
	return b.stop(u, virt.ShutoffDestroyed, virt.StoppedDestroyed)
}
func (b *fakeDomains) Shutdown(ctx context.Context, u virt.UUID) error {
	return b.stop(u, virt.ShutoffShutdown, virt.StoppedShutdown)
}
func (b *fakeDomains) Reboot(ctx context.Context, u virt.UUID) error {
	_, err := b.change(u, func(d *domain.Domain) (virt.EventType, int32, error) {
		if !d.State.Active() {
			return 0, 0, domain.NotRunning()
		}
		return noEvent, 0, nil
	})
	return err
}
func (b *fakeDomains) Reset(ctx context.Context, u virt.UUID) error { return b.Reboot(ctx, u) }
func (b *fakeDomains) SetAutostart(ctx context.Context, u virt.UUID, on bool) error {
	_, err := b.change(u, func(d *domain.Domain) (virt.EventType, int32, error) { d.Autostart = on; return noEvent, 0, nil })
	return err
}
func (b *fakeDomains) DefineXML(ctx context.Context, xml string, flags uint32) (domain.Domain, error) {
	return domain.Domain{}, virt.NoSupport(virt.FromQEMU, "defining new domains (creating cloud servers) is not supported yet")
}
func (b *fakeDomains) CreateXML(ctx context.Context, xml string, flags uint32) (domain.Domain, error) {
	return domain.Domain{}, virt.NoSupport(virt.FromQEMU, "creating domains (cloud servers) is not supported")
}

// Undefine refuses, as driver/domain does (it would delete a cloud server).
func (b *fakeDomains) Undefine(ctx context.Context, u virt.UUID, flags uint32) error {
	if _, err := b.LookupByUUID(ctx, u); err != nil {
		return err
	}
	return virt.NoSupport(virt.FromQEMU, "undefining a domain (deleting its cloud server) is not supported")
}

func (b *fakeDomains) Subscribe() (<-chan domain.Event, func()) {
	ch, unsubscribe := b.events.Subscribe()
	b.mu.Lock()
	notify := b.subscribed
	b.mu.Unlock()
	if notify != nil {
		notify <- struct{}{}
	}
	return ch, unsubscribe
}

// subscribers reports how many subscriptions are live.
func (b *fakeDomains) subscribers() int { return b.events.Len() }

func mustUUID(s string) virt.UUID {
	u, ok := virt.ParseUUID(s)
	if !ok {
		panic("bad uuid " + s)
	}
	return u
}
