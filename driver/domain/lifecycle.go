package domain

import (
	"context"
	"errors"

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
	n, d, err = h.find(ctx, u)
	if err != nil {
		return d, err
	}
	h.clearReason(ctx, n)
	return d, nil
}

// Destroy answers virDomainDestroy with os-stop. Nova stops gracefully first
// (up to its shutdown_timeout, 60 s by default, or the image's
// os_shutdown_timeout property); libvirt's destroy is immediate
// (docs/semantics.md says how to shorten it).
func (h *Driver) Destroy(ctx context.Context, u virt.UUID) error {
	return h.stop(ctx, u, reasonDestroyed)
}

// Shutdown answers virDomainShutdown with os-stop.
func (h *Driver) Shutdown(ctx context.Context, u virt.UUID) error {
	return h.stop(ctx, u, reasonShutdown)
}

// stop powers the domain off, marking why first (MetaReason), so that on
// every replica its STOPPED event carries the detail and its shut-off state
// the reason. With StopReturnsAtAccepted it returns once Nova has accepted
// os-stop (a stop already under way counts as accepted), and the stop goes
// on under Run.
func (h *Driver) stop(ctx context.Context, u virt.UUID, reason string) error {
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
	bg := h.runCtx
	if bg != nil && h.cfg.StopReturnsAtAccepted {
		h.stops.Add(1) // under mu: Run cannot have begun waiting
	} else {
		bg = nil
	}
	h.mu.Unlock()
	powerOff := func(ctx context.Context) error {
		off, err := h.act.PowerOffMarked(ctx, n.ID, MetaReason, reason)
		if isTransient(n) && errors.Is(err, nodes.ErrDeletedDuringAction) {
			// It stopped and a reaper deleted it before this poll saw the
			// stop: gone, as destroy promises. When the reaper is this
			// replica's, answer once it has deleted the ports too.
			return h.awaitReap(ctx, n.ID)
		}
		if err != nil {
			// Still running: the mark must not describe a later stop made
			// outside quintupleo.
			if n, d, ferr := h.find(ctx, u); ferr == nil && d.State.Active() && d.State != virt.StateShutdown {
				h.clearReason(ctx, n)
			}
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
