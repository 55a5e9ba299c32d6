package network

import (
	"cmp"
	"context"
	"log/slog"
	"regexp"
	"slices"
	"sync"
	"time"

	"quintupleo/internal/pubsub"
	"quintupleo/nodes/neutron"
	"quintupleo/virt"
)

// Cloud is what the driver needs of Neutron (nodes/neutron.Client).
type Cloud interface {
	List(ctx context.Context) ([]neutron.Network, error)
	CreateNetwork(ctx context.Context, spec neutron.NetworkSpec) (string, error)
	CreateSubnet(ctx context.Context, spec neutron.SubnetSpec) (string, error)
	SetAdminUp(ctx context.Context, id string, up bool) error
	DeleteNetwork(ctx context.Context, id string) error
	Ports(ctx context.Context, networkID string) ([]neutron.Port, error)
}

// Config tunes the driver.
type Config struct {
	Logger *slog.Logger
	// TTL is how old a listing may be when a call reads it; 0 = 2s.
	TTL time.Duration
	// PollInterval is how often the networks are listed while a client
	// listens for network events; 0 = 2s.
	PollInterval time.Duration
	// NameRegex, when set, keeps only the networks whose cloud name matches.
	NameRegex *regexp.Regexp
	// AllowForeign lets net-start, net-destroy and net-undefine change
	// networks quintupleo did not create (other people's networks, the
	// provisioning network); false refuses with VIR_ERR_OPERATION_DENIED.
	AllowForeign bool
	// Timeout bounds the clean-up of a half-made define (the caller's
	// context may be why it failed); 0 = 1 minute.
	Timeout time.Duration
}

// Network is one network as libvirt sees it.
type Network struct {
	Name       string
	UUID       virt.UUID
	Active     bool
	Persistent bool
	Autostart  bool
	Ours       bool // quintupleo created it (net-define or net-create)
	Cloud      neutron.Network
}

// Event is a network lifecycle event.
type Event struct {
	Network Network
	Type    virt.NetworkEventType
}

// Driver is the network driver.
type Driver struct {
	cloud  Cloud
	cfg    Config
	log    *slog.Logger
	events *pubsub.Hub[Event]

	listMu sync.Mutex // one listing at a time; guards nothing else
	mu     sync.Mutex // guards view and gen
	view   *view
	// gen counts invalidations (our own changes). A listing that started
	// before the latest one may predate the change, so it is never taken
	// as fresh: without this, a poll in flight during net-start stored the
	// network as still inactive and the next net-destroy was refused.
	gen uint64
}

// view is one listing, named.
type view struct {
	at     time.Time
	gen    uint64 // Driver.gen when the listing started
	nets   []Network
	byName map[string]int
	byUUID map[virt.UUID]int
}

// New returns a driver over cloud.
func New(cloud Cloud, cfg Config) *Driver {
	cfg.TTL = cmp.Or(cfg.TTL, 2*time.Second)
	cfg.PollInterval = cmp.Or(cfg.PollInterval, 2*time.Second)
	cfg.Timeout = cmp.Or(cfg.Timeout, time.Minute)
	log := cmp.Or(cfg.Logger, slog.Default())
	d := &Driver{cloud: cloud, cfg: cfg, log: log}
	d.events = pubsub.New(256, func(sub int, ev Event) {
		log.Warn("network event dropped: subscriber behind", "subscriber", sub, "network", ev.Network.Name, "event", ev.Type)
	})
	return d
}

// current returns a view no older than the TTL, listing the cloud if needed.
func (d *Driver) current(ctx context.Context) (*view, error) {
	d.mu.Lock()
	v := d.view
	d.mu.Unlock()
	if v != nil && time.Since(v.at) < d.cfg.TTL {
		return v, nil
	}
	return d.refresh(ctx, v)
}

// refresh lists the cloud unless someone else listed since seen was read,
// stores the new view and publishes what changed.
func (d *Driver) refresh(ctx context.Context, seen *view) (*view, error) {
	d.listMu.Lock()
	defer d.listMu.Unlock()
	d.mu.Lock()
	if d.view != seen && d.view != nil && d.view.gen == d.gen {
		v := d.view
		d.mu.Unlock()
		return v, nil
	}
	gen := d.gen
	d.mu.Unlock()
	start := time.Now()
	list, err := d.cloud.List(ctx)
	if err != nil {
		return nil, fromCloud(err)
	}
	v := d.build(list, start)
	v.gen = gen
	d.mu.Lock()
	if d.gen != gen {
		v.at = time.Time{} // a change of ours happened while listing: read again
	}
	old := d.view
	d.view = v
	d.mu.Unlock()
	if old != nil {
		for _, ev := range diff(old, v) {
			d.events.Publish(ev)
		}
	}
	return v, nil
}

// invalidate makes the next read list the cloud again (after our changes).
func (d *Driver) invalidate() *view {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.gen++
	if d.view != nil {
		stale := *d.view
		stale.at = time.Time{}
		d.view = &stale
	}
	return d.view
}

// build names the visible networks of one listing.
func (d *Driver) build(list []neutron.Network, at time.Time) *view {
	list = slices.DeleteFunc(list, func(n neutron.Network) bool {
		_, ok := virt.ParseUUID(n.ID)
		return !ok || d.cfg.NameRegex != nil && !d.cfg.NameRegex.MatchString(n.Name)
	})
	names, ids := make([]string, len(list)), make([]string, len(list))
	for i, n := range list {
		names[i], ids[i] = n.Name, n.ID
	}
	libvirtNames := virt.UniqueNames(names, ids, "network")
	v := &view{at: at, byName: map[string]int{}, byUUID: map[virt.UUID]int{}}
	for i, n := range list {
		u, _ := virt.ParseUUID(n.ID)
		mark := markOf(n.Description)
		v.nets = append(v.nets, Network{Name: libvirtNames[i], UUID: u, Active: n.AdminUp,
			Persistent: mark != markTransient, Autostart: mark != markTransient,
			Ours: mark != markNone, Cloud: n})
		v.byName[libvirtNames[i]] = i
		v.byUUID[u] = i
	}
	return v
}

// diff is the lifecycle events from old to new.
func diff(old, cur *view) []Event {
	var out []Event
	for _, n := range cur.nets {
		i, ok := old.byUUID[n.UUID]
		switch {
		case !ok:
			out = append(out, Event{n, virt.NetworkEventDefined})
			if n.Active {
				out = append(out, Event{n, virt.NetworkEventStarted})
			}
		case !old.nets[i].Active && n.Active:
			out = append(out, Event{n, virt.NetworkEventStarted})
		case old.nets[i].Active && !n.Active:
			out = append(out, Event{n, virt.NetworkEventStopped})
		}
	}
	for _, n := range old.nets {
		if _, ok := cur.byUUID[n.UUID]; !ok {
			if n.Active {
				out = append(out, Event{n, virt.NetworkEventStopped})
			}
			out = append(out, Event{n, virt.NetworkEventUndefined})
		}
	}
	return out
}

// List is virConnectListAllNetworks.
func (d *Driver) List(ctx context.Context, flags virt.NetworkListFlags) ([]Network, error) {
	v, err := d.current(ctx)
	if err != nil {
		return nil, err
	}
	var out []Network
	for _, n := range v.nets {
		if matches(n, flags) {
			out = append(out, n)
		}
	}
	return out, nil
}

// matches applies libvirt's filter groups: within a group the flags are
// alternatives, absent groups do not filter.
func matches(n Network, f virt.NetworkListFlags) bool {
	group := func(yes, no virt.NetworkListFlags, is bool) bool {
		if f&(yes|no) == 0 {
			return true
		}
		return is && f&yes != 0 || !is && f&no != 0
	}
	return group(virt.NetListActive, virt.NetListInactive, n.Active) &&
		group(virt.NetListPersistent, virt.NetListTransient, n.Persistent) &&
		group(virt.NetListAutostart, virt.NetListNoAutostart, n.Autostart)
}

// LookupByName is virNetworkLookupByName.
func (d *Driver) LookupByName(ctx context.Context, name string) (Network, error) {
	v, err := d.current(ctx)
	if err != nil {
		return Network{}, err
	}
	if i, ok := v.byName[name]; ok {
		return v.nets[i], nil
	}
	return Network{}, virt.NoNetwork("no network with matching name '" + name + "'")
}

// LookupByUUID is virNetworkLookupByUUID.
func (d *Driver) LookupByUUID(ctx context.Context, u virt.UUID) (Network, error) {
	v, err := d.current(ctx)
	if err != nil {
		return Network{}, err
	}
	if i, ok := v.byUUID[u]; ok {
		return v.nets[i], nil
	}
	return Network{}, virt.NoNetwork("no network with matching uuid '" + u.String() + "'")
}

// XMLDesc is virNetworkGetXMLDesc.
func (d *Driver) XMLDesc(ctx context.Context, u virt.UUID, flags uint32) (string, error) {
	n, err := d.LookupByUUID(ctx, u)
	if err != nil {
		return "", err
	}
	return renderXML(n), nil
}

// BridgeName is virNetworkGetBridgeName: a cloud network has no bridge on
// this host, so the name is empty. (libvirt fails for a network without a
// bridge, but clients such as Ansible's virt_net then fail to report the
// network at all; an empty name says the same without breaking them.)
func (d *Driver) BridgeName(ctx context.Context, u virt.UUID) (string, error) {
	if _, err := d.LookupByUUID(ctx, u); err != nil {
		return "", err
	}
	return "", nil
}

// NetworkName is the libvirt name of the network a Nova server's address
// list names cloudName (the key of Nova's `addresses`), for a domain's
// <source network='…'/>. When several visible networks carry that cloud
// name Nova's key cannot tell which, and the sanitised cloud name is
// returned (docs/semantics.md, "Networks"). It answers from the current
// view only, never listing: domain XML must not wait on Neutron.
func (d *Driver) NetworkName(cloudName string) string {
	d.mu.Lock()
	v := d.view
	d.mu.Unlock()
	if v != nil {
		found := -1
		for i, n := range v.nets {
			if n.Cloud.Name == cloudName {
				if found >= 0 {
					found = -2
					break
				}
				found = i
			}
		}
		if found >= 0 {
			return v.nets[found].Name
		}
	}
	return virt.SanitizeName(cloudName, "network")
}

// Subscribe delivers network lifecycle events until unsubscribe.
func (d *Driver) Subscribe() (<-chan Event, func()) { return d.events.Subscribe() }

// Run lists the networks every PollInterval while anyone listens for
// network events, so that changes made elsewhere become events.
func (d *Driver) Run(ctx context.Context) error {
	t := time.NewTicker(d.cfg.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			if d.events.Len() == 0 {
				continue
			}
			d.mu.Lock()
			v := d.view
			d.mu.Unlock()
			if _, err := d.refresh(ctx, v); err != nil && ctx.Err() == nil {
				d.log.Warn("listing networks for events", "err", err)
			}
		}
	}
}
