package domain

import (
	"context"
	"io"
	"log/slog"
	"sync"

	"quintupleo/internal/pubsub"
	"quintupleo/nodes"
	"quintupleo/virt"
)

// Config tunes a Driver.
type Config struct {
	Logger *slog.Logger
	// OnEventDropped is called for each lifecycle event a subscriber lost
	// (its queue was full), for the metrics; nil: nobody.
	OnEventDropped func()
	// EventBuffer is the queue length of each event subscriber. Default 256.
	EventBuffer int
	// Provisioner creates and deletes servers for define and undefine
	// (provision.go); nil = both answer VIR_ERR_NO_SUPPORT.
	Provisioner Provisioner
	// NetworkName maps the cloud network name of a server's port (Nova's
	// `addresses` key) to the libvirt network name the network driver
	// gives it, so that <source network='…'/> names a network virsh
	// net-info finds; nil = the name as the cloud has it.
	NetworkName func(cloudName string) string
	// Volumes are the storage pool's volumes as disks (disks.go); nil = no
	// storage driver: disks are the server's image disk only.
	Volumes Volumes
	// StopReturnsAtAccepted makes destroy and shutdown return once Nova
	// has accepted os-stop, the domain then reading "in shutdown" until
	// Nova reports SHUTOFF, instead of returning at SHUTOFF: Nova's
	// graceful stop can take its whole shutdown_timeout, longer than BMC
	// clients (VirtualBMC under ipmitool) wait (lifecycle.go).
	StopReturnsAtAccepted bool
}

// Driver is libvirt's domain driver over the node model: lookups and lists
// (view.go) and lifecycle events (events.go) read the nodes.Inventory;
// power actions (lifecycle.go) and define (define.go) change nodes through
// the nodes.Executor. Its methods are safe for concurrent use.
type Driver struct {
	inv    *nodes.Inventory
	act    *nodes.Executor
	prov   Provisioner
	cfg    Config
	vols   Volumes
	log    *slog.Logger
	events *pubsub.Hub[Event]

	mu sync.Mutex
	// mu guards:
	view *view
	// departed holds the names of domains that left the view until their
	// UNDEFINED event reports them: a de-duplicated name ("dup-1a2b3c4d")
	// cannot be derived again once its twin is alone. It holds at most the
	// inventory's change queue (ChangeBuffer): a removal beyond that has
	// lost its event anyway.
	departed map[virt.UUID]string
	reaping  map[string]chan struct{} // transient servers being deleted → closed when that ends
	// runCtx is Run's context while Run runs, nil otherwise: the lifetime
	// of stops that go on after their call returned (StopReturnsAtAccepted),
	// which stops counts and Run waits for.
	runCtx context.Context
	stops  sync.WaitGroup
}

// New builds a Driver that reads inv and acts through act (an executor over
// the same inventory). Call Run to deliver events.
func New(inv *nodes.Inventory, act *nodes.Executor, cfg Config) *Driver {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.EventBuffer <= 0 {
		cfg.EventBuffer = 256
	}
	log := cfg.Logger
	return &Driver{
		inv:  inv,
		act:  act,
		prov: cfg.Provisioner,
		cfg:  cfg,
		vols: cfg.Volumes,
		log:  log,
		events: pubsub.New(cfg.EventBuffer, func(sub int, ev Event) {
			if cfg.OnEventDropped != nil {
				cfg.OnEventDropped()
			}
			log.Warn("event subscriber is behind; lifecycle event dropped", "subscriber", sub, "domain", ev.Domain.Name)
		}),
		departed: map[virt.UUID]string{},
		reaping:  map[string]chan struct{}{},
	}
}
