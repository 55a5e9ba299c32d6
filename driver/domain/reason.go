package domain

import (
	"context"

	"quintupleo/nodes"
	"quintupleo/virt"
)

// MetaReason is the server metadata key that keeps the libvirt state reason
// Nova cannot tell: whether a domain we stopped was destroyed or shut down
// ("destroyed", "shutdown"; its STOPPED event's detail says the same), and
// that one we resumed runs "unpaused". It lives in the cloud, written before
// the action, so that every replica reports the same reason and the same
// event detail, whichever replica acted.
const MetaReason = "libvirt:reason"

// The values of MetaReason.
const (
	reasonDestroyed = "destroyed"
	reasonShutdown  = "shutdown"
	reasonUnpaused  = "unpaused"
)

// withReason refines d's reason by the node's MetaReason mark. A mark only
// replaces a reason Nova's own state leaves open (a shut-off domain's
// "shutdown" or "unknown", a running one's "booted" or "unknown"): a domain
// that went to ERROR or was suspended since reads as Nova says, and a stop
// mark means nothing while the domain runs, nor "unpaused" once it stopped.
func withReason(d Domain, n nodes.Node) Domain {
	mark := n.Metadata[MetaReason]
	switch {
	case d.State == virt.StateShutoff && (d.Reason == virt.ShutoffShutdown || d.Reason == virt.ShutoffUnknown):
		switch mark {
		case reasonDestroyed:
			d.Reason = virt.ShutoffDestroyed
		case reasonShutdown:
			d.Reason = virt.ShutoffShutdown
		}
	case d.State == virt.StateRunning && (d.Reason == virt.RunningBooted || d.Reason == virt.RunningUnknown):
		if mark == reasonUnpaused {
			d.Reason = virt.RunningUnpaused
		}
	}
	return d
}

// stoppedDetail is the STOPPED event detail of a domain that stopped: a
// destroy when its reason says so, else a shutdown (the guest's, the
// cloud's or ours).
func stoppedDetail(d Domain) int32 {
	if d.Reason == virt.ShutoffDestroyed {
		return virt.StoppedDestroyed
	}
	return virt.StoppedShutdown
}

// clearReason removes the reason mark of a domain that booted: what it said
// is history, and it must not describe a later stop made outside
// quintupleo. The boot succeeded, so a failure is only logged.
func (h *Driver) clearReason(ctx context.Context, n nodes.Node) {
	if _, has := n.Metadata[MetaReason]; !has {
		return
	}
	if _, err := h.act.DeleteMetadatum(ctx, n.ID, MetaReason); err != nil {
		h.log.Warn("could not remove the reason mark of a started domain", "server", n.ID, "err", err)
	}
}
