package domain

import (
	"context"

	"quintupleo/nodes"
	"quintupleo/virt"
)

// Start answers virDomainCreate: the Nova action that brings the server to
// ACTIVE from where it is, waited for.
func (h *Driver) Start(ctx context.Context, u virt.UUID) (Domain, error) {
	n, d, err := h.find(ctx, u)
	if err != nil {
		return Domain{}, err
	}
	if d.State.Active() {
		return Domain{}, AlreadyRunning()
	}
	if _, err := h.act.PowerOn(ctx, n.ID); err != nil {
		return Domain{}, FromNodes(err)
	}
	_, d, err = h.find(ctx, u)
	return d, err
}

// Destroy answers virDomainDestroy with os-stop. Nova stops gracefully first
// (up to its shutdown_timeout, 60 s by default, or the image's
// os_shutdown_timeout property); libvirt's destroy is immediate
// (docs/semantics.md says how to shorten it).
func (h *Driver) Destroy(ctx context.Context, u virt.UUID) error {
	return h.stop(ctx, u, virt.StoppedDestroyed, virt.ShutoffDestroyed)
}

// Shutdown answers virDomainShutdown with os-stop.
func (h *Driver) Shutdown(ctx context.Context, u virt.UUID) error {
	return h.stop(ctx, u, virt.StoppedShutdown, virt.ShutoffShutdown)
}

// stop powers the domain off and remembers that we did, so that its
// STOPPED event carries detail and its shut-off state carries reason. With
// StopReturnsAtAccepted it returns once Nova has accepted os-stop (a stop
// already under way counts as accepted), and the stop goes on under Run.
func (h *Driver) stop(ctx context.Context, u virt.UUID, detail, reason int32) error {
	n, d, err := h.find(ctx, u)
	if err != nil {
		return err
	}
	if !d.State.Active() {
		return NotRunning()
	}
	if h.cfg.StopReturnsAtAccepted && n.TaskState == "powering-off" {
		return nil
	}
	h.mu.Lock()
	h.stopCause[u] = detail
	h.offReason[u] = reason
	bg := h.runCtx
	if bg != nil && h.cfg.StopReturnsAtAccepted {
		h.stops.Add(1) // under mu: Run cannot have begun waiting
	} else {
		bg = nil
	}
	h.mu.Unlock()
	powerOff := func(ctx context.Context) error {
		off, err := h.act.PowerOff(ctx, n.ID)
		if err != nil {
			h.mu.Lock()
			delete(h.stopCause, u)
			delete(h.offReason, u)
			h.mu.Unlock()
			return FromNodes(err)
		}
		// A transient domain is gone once stopped, as in libvirt.
		_, err = h.reap(ctx, off)
		return err
	}
	if bg == nil {
		return powerOff(ctx)
	}
	defer h.stops.Done()
	return nodes.UntilAccepted(ctx, bg, &h.stops, powerOff, func(err error) {
		h.log.Warn("power-off failed after Nova accepted it", "domain", d.Name, "server", n.ID, "err", err)
	})
}

// Reboot answers virDomainReboot with a SOFT reboot.
func (h *Driver) Reboot(ctx context.Context, u virt.UUID) error {
	return h.reboot(ctx, u, false)
}

// Reset answers virDomainReset with a HARD reboot.
func (h *Driver) Reset(ctx context.Context, u virt.UUID) error {
	return h.reboot(ctx, u, true)
}

func (h *Driver) reboot(ctx context.Context, u virt.UUID, hard bool) error {
	n, d, err := h.find(ctx, u)
	if err != nil {
		return err
	}
	if !d.State.Active() {
		return NotRunning()
	}
	if _, err := h.act.Reboot(ctx, n.ID, hard); err != nil {
		return FromNodes(err)
	}
	return nil
}

// SetAutostart answers virDomainSetAutostart by recording the flag in the
// server's metadata (Nova has nothing it could switch).
func (h *Driver) SetAutostart(ctx context.Context, u virt.UUID, autostart bool) error {
	n, d, err := h.find(ctx, u)
	if err != nil {
		return err
	}
	if d.Autostart == autostart {
		return nil
	}
	value := ""
	if autostart {
		value = "1"
	}
	if _, err := h.act.SetMetadata(ctx, n.ID, MetaAutostart, value); err != nil {
		return FromNodes(err)
	}
	return nil
}
