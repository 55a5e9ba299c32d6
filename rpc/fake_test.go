package rpc_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"

	"quintupleo/translate"
)

// fakeBackend is an in-memory hypervisor for protocol tests: a few domains
// with libvirt semantics good enough for virsh, and lifecycle events for
// every change.
type fakeBackend struct {
	mu     sync.Mutex // guards the fields below
	doms   []*translate.Domain
	nextID int32
	subs   map[chan translate.LifecycleEvent]struct{}
	// block, when set, makes the next Start wait for it to close (to test
	// that a slow call blocks nobody else).
	block   chan struct{}
	started chan struct{} // closed when a blocked Start begins waiting
	// subscribed, when set, receives a value on every Subscribe.
	subscribed chan struct{}
}

func newFakeBackend() *fakeBackend {
	b := &fakeBackend{nextID: 1, subs: map[chan translate.LifecycleEvent]struct{}{}}
	b.add("node-0", "11111111-2222-3333-4444-555555555555", true)
	b.add("node-1", "22222222-2222-3333-4444-555555555555", false)
	b.add("node-2", "33333333-2222-3333-4444-555555555555", false)
	return b
}

func (b *fakeBackend) add(name, id string, running bool) {
	d := &translate.Domain{
		Name: name, UUID: mustUUID(id), ID: -1,
		State: translate.StateShutoff, Reason: 1, // SHUTOFF_SHUTDOWN
		MaxMemoryKiB: 2097152, MemoryKiB: 2097152, VCPUs: 2, Persistent: true,
	}
	if running {
		d.ID, d.State, d.Reason = b.nextID, translate.StateRunning, 1
		d.CPUTimeNs = 1500000000
		b.nextID++
	}
	b.doms = append(b.doms, d)
}

func (b *fakeBackend) Type() string       { return "QEMU" }
func (b *fakeBackend) Version() uint64    { return 7002000 }
func (b *fakeBackend) LibVersion() uint64 { return 9000000 }
func (b *fakeBackend) Hostname(ctx context.Context) (string, error) {
	return "cloudhost", nil
}
func (b *fakeBackend) Capabilities(ctx context.Context) (string, error) {
	return "<capabilities>\n  <host>\n    <cpu>\n      <arch>x86_64</arch>\n    </cpu>\n  </host>\n</capabilities>\n", nil
}
func (b *fakeBackend) NodeInfo(ctx context.Context) (translate.NodeInfo, error) {
	return translate.NodeInfo{Model: "x86_64", Memory: 16777216, CPUs: 8, MHz: 2400, Nodes: 1, Sockets: 1, Cores: 8, Threads: 1}, nil
}

func (b *fakeBackend) ListDomains(ctx context.Context, flags translate.ListFlags) ([]translate.Domain, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []translate.Domain
	for _, d := range b.doms {
		if d.Matches(flags) {
			out = append(out, *d)
		}
	}
	return out, nil
}

func (b *fakeBackend) find(pred func(*translate.Domain) bool) *translate.Domain {
	for _, d := range b.doms {
		if pred(d) {
			return d
		}
	}
	return nil
}

func (b *fakeBackend) LookupByName(ctx context.Context, name string) (translate.Domain, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if d := b.find(func(d *translate.Domain) bool { return d.Name == name }); d != nil {
		return *d, nil
	}
	return translate.Domain{}, translate.NoDomainName(name)
}

func (b *fakeBackend) LookupByUUID(ctx context.Context, u translate.UUID) (translate.Domain, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if d := b.find(func(d *translate.Domain) bool { return d.UUID == u }); d != nil {
		return *d, nil
	}
	return translate.Domain{}, translate.NoDomainUUID(uuidString(u))
}

func (b *fakeBackend) LookupByID(ctx context.Context, id int32) (translate.Domain, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if d := b.find(func(d *translate.Domain) bool { return id > 0 && d.ID == id }); d != nil {
		return *d, nil
	}
	return translate.Domain{}, translate.NoDomainID(id)
}

func (b *fakeBackend) XMLDesc(ctx context.Context, u translate.UUID, flags uint32) (string, error) {
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
	fmt.Fprintf(&x, "  <name>%s</name>\n  <uuid>%s</uuid>\n", d.Name, uuidString(d.UUID))
	fmt.Fprintf(&x, "  <memory unit='KiB'>%d</memory>\n  <currentMemory unit='KiB'>%d</currentMemory>\n", d.MaxMemoryKiB, d.MemoryKiB)
	fmt.Fprintf(&x, "  <vcpu placement='static'>%d</vcpu>\n", d.VCPUs)
	x.WriteString("  <os>\n    <type arch='x86_64' machine='pc'>hvm</type>\n    <boot dev='network'/>\n  </os>\n")
	x.WriteString("  <devices>\n    <interface type='network'>\n      <mac address='52:54:00:aa:bb:cc'/>\n      <source network='provision'/>\n      <model type='virtio'/>\n    </interface>\n  </devices>\n")
	x.WriteString("</domain>\n")
	return x.String(), nil
}

// change applies f to the domain and emits the event it returns.
func (b *fakeBackend) change(u translate.UUID, f func(d *translate.Domain) (event, detail int32, err error)) (translate.Domain, error) {
	b.mu.Lock()
	d := b.find(func(d *translate.Domain) bool { return d.UUID == u })
	if d == nil {
		b.mu.Unlock()
		return translate.Domain{}, translate.NoDomainUUID(uuidString(u))
	}
	ev, detail, err := f(d)
	if err != nil {
		b.mu.Unlock()
		return translate.Domain{}, err
	}
	out := *d
	subs := make([]chan translate.LifecycleEvent, 0, len(b.subs))
	for ch := range b.subs {
		subs = append(subs, ch)
	}
	b.mu.Unlock()
	if ev >= 0 {
		for _, ch := range subs {
			select {
			case ch <- translate.LifecycleEvent{Domain: out, Event: ev, Detail: detail}:
			default: // a slow subscriber loses the event
			}
		}
	}
	return out, nil
}

// Emit sends an event as if the cloud changed a domain behind our back.
func (b *fakeBackend) Emit(name string, event, detail int32) {
	d, _ := b.LookupByName(context.Background(), name)
	b.change(d.UUID, func(*translate.Domain) (int32, int32, error) { return event, detail, nil })
}

func (b *fakeBackend) Start(ctx context.Context, u translate.UUID) (translate.Domain, error) {
	b.mu.Lock()
	block, started := b.block, b.started
	b.block, b.started = nil, nil
	b.mu.Unlock()
	if block != nil {
		close(started)
		select {
		case <-block:
		case <-ctx.Done():
			return translate.Domain{}, ctx.Err()
		}
	}
	return b.change(u, func(d *translate.Domain) (int32, int32, error) {
		if d.State.Active() {
			return 0, 0, translate.OperationInvalid("domain is already running")
		}
		d.ID, d.State, d.Reason = b.nextID, translate.StateRunning, 1
		b.nextID++
		return translate.EventStarted, 0, nil
	})
}

func (b *fakeBackend) stop(u translate.UUID, reason int32, detail int32) error {
	_, err := b.change(u, func(d *translate.Domain) (int32, int32, error) {
		if !d.State.Active() {
			return 0, 0, translate.OperationInvalid("domain is not running")
		}
		d.ID, d.State, d.Reason = -1, translate.StateShutoff, reason
		return translate.EventStopped, detail, nil
	})
	return err
}

func (b *fakeBackend) Destroy(ctx context.Context, u translate.UUID) error {
	return b.stop(u, 2, 1) // SHUTOFF_DESTROYED, STOPPED_DESTROYED
}
func (b *fakeBackend) Shutdown(ctx context.Context, u translate.UUID) error {
	return b.stop(u, 1, 0) // SHUTOFF_SHUTDOWN, STOPPED_SHUTDOWN
}
func (b *fakeBackend) Reboot(ctx context.Context, u translate.UUID) error {
	_, err := b.change(u, func(d *translate.Domain) (int32, int32, error) {
		if !d.State.Active() {
			return 0, 0, translate.OperationInvalid("domain is not running")
		}
		return -1, 0, nil
	})
	return err
}
func (b *fakeBackend) Reset(ctx context.Context, u translate.UUID) error { return b.Reboot(ctx, u) }
func (b *fakeBackend) SetAutostart(ctx context.Context, u translate.UUID, on bool) error {
	_, err := b.change(u, func(d *translate.Domain) (int32, int32, error) { d.Autostart = on; return -1, 0, nil })
	return err
}
func (b *fakeBackend) DefineXML(ctx context.Context, xml string, flags uint32) (translate.Domain, error) {
	return translate.Domain{}, translate.NoSupport("virDomainDefineXML")
}
func (b *fakeBackend) Undefine(ctx context.Context, u translate.UUID, flags uint32) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	i := slices.IndexFunc(b.doms, func(d *translate.Domain) bool { return d.UUID == u })
	if i < 0 {
		return translate.NoDomainUUID(uuidString(u))
	}
	b.doms = slices.Delete(b.doms, i, i+1)
	return nil
}

func (b *fakeBackend) Subscribe() (<-chan translate.LifecycleEvent, func()) {
	ch := make(chan translate.LifecycleEvent, 16)
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	notify := b.subscribed
	b.mu.Unlock()
	if notify != nil {
		notify <- struct{}{}
	}
	return ch, func() {
		b.mu.Lock()
		delete(b.subs, ch)
		b.mu.Unlock()
	}
}

// subscribers reports how many subscriptions are live.
func (b *fakeBackend) subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

func mustUUID(s string) translate.UUID {
	var u translate.UUID
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != len(u) {
		panic("bad uuid " + s)
	}
	copy(u[:], b)
	return u
}

func uuidString(u translate.UUID) string {
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
