package nodes

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"

	"quintupleo/nodes/cloudcall"
)

// Provisioning: a libvirt define of a new domain creates a server that is
// left SHUTOFF, and undefine deletes it. Every resource a creation makes is
// removed again if a later step fails, so a failed call leaves the cloud as
// it found it.

// More sentinels, for creation.
var (
	// ErrExists: a server with that name exists (or won a concurrent
	// creation of the same name).
	ErrExists = errors.New("already exists")
	// ErrRefused: the cloud refused the request itself (400, 403, 409 on a
	// create): a flavor, image or network it does not have, a MAC its
	// policy does not let us choose or that is in use. Reason is its message.
	ErrRefused = errors.New("refused by the cloud")
)

// PortNamePrefix marks the Neutron ports quintupleo creates for a server
// ("quintupleo:<server name>:<index>"): undefine deletes exactly those, because
// Nova leaves a port passed in at create time behind when it deletes the
// server.
const PortNamePrefix = "quintupleo:"

// CreateSpec is a server to create.
type CreateSpec struct {
	Name string
	// Flavor names or IDs the flavor; "" = the smallest that has RAMMiB,
	// VCPUs and DiskGiB (in that order of preference).
	Flavor        string
	RAMMiB, VCPUs int
	DiskGiB       int
	Image         string // name or ID; "" = ProvisionConfig.Image
	// BootVolume, when set, is the Cinder volume the server boots from
	// (block_device_mapping_v2, boot_index 0) instead of Image.
	BootVolume string
	Ports      []PortSpec
	Metadata   map[string]string
	// Run leaves the server running (libvirt's create of a transient
	// domain): Create returns once it is ACTIVE instead of stopping it.
	Run bool
}

// PortSpec is one NIC: a port on Network (a name as the domain XML has it,
// mapped by ProvisionConfig; "" = the default network) with MAC ("" = the
// cloud picks).
type PortSpec struct {
	Network string
	MAC     string
}

// ProvisionConfig tunes a Provisioner.
type ProvisionConfig struct {
	Flavor         string            // --define-flavor: always this flavor ("" = smallest fitting)
	Image          string            // --define-image: the boot image (default "ipxe-boot")
	DefaultNetwork string            // --define-network: for NICs whose network the cloud does not have
	NetworkMap     map[string]string // --network-map: XML network/bridge name → cloud network name
	// Timeout bounds a whole creation or deletion, and separately the
	// clean-up after a failed one. Default 5m.
	Timeout time.Duration
	// PollInterval is the first wait between polls of a server; it doubles up
	// to MaxPollInterval. Defaults 100ms and 1s (a creation's window in which
	// the guest runs ends one poll after the build does).
	PollInterval, MaxPollInterval time.Duration
	Logger                        *slog.Logger
}

// Written is what provisioning needs of the inventory: to store a server it
// has just read, and to drop one it deleted, so the creator's next read sees
// its own write.
type Written interface {
	Store(Node)
	Forget(id string)
}

// Provisioner creates and deletes servers.
type Provisioner struct {
	// link leads to the cloud; Create, Delete, FlavorFor and SweepDebris
	// make sure it is connected before anything uses cloud().
	link  *Link
	cache Written
	cfg   ProvisionConfig
	log   *slog.Logger
}

// NewProvisioner builds a Provisioner over cloud that keeps cache current.
func NewProvisioner(cloud *Cloud, cache Written, cfg ProvisionConfig) *Provisioner {
	return newProvisioner(Linked(cloud), cache, cfg)
}

func newProvisioner(link *Link, cache Written, cfg ProvisionConfig) *Provisioner {
	if cfg.Image == "" {
		cfg.Image = "ipxe-boot"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Minute
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 100 * time.Millisecond
	}
	if cfg.MaxPollInterval <= 0 {
		cfg.MaxPollInterval = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Provisioner{link: link, cache: cache, cfg: cfg, log: cfg.Logger}
}

// cloud is the connected cloud; see Provisioner.link.
func (p *Provisioner) cloud() *Cloud { return p.link.current() }

// connected makes sure the link is up, answering its error when it is not.
func (p *Provisioner) connected(op string) (*Cloud, error) {
	if c := p.link.current(); c != nil {
		return c, nil
	}
	if err := p.link.failed(); err != nil {
		return nil, err
	}
	return nil, &Error{Op: op, Kind: ErrUnavailable, Reason: "not connected to the cloud yet"}
}

// plan is a CreateSpec resolved against the cloud.
type plan struct {
	flavor   flavors.Flavor
	why      string
	imageID  string
	networks []network // one per port, index for index
}

type network struct{ id, name string }

// made is what a creation has made so far: what undo removes.
type made struct {
	ports  []string
	server string
}

// Create makes the server spec describes and returns it SHUTOFF. Nova boots
// every server it creates; the guest (the boot image) runs from the end of
// the build until the os-stop sent at once then takes effect. On any failure
// — the cloud's, a conflict, the caller's context ending — everything made is
// deleted (with a context of its own), and the error says why.
func (p *Provisioner) Create(ctx context.Context, spec CreateSpec) (n Node, err error) {
	cloud, err := p.connected("create server " + spec.Name)
	if err != nil {
		return Node{}, err
	}
	if err := cloud.needNetwork("create server " + spec.Name); err != nil {
		return Node{}, err
	}
	// Registered before the undo below, so it ends after the undo has.
	done := p.link.obs.ActionStarted(actCreateServer)
	defer func() { done(err) }()
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	pl, err := p.plan(ctx, spec)
	if err != nil {
		return Node{}, err
	}
	var m made
	defer func() {
		if err != nil {
			p.undo(context.WithoutCancel(ctx), spec.Name, m)
		}
	}()
	for i, ps := range spec.Ports {
		id, err := p.createPortFor(ctx, spec.Name, i, ps.MAC, pl.networks[i])
		if err != nil {
			return Node{}, err
		}
		m.ports = append(m.ports, id)
	}
	if m.server, err = p.createServer(ctx, spec, pl, m.ports); err != nil {
		return Node{}, err
	}
	p.log.Info("server created for a new domain", "name", spec.Name, "server", m.server,
		"flavor", pl.flavor.Name, "why", pl.why, "image", pl.imageID, "ports", len(m.ports))
	if err := p.claim(ctx, spec.Name, m.server); err != nil {
		return Node{}, err
	}
	finish := p.stopWhenBuilt
	if spec.Run {
		finish = p.waitBuilt
	}
	if n, err = finish(ctx, m.server); err != nil {
		return Node{}, err
	}
	if n, err = p.unmark(ctx, n); err != nil {
		return Node{}, err
	}
	p.cache.Store(n)
	return n, nil
}

// plan resolves the flavor, the image and each port's network.
func (p *Provisioner) plan(ctx context.Context, spec CreateSpec) (plan, error) {
	var pl plan
	var err error
	if pl.flavor, pl.why, err = p.chooseFlavor(ctx, spec); err != nil {
		return plan{}, err
	}
	if spec.BootVolume == "" {
		if pl.imageID, err = p.findImage(ctx, cmp.Or(spec.Image, p.cfg.Image)); err != nil {
			return plan{}, err
		}
	}
	nets, err := p.networks(ctx)
	if err != nil {
		return plan{}, err
	}
	for _, ps := range spec.Ports {
		nw, err := p.mapNetwork(nets, ps.Network)
		if err != nil {
			return plan{}, err
		}
		pl.networks = append(pl.networks, nw)
	}
	return pl, nil
}

// chooseFlavor is the configured flavor, or the smallest that fits: least
// RAM, then fewest vCPUs, then least disk, then name, so the choice is the
// same on every replica.
func (p *Provisioner) chooseFlavor(ctx context.Context, spec CreateSpec) (flavors.Flavor, string, error) {
	pages, err := flavors.ListDetail(p.cloud().Compute, flavors.ListOpts{}).AllPages(ctx)
	if err != nil {
		return flavors.Flavor{}, "", classify("list flavors", err)
	}
	all, err := flavors.ExtractFlavors(pages)
	if err != nil {
		return flavors.Flavor{}, "", classify("list flavors", err)
	}
	if want := cmp.Or(spec.Flavor, p.cfg.Flavor); want != "" {
		for _, f := range all {
			if f.ID == want || f.Name == want {
				return f, "configured", nil
			}
		}
		return flavors.Flavor{}, "", &Error{Op: "choose flavor", Kind: ErrRefused, Reason: fmt.Sprintf("the cloud has no flavor '%s'", want)}
	}
	fits := slices.DeleteFunc(all, func(f flavors.Flavor) bool {
		return f.RAM < spec.RAMMiB || f.VCPUs < spec.VCPUs || f.Disk < spec.DiskGiB
	})
	if len(fits) == 0 {
		return flavors.Flavor{}, "", &Error{Op: "choose flavor", Kind: ErrRefused,
			Reason: fmt.Sprintf("no flavor of the cloud has %d MiB of memory and %d vCPUs", spec.RAMMiB, spec.VCPUs)}
	}
	best := slices.MinFunc(fits, func(a, b flavors.Flavor) int {
		return cmp.Or(cmp.Compare(a.RAM, b.RAM), cmp.Compare(a.VCPUs, b.VCPUs), cmp.Compare(a.Disk, b.Disk), cmp.Compare(a.Name, b.Name))
	})
	return best, fmt.Sprintf("smallest flavor with at least %d MiB and %d vCPUs", spec.RAMMiB, spec.VCPUs), nil
}

// findImage resolves an image name or ID to an active image's ID.
func (p *Provisioner) findImage(ctx context.Context, ref string) (string, error) {
	op := "find image " + ref
	if im, err := images.Get(ctx, p.cloud().Image, ref).Extract(); err == nil {
		return im.ID, nil
	} else if !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		return "", classify(op, err)
	}
	pages, err := images.List(p.cloud().Image, images.ListOpts{Name: ref}).AllPages(ctx)
	if err != nil {
		return "", classify(op, err)
	}
	found, err := images.ExtractImages(pages)
	if err != nil {
		return "", classify(op, err)
	}
	if len(found) == 0 {
		return "", &Error{Op: op, Kind: ErrRefused, Reason: fmt.Sprintf("the cloud has no image '%s'", ref)}
	}
	return found[0].ID, nil
}

func (p *Provisioner) networks(ctx context.Context) ([]networks.Network, error) {
	pages, err := networks.List(p.cloud().Network, networks.ListOpts{}).AllPages(ctx)
	if err != nil {
		return nil, classify("list networks", err)
	}
	all, err := networks.ExtractNetworks(pages)
	if err != nil {
		return nil, classify("list networks", err)
	}
	return all, nil
}

// mapNetwork is the cloud network for a name from the XML: the configured
// mapping, else the cloud's network of that name, else the default network.
func (p *Provisioner) mapNetwork(all []networks.Network, name string) (network, error) {
	want := name
	if mapped, ok := p.cfg.NetworkMap[name]; ok {
		want = mapped
	}
	byName := func(n string) (network, bool) {
		for _, nw := range all {
			if nw.Name == n || nw.ID == n {
				return network{id: nw.ID, name: nw.Name}, true
			}
		}
		return network{}, false
	}
	if nw, ok := byName(want); ok && want != "" {
		return nw, nil
	}
	if nw, ok := byName(p.cfg.DefaultNetwork); ok && p.cfg.DefaultNetwork != "" {
		if name != "" {
			p.log.Info("network of a new domain's interface not in the cloud; using the default network", "network", name, "default", nw.name)
		}
		return nw, nil
	}
	return network{}, &Error{Op: "find network", Kind: ErrRefused,
		Reason: fmt.Sprintf("the cloud has no network '%s' and no default network '%s'", want, p.cfg.DefaultNetwork)}
}

// createPortFor makes the i-th port of the server. The first port of a
// server whose XML gives it no MAC gets one derived from the name (libvirt
// would make one up too): Neutron's one-MAC-per-network rule then settles two
// replicas creating the same domain at once, as an XML MAC does. Should the
// derived MAC be another domain's, the cloud picks one instead.
func (p *Provisioner) createPortFor(ctx context.Context, server string, i int, mac string, nw network) (string, error) {
	if mac != "" || i != 0 {
		return p.createPort(ctx, server, i, mac, nw)
	}
	id, err := p.createPort(ctx, server, i, NameMAC(server), nw)
	if errors.Is(err, ErrExists) {
		return "", err // (it wraps the refusal)
	}
	if errors.Is(err, ErrRefused) && gophercloud.ResponseCodeIs(err, http.StatusConflict) {
		return p.createPort(ctx, server, i, "", nw)
	}
	if errors.Is(err, ErrRefused) && gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
		return p.createPort(ctx, server, i, "", nw) // not allowed to choose MACs here
	}
	return id, err
}

// NameMAC is the MAC derived from a server name: libvirt's 52:54:00 prefix
// and three bytes of the name's SHA-256.
func NameMAC(name string) string {
	h := sha256.Sum256([]byte(name))
	return fmt.Sprintf("52:54:00:%02x:%02x:%02x", h[0], h[1], h[2])
}

// createPort makes the i-th port of the server, with the MAC asked for.
func (p *Provisioner) createPort(ctx context.Context, server string, i int, mac string, nw network) (string, error) {
	op := fmt.Sprintf("create port on network '%s'", nw.name)
	if mac != "" {
		op = fmt.Sprintf("create port with MAC %s on network '%s'", mac, nw.name)
	}
	port, err := ports.Create(ctx, p.cloud().Network, ports.CreateOpts{
		NetworkID:  nw.id,
		Name:       PortNamePrefix + server + ":" + strconv.Itoa(i),
		MACAddress: mac,
	}).Extract()
	if err != nil {
		err = refusal(op, err)
		if gophercloud.ResponseCodeIs(err, http.StatusConflict) && mac != "" {
			return "", p.macTakenBy(ctx, server, mac, nw, err)
		}
		return "", err
	}
	return port.ID, nil
}

// macTakenBy explains a MAC already in use: when the port holding it was
// created for a domain of the same name (another replica defining the same
// XML at the same moment), the name exists — ErrExists, with the server
// the port is bound to, if any, as Reason; otherwise err.
func (p *Provisioner) macTakenBy(ctx context.Context, server, mac string, nw network, err error) error {
	pages, lerr := ports.List(p.cloud().Network, ports.ListOpts{MACAddress: mac, NetworkID: nw.id}).AllPages(ctx)
	if lerr != nil {
		return err
	}
	found, lerr := ports.ExtractPorts(pages)
	if lerr != nil {
		return err
	}
	for _, port := range found {
		if strings.HasPrefix(port.Name, PortNamePrefix+server+":") {
			return &Error{Op: "create port for " + server, Kind: ErrExists, Reason: port.DeviceID, Err: err}
		}
	}
	return err
}

// refusal is classify, except that the cloud's 400, 403 and 409 answers to a
// create are ErrRefused with the cloud's own message.
func refusal(op string, err error) error {
	for _, code := range []int{http.StatusBadRequest, http.StatusForbidden, http.StatusConflict} {
		if gophercloud.ResponseCodeIs(err, code) {
			var resp gophercloud.ErrUnexpectedResponseCode
			errors.As(err, &resp)
			return &Error{Op: op, Kind: ErrRefused, Reason: bodyMessage(resp.Body), Err: err}
		}
	}
	return classify(op, err)
}

func (p *Provisioner) createServer(ctx context.Context, spec CreateSpec, pl plan, portIDs []string) (string, error) {
	nets := make([]servers.Network, len(portIDs))
	for i, id := range portIDs {
		nets[i] = servers.Network{Port: id}
	}
	// The define's marker goes with the create itself, so no listing ever
	// shows the server without it until the define has finished (debris.go).
	md := maps.Clone(spec.Metadata)
	if md == nil {
		md = map[string]string{}
	}
	md[MetaDefining] = strconv.Itoa(int(p.cfg.Timeout.Seconds()))
	opts := servers.CreateOpts{
		Name:      spec.Name,
		FlavorRef: pl.flavor.ID,
		ImageRef:  pl.imageID,
		Networks:  nets,
		Metadata:  md,
	}
	if len(nets) == 0 {
		opts.Networks = "none"
	}
	if spec.BootVolume != "" {
		// The volume stays when the server goes: it is the pool's, and
		// vol-delete (or undefine --remove-all-storage) removes it.
		opts.BlockDevice = []servers.BlockDevice{{SourceType: servers.SourceVolume, DestinationType: servers.DestinationVolume,
			UUID: spec.BootVolume, BootIndex: 0}}
	}
	s, err := servers.Create(ctx, p.cloud().Compute, opts, nil).Extract()
	if err != nil {
		return "", refusal("create server "+spec.Name, err)
	}
	return s.ID, nil
}

// claim settles a race on a name between replicas (Nova allows duplicate
// names): of all live servers with the name, the oldest (created, then the
// lowest ID — the same answer on every replica) keeps it; any other creator
// deletes its own server and reports that the name exists.
func (p *Provisioner) claim(ctx context.Context, name, ours string) error {
	op := "claim name " + name
	q := url.Values{"name": {"^" + regexp.QuoteMeta(name) + "$"}}
	var page wireServerPage
	u := p.cloud().Compute.ServiceURL("servers", "detail") + "?" + q.Encode()
	if _, err := p.cloud().Compute.Get(ctx, u, &page, &gophercloud.RequestOpts{OkCodes: []int{200}}); err != nil {
		return classify(op, err)
	}
	var rivals []Node
	for i := range page.Servers {
		if n := page.Servers[i].node(); n.Name == name && !n.Deleted() {
			rivals = append(rivals, n)
		}
	}
	if len(rivals) == 0 {
		return nil // ours not listed yet: nobody older either
	}
	first := slices.MinFunc(rivals, func(a, b Node) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.ID, b.ID))
	})
	if first.ID != ours {
		return &Error{Op: op, Kind: ErrExists, Reason: first.ID}
	}
	return nil
}

// waitBuilt waits for the build to end: the server is then ACTIVE (or
// SHUTOFF, if its guest has already powered off).
func (p *Provisioner) waitBuilt(ctx context.Context, id string) (Node, error) {
	n, err := p.poll(ctx, id, func(n Node) (bool, error) {
		return n.TaskState == "" && n.Status != "BUILD", nil
	})
	if err == nil && n.Status == "ERROR" {
		return n, &Error{Op: "build server " + id, Kind: ErrFailed, Reason: cmp.Or(n.Fault, "the server went to ERROR")}
	}
	return n, err
}

// FlavorFor is the name of the flavor Create would give spec.
func (p *Provisioner) FlavorFor(ctx context.Context, spec CreateSpec) (string, error) {
	if _, err := p.connected("choose a flavor for " + spec.Name); err != nil {
		return "", err
	}
	f, _, err := p.chooseFlavor(ctx, spec)
	return f.Name, err
}

// stopWhenBuilt waits for the build to end and stops the server at once,
// then waits for SHUTOFF. Nova refuses os-stop while the server builds.
func (p *Provisioner) stopWhenBuilt(ctx context.Context, id string) (Node, error) {
	n, err := p.waitBuilt(ctx, id)
	if err != nil || n.Status == "SHUTOFF" {
		return n, err
	}
	built := time.Now()
	for {
		err := servers.Stop(ctx, p.cloud().Compute, id).ExtractErr()
		if err == nil {
			break
		}
		if !gophercloud.ResponseCodeIs(err, http.StatusConflict) {
			return n, classify("os-stop "+id, err)
		}
		// Another task started meanwhile (Nova's power sync): wait it out.
		if n, err = p.poll(ctx, id, func(n Node) (bool, error) { return n.TaskState == "", nil }); err != nil {
			return n, err
		}
		if n.Status == "SHUTOFF" {
			return n, nil
		}
	}
	n, err = p.poll(ctx, id, func(n Node) (bool, error) {
		if n.TaskState == "" && n.Status == "ERROR" {
			return false, &Error{Op: "stop server " + id, Kind: ErrFailed, Reason: cmp.Or(n.Fault, "the server went to ERROR")}
		}
		return n.TaskState == "" && n.Status == "SHUTOFF", nil
	})
	if err == nil {
		// The window in which the boot image ran, as polling sees it (each
		// end is seen up to one poll interval late): docs/semantics.md.
		p.log.Info("new server stopped after its build", "server", id, "guest_ran", time.Since(built).Round(time.Millisecond))
	}
	return n, err
}

// poll reads the server with exponential back-off until done says so.
// Transient cloud errors are ridden out; the context bounds it.
func (p *Provisioner) poll(ctx context.Context, id string, done func(Node) (bool, error)) (Node, error) {
	return cloudcall.Poller[Node]{
		Interval: p.cfg.PollInterval, MaxInterval: p.cfg.MaxPollInterval,
		Get: func(ctx context.Context) (Node, error) {
			n, err := getServer(ctx, p.cloud().Compute, id)
			return n, classify("get server "+id, err)
		},
		Transient: func(err error) bool { return errors.Is(err, ErrUnavailable) },
		Stopped:   func(err error) error { return classify("wait for server "+id, err) },
	}.Until(ctx, done)
}

// undo deletes what a failed creation made, bounded by its own timeout: the
// caller's context may be the reason it failed.
func (p *Provisioner) undo(ctx context.Context, name string, m made) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	if m.server != "" {
		if err := p.deleteServer(ctx, m.server); err != nil {
			p.log.Error("could not delete the server of a failed define; delete it by hand", "name", name, "server", m.server, "err", err)
		}
	}
	for _, id := range m.ports {
		if err := p.deletePort(ctx, id); err != nil {
			p.log.Error("could not delete a port of a failed define; delete it by hand", "name", name, "port", id, "err", err)
		}
	}
}

// Delete deletes server id and the ports quintupleo created for it, and
// returns once Nova no longer has the server and Cinder has detached its
// volumes (which it keeps).
func (p *Provisioner) Delete(ctx context.Context, id string) (err error) {
	cloud, err := p.connected("delete server " + id)
	if err != nil {
		return err
	}
	if err := cloud.needNetwork("delete server " + id); err != nil {
		return err
	}
	done := p.link.obs.ActionStarted(actDeleteServer)
	defer func() { done(err) }()
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	ours, err := p.ourPorts(ctx, id)
	if err != nil {
		return err
	}
	n, err := getServer(ctx, p.cloud().Compute, id)
	if err != nil && !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		return classify("get server "+id, err)
	}
	if err := p.deleteServer(ctx, id); err != nil {
		return err
	}
	if err := p.waitVolumesReleased(ctx, n.Volumes); err != nil {
		return err
	}
	for _, port := range ours {
		if err := p.deletePort(ctx, port); err != nil {
			return err
		}
	}
	return nil
}

// ourPorts are the ports bound to server id that quintupleo created.
func (p *Provisioner) ourPorts(ctx context.Context, id string) ([]string, error) {
	op := "list ports of " + id
	pages, err := ports.List(p.cloud().Network, ports.ListOpts{DeviceID: id}).AllPages(ctx)
	if err != nil {
		return nil, classify(op, err)
	}
	all, err := ports.ExtractPorts(pages)
	if err != nil {
		return nil, classify(op, err)
	}
	var out []string
	for _, port := range all {
		if strings.HasPrefix(port.Name, PortNamePrefix) {
			out = append(out, port.ID)
		}
	}
	return out, nil
}

// deleteServer deletes a server and waits until Nova no longer has it.
func (p *Provisioner) deleteServer(ctx context.Context, id string) error {
	op := "delete server " + id
	if err := servers.Delete(ctx, p.cloud().Compute, id).ExtractErr(); err != nil && !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		if err = classify(op, err); !errors.Is(err, ErrUnavailable) || !p.deleteUnderWay(ctx, id) {
			return err
		}
		p.log.Info("the cloud's answer to a server delete was lost, but the delete is under way", "server", id, "err", err)
	}
	_, err := p.poll(ctx, id, func(n Node) (bool, error) { return n.Deleted(), nil })
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	p.cache.Forget(id)
	return nil
}

// deleteUnderWay reads back a server whose delete got no clear answer (a
// 5xx, a proxy's 504 after Nova acted, a lost connection): Nova's API sets
// task_state deleting before it answers, so a server that is deleting,
// deleted or gone was accepted for deletion — sending the delete again
// would only repeat it.
func (p *Provisioner) deleteUnderWay(ctx context.Context, id string) bool {
	n, err := getServer(ctx, p.cloud().Compute, id)
	if gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		return true
	}
	return err == nil && (n.Deleted() || n.TaskState == "deleting")
}

func (p *Provisioner) deletePort(ctx context.Context, id string) error {
	if err := ports.Delete(ctx, p.cloud().Network, id).ExtractErr(); err != nil && !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		return classify("delete port "+id, err)
	}
	return nil
}
