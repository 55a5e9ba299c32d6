package stack

import (
	"cmp"
	"log/slog"

	"quintupleo/driver/domain"
	"quintupleo/driver/host"
	"quintupleo/nodes"
	"quintupleo/rpc"
)

// DriverConfig is what the libvirt drivers need beyond the inventory.
type DriverConfig struct {
	Hostname string // reported to clients; "" = this machine's
	Logger   *slog.Logger
	// Provision, when set, lets define and undefine create and delete cloud
	// servers; nil = they answer VIR_ERR_NO_SUPPORT for new domains.
	Provision *nodes.ProvisionConfig
}

// AddDrivers builds the libvirt drivers over the node model (inv, and act
// acting on its nodes), one per object family, as
// the RPC server serves them. Networks and storage are not wired yet, so rpc
// answers their procedures VIR_ERR_NO_SUPPORT, as libvirtd does for a
// missing sub-driver. The domain driver's event loop runs with the stack.
func AddDrivers(st *Stack, inv *nodes.Inventory, act *nodes.Executor, cfg DriverConfig) (rpc.Drivers, *domain.Driver) {
	dcfg := domain.Config{Logger: cfg.Logger}
	if cfg.Provision != nil {
		pc := *cfg.Provision
		pc.Logger = cmp.Or(pc.Logger, cfg.Logger)
		dcfg.Provisioner = act.Provisioner(pc)
	}
	dom := domain.New(inv, act, dcfg)
	st.Go("events", dom.Run)
	return rpc.Drivers{
		Host:    host.New(host.Config{Hostname: cfg.Hostname, Capacity: dom}),
		Domains: dom,
	}, dom
}
