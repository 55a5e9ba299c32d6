package stack

import (
	"cmp"
	"log/slog"
	"time"

	"quintupleo/driver/domain"
	"quintupleo/driver/host"
	"quintupleo/driver/network"
	"quintupleo/driver/storage"
	"quintupleo/nodes"
	"quintupleo/nodes/cinder"
	"quintupleo/rpc"
)

// DriverConfig is what the libvirt drivers need beyond the inventory.
type DriverConfig struct {
	Hostname string // reported to clients; "" = this machine's
	Logger   *slog.Logger
	// Provision, when set, lets define and undefine create and delete cloud
	// servers; nil = they answer VIR_ERR_NO_SUPPORT for new domains.
	Provision *nodes.ProvisionConfig
	// Networks, when set, serves the cloud's Neutron networks as libvirt
	// networks (driver/network); nil, or a cloud without Neutron, leaves
	// rpc answering network procedures VIR_ERR_NO_SUPPORT.
	Networks *network.Config
	// Storage is the storage pool over the cloud's Cinder; without Cinder in
	// the catalog every storage call answers an error saying so.
	Storage storage.Config
	// OnEventDropped counts lifecycle events a subscriber lost (metrics).
	OnEventDropped func()
	// StopReturnsAtAccepted is domain.Config's: destroy and shutdown
	// return once Nova accepted os-stop.
	StopReturnsAtAccepted bool
}

// rpcStorage is what the storage driver is to the RPC server and to the
// domain driver (its volumes as disks).
type rpcStorage interface {
	rpc.Storage
	domain.Volumes
}

// AddDrivers builds the libvirt drivers over the node model (inv, and act
// acting on its nodes), one per object family, as the RPC server serves
// them. Networks are served when cfg.Networks is set and the cloud has
// Neutron; storage always is, and without Cinder in the catalog each of its
// calls says so. The drivers' event loops run with the stack.
func AddDrivers(st *Stack, inv *nodes.Inventory, act *nodes.Executor, cfg DriverConfig) (rpc.Drivers, *domain.Driver) {
	dcfg := domain.Config{Logger: cfg.Logger, OnEventDropped: cfg.OnEventDropped, StopReturnsAtAccepted: cfg.StopReturnsAtAccepted}
	if cfg.Provision != nil {
		pc := *cfg.Provision
		pc.Logger = cmp.Or(pc.Logger, cfg.Logger)
		prov := act.Provisioner(pc)
		dcfg.Provisioner = prov
		// What defines killed in the middle left behind (nodes/debris.go).
		st.Go("define debris sweep", prov.SweepDebris)
	}
	// A cloud not reached yet has no catalog to tell whether Neutron and
	// Cinder are there: lazy.go's stand-ins decide when it arrives.
	lazy := inv.Unreachable() != nil
	var nets *network.Driver
	if cfg.Networks != nil {
		var nc network.Cloud // nil: no Neutron in the catalog
		switch {
		case lazy:
			nc = lazyNeutron{inv}
		case inv.Neutron() != nil:
			nc = inv.Neutron()
		}
		if nc != nil {
			ncfg := *cfg.Networks
			ncfg.Logger = cmp.Or(ncfg.Logger, cfg.Logger)
			nets = network.New(nc, ncfg)
			dcfg.NetworkName = nets.NetworkName
			st.Go("network events", nets.Run)
		}
	}
	scfg := cfg.Storage
	scfg.Logger = cmp.Or(scfg.Logger, cfg.Logger)
	timeout := time.Duration(0)
	if cfg.Provision != nil {
		timeout = cfg.Provision.Timeout
	}
	var stor rpcStorage
	if lazy {
		stor = newLazyStorage(inv, cinder.Config{Timeout: timeout}, scfg)
	} else {
		stor = storage.New(inv.Cinder(cinder.Config{Timeout: timeout}), scfg)
	}
	dcfg.Volumes = stor
	dom := domain.New(inv, act, dcfg)
	st.Go("events", dom.Run)
	drivers := rpc.Drivers{
		Host:    host.New(host.Config{Hostname: cfg.Hostname, Capacity: dom}),
		Domains: dom,
		Storage: stor,
	}
	if nets != nil {
		drivers.Networks = nets
	}
	return drivers, dom
}
