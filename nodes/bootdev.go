package nodes

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

// BootDevice is where a node boots from at its next power-on.
type BootDevice string

// The boot devices a cloud can offer.
const (
	BootDisk    BootDevice = "disk"
	BootNetwork BootDevice = "network"
)

// MetaPXEFirst is OVB's server metadata key for "boot from the network
// next" ("1"); empty or absent means the disk. Every strategy keeps the boot
// device here when Nova lets it write, so any replica and OVB-patched Nova
// itself read the same value.
const MetaPXEFirst = "libvirt:pxe-first"

// BootStrategy decides how a boot device is kept and how power-on honours it.
// Strategies are built by name (NewBootStrategy; BootStrategyNames lists
// them) and chosen per deployment. The node they act on is given to them;
// what they may do to it goes through an Actor.
type BootStrategy interface {
	Name() string
	// Get is the boot device the node's next power-on uses.
	Get(n Node) BootDevice
	// Set records the boot device for the next power-on.
	Set(ctx context.Context, a Actor, n Node, dev BootDevice) error
	// PowerOn brings a SHUTOFF node up, booting from its boot device, and
	// returns once Nova reports it running.
	PowerOn(ctx context.Context, a Actor, n Node) (Node, error)
}

// Actor is what a boot strategy may ask of the cloud: the actions it boots
// with, the metadata it keeps the boot device in, and the images it boots.
// The Executor is the Actor of its strategy; a test may give another.
type Actor interface {
	// Do performs an action and waits for its target state (Executor.Do).
	Do(ctx context.Context, id string, a Action) (Node, error)
	// Rescue and Rebuild are the actions that take an image.
	Rescue(ctx context.Context, id, imageID string) (Node, error)
	Rebuild(ctx context.Context, id, imageID string) (Node, error)
	SetMetadata(ctx context.Context, id, key, value string) (Node, error)
	// SetDescription replaces the server's description (nil: none); Nova
	// takes it while the server is rescued.
	SetDescription(ctx context.Context, id string, desc *string) (Node, error)
	// ImageByID reads one image; FindImage finds one by ID or unique name.
	ImageByID(ctx context.Context, id string) (Image, error)
	FindImage(ctx context.Context, nameOrID string) (Image, error)
}

// poweredOffHook is a strategy with work left once its node is stopped.
type poweredOffHook interface {
	poweredOff(ctx context.Context, a Actor, n Node) error
}

// BootOptions configure the strategies that need an iPXE image.
type BootOptions struct {
	// IPXEImage / IPXEImageUEFI name or ID the Glance images that boot iPXE on
	// BIOS and UEFI servers; the server's own image's hw_firmware_type picks
	// one.
	IPXEImage, IPXEImageUEFI string
	// AllowRebuild must be set for the rebuild strategy, which destroys the
	// server's disk on every network boot.
	AllowRebuild bool
}

// bootStrategies builds each strategy from its name: the one table behind
// BootStrategyNames and NewBootStrategy.
func bootStrategies() map[string]func(BootOptions) (BootStrategy, error) {
	return map[string]func(BootOptions) (BootStrategy, error){
		"metadata": func(BootOptions) (BootStrategy, error) { return metadataStrategy{}, nil },
		"rescue":   newRescueStrategy,
		"rebuild":  newRebuildStrategy,
	}
}

// BootStrategyNames lists the strategies, sorted, for flags and help.
func BootStrategyNames() []string {
	return slices.Sorted(maps.Keys(bootStrategies()))
}

// NewBootStrategy builds the strategy called name ("" is metadata).
func NewBootStrategy(name string, opts BootOptions) (BootStrategy, error) {
	if name == "" {
		name = "metadata"
	}
	build, ok := bootStrategies()[name]
	if !ok {
		return nil, fmt.Errorf("nodes: unknown boot strategy %q (have %s)", name, strings.Join(BootStrategyNames(), ", "))
	}
	return build(opts)
}

func newRescueStrategy(opts BootOptions) (BootStrategy, error) {
	if opts.IPXEImage == "" {
		return nil, errors.New("nodes: the rescue boot strategy needs an iPXE image (--ipxe-image)")
	}
	return &rescueStrategy{images: newImageChooser(opts)}, nil
}

func newRebuildStrategy(opts BootOptions) (BootStrategy, error) {
	if !opts.AllowRebuild {
		return nil, errors.New("nodes: the rebuild boot strategy destroys the server's disk at every network boot; enable it explicitly (--allow-destructive-rebuild)")
	}
	if opts.IPXEImage == "" {
		return nil, errors.New("nodes: the rebuild boot strategy needs an iPXE image (--ipxe-image)")
	}
	return &rebuildStrategy{images: newImageChooser(opts)}, nil
}

func metadataBootDevice(n Node) BootDevice {
	if n.Metadata[MetaPXEFirst] == "1" {
		return BootNetwork
	}
	return BootDisk
}

func metadataValue(dev BootDevice) string {
	if dev == BootNetwork {
		return "1"
	}
	return ""
}

// metadataStrategy only records the boot device in server metadata, as OVB
// and sushy-tools do; a cloud carrying OVB's Nova patch (or an equivalent)
// boots accordingly. Power-on is a plain os-start.
type metadataStrategy struct{}

func (metadataStrategy) Name() string          { return "metadata" }
func (metadataStrategy) Get(n Node) BootDevice { return metadataBootDevice(n) }

func (metadataStrategy) Set(ctx context.Context, a Actor, n Node, dev BootDevice) error {
	if metadataBootDevice(n) == dev {
		return nil
	}
	_, err := a.SetMetadata(ctx, n.ID, MetaPXEFirst, metadataValue(dev))
	return err
}

func (metadataStrategy) PowerOn(ctx context.Context, a Actor, n Node) (Node, error) {
	return a.Do(ctx, n.ID, ActionStart)
}

// rescueStrategy works on an unmodified Nova: a network boot is a Nova
// rescue with the iPXE image (the server's disk stays attached, so the
// deployed OS lands on it); a disk boot is a normal start. Nova refuses
// metadata writes while a server is rescued, which is exactly when Ironic
// switches the boot device back to disk after a deploy; such a change is
// kept as a mark at the end of the server's description, which Nova takes
// in every state and every listing carries (rescuemark.go), until the
// server leaves rescue; then it moves to metadata. Nothing is kept locally,
// so every replica over the cloud reads the same boot device.
type rescueStrategy struct {
	images *imageChooser
}

func (*rescueStrategy) Name() string { return "rescue" }

func rescued(n Node) bool { return n.Status == "RESCUE" || n.VMState == "rescued" }

// Get is the pending device of a rescued node's description mark, which is
// newer than the metadata (it is only written while Nova refuses metadata
// writes), else the metadata's.
func (r *rescueStrategy) Get(n Node) BootDevice {
	if dev, _, ok := pendingBoot(n.Description); ok {
		return dev
	}
	return metadataBootDevice(n)
}

func (r *rescueStrategy) Set(ctx context.Context, a Actor, n Node, dev BootDevice) error {
	if rescued(n) {
		return markBootPending(ctx, a, n, dev)
	}
	if metadataBootDevice(n) != dev {
		if _, err := a.SetMetadata(ctx, n.ID, MetaPXEFirst, metadataValue(dev)); err != nil {
			return err
		}
	}
	return clearBootPending(ctx, a, n)
}

func (r *rescueStrategy) PowerOn(ctx context.Context, a Actor, n Node) (Node, error) {
	dev := r.Get(n)
	if err := r.settle(ctx, a, n); err != nil {
		return Node{}, err
	}
	if dev != BootNetwork {
		return a.Do(ctx, n.ID, ActionStart)
	}
	image, err := r.images.forServer(ctx, a, n)
	if err != nil {
		return Node{}, err
	}
	return a.Rescue(ctx, n.ID, image)
}

// poweredOff moves a boot device chosen while the server was rescued from
// its description to its metadata, now that Nova accepts metadata writes
// again.
func (r *rescueStrategy) poweredOff(ctx context.Context, a Actor, n Node) error {
	return r.settle(ctx, a, n)
}

// settle moves a pending device of a node that is no longer rescued (a
// power-off through quintupleo, or an unrescue in the cloud) to metadata.
func (r *rescueStrategy) settle(ctx context.Context, a Actor, n Node) error {
	if dev, _, ok := pendingBoot(n.Description); ok && !rescued(n) {
		return r.Set(ctx, a, n, dev)
	}
	return nil
}

// rebuildStrategy is OVB's fallback: a network boot rebuilds the server with
// the iPXE image before starting it, which DESTROYS the disk's contents. Only
// enabled explicitly.
type rebuildStrategy struct {
	images *imageChooser
}

func (*rebuildStrategy) Name() string          { return "rebuild" }
func (*rebuildStrategy) Get(n Node) BootDevice { return metadataBootDevice(n) }

func (*rebuildStrategy) Set(ctx context.Context, a Actor, n Node, dev BootDevice) error {
	return metadataStrategy{}.Set(ctx, a, n, dev)
}

func (b *rebuildStrategy) PowerOn(ctx context.Context, a Actor, n Node) (Node, error) {
	if b.Get(n) == BootNetwork {
		image, err := b.images.forServer(ctx, a, n)
		if err != nil {
			return Node{}, err
		}
		if _, err := a.Rebuild(ctx, n.ID, image); err != nil {
			return Node{}, err
		}
	}
	return a.Do(ctx, n.ID, ActionStart)
}

// imageChooser resolves the iPXE image for a server: the UEFI one when the
// server's own image says hw_firmware_type=uefi, the BIOS one otherwise.
// Image lookups are cached: images do not change under a running shim.
type imageChooser struct {
	bios, uefi string

	mu sync.Mutex
	// mu guards:
	firmware map[string]string // server image ID → hw_firmware_type
	resolved map[string]string // name or ID → ID
}

func newImageChooser(opts BootOptions) *imageChooser {
	uefi := opts.IPXEImageUEFI
	if uefi == "" {
		uefi = opts.IPXEImage
	}
	return &imageChooser{bios: opts.IPXEImage, uefi: uefi, firmware: map[string]string{}, resolved: map[string]string{}}
}

func (c *imageChooser) forServer(ctx context.Context, a Actor, n Node) (string, error) {
	want := c.bios
	if fw, err := c.firmwareOf(ctx, a, n.ImageID); err != nil {
		return "", err
	} else if fw == "uefi" {
		want = c.uefi
	}
	return c.resolve(ctx, a, want)
}

func (c *imageChooser) firmwareOf(ctx context.Context, a Actor, imageID string) (string, error) {
	if imageID == "" {
		return "bios", nil
	}
	c.mu.Lock()
	fw, ok := c.firmware[imageID]
	c.mu.Unlock()
	if ok {
		return fw, nil
	}
	img, err := a.ImageByID(ctx, imageID)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return "bios", nil // the server's image was deleted: assume BIOS
		}
		return "", err
	}
	fw = img.Properties["hw_firmware_type"]
	c.mu.Lock()
	c.firmware[imageID] = fw
	c.mu.Unlock()
	return fw, nil
}

func (c *imageChooser) resolve(ctx context.Context, a Actor, nameOrID string) (string, error) {
	c.mu.Lock()
	id, ok := c.resolved[nameOrID]
	c.mu.Unlock()
	if ok {
		return id, nil
	}
	img, err := a.FindImage(ctx, nameOrID)
	if err != nil {
		return "", err
	}
	id = img.ID
	c.mu.Lock()
	c.resolved[nameOrID] = id
	c.mu.Unlock()
	return id, nil
}
