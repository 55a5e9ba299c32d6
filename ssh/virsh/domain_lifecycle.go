// Domain lifecycle: start, destroy, shutdown, reboot, reset, autostart.

package virsh

import (
	"github.com/digitalocean/go-libvirt"
)

// lifecycleAction is a command that looks a domain up, asks the server for
// one transition and reports it in virsh's words (each message is formatted
// with the domain's name).
type lifecycleAction struct {
	call       func(l *libvirt.Libvirt, d libvirt.Domain, c *cmdArgs) error
	done, fail string
}

// The lifecycle actions, as commandTable names them.
var (
	destroyAction = lifecycleAction{
		call: func(l *libvirt.Libvirt, d libvirt.Domain, c *cmdArgs) error {
			if c.has("graceful") {
				return l.DomainDestroyFlags(d, libvirt.DomainDestroyGraceful)
			}
			return l.DomainDestroy(d)
		},
		done: "Domain '%s' destroyed\n", fail: "Failed to destroy domain '%s'",
	}
	shutdownAction = lifecycleAction{
		call: func(l *libvirt.Libvirt, d libvirt.Domain, _ *cmdArgs) error { return l.DomainShutdown(d) },
		done: "Domain '%s' is being shutdown\n", fail: "Failed to shutdown domain '%s'",
	}
	rebootAction = lifecycleAction{
		call: func(l *libvirt.Libvirt, d libvirt.Domain, _ *cmdArgs) error { return l.DomainReboot(d, 0) },
		done: "Domain '%s' is being rebooted\n", fail: "Failed to reboot domain '%s'",
	}
	resetAction = lifecycleAction{
		call: func(l *libvirt.Libvirt, d libvirt.Domain, _ *cmdArgs) error { return l.DomainReset(d, 0) },
		done: "Domain '%s' was reset\n", fail: "Failed to reset domain '%s'",
	}
)

func (a lifecycleAction) run(v *vsh, c *cmdArgs) error {
	d, err := v.lookup(c, byAll)
	if err != nil {
		return err
	}
	if err := a.call(v.l, d, c); err != nil {
		return v.failed(err, a.fail, d.Name)
	}
	v.extra(a.done, d.Name)
	return nil
}

func cmdStart(v *vsh, c *cmdArgs) error {
	d, err := v.lookup(c, byName|byUUID)
	if err != nil {
		return err
	}
	if d.ID != -1 {
		v.errorf("Domain is already active")
		return errFailed
	}
	var flags uint32
	if c.has("paused") {
		flags |= uint32(libvirt.DomainStartPaused)
	}
	if c.has("autodestroy") {
		flags |= uint32(libvirt.DomainStartAutodestroy)
	}
	if c.has("bypass-cache") {
		flags |= uint32(libvirt.DomainStartBypassCache)
	}
	if c.has("force-boot") {
		flags |= uint32(libvirt.DomainStartForceBoot)
	}
	if c.has("reset-nvram") {
		flags |= uint32(libvirt.DomainStartResetNvram)
	}
	if flags != 0 {
		_, err = v.l.DomainCreateWithFlags(d, flags)
	} else {
		err = v.l.DomainCreate(d)
	}
	if err != nil {
		return v.failed(err, "Failed to start domain '%s'", d.Name)
	}
	v.extra("Domain '%s' started\n", d.Name)
	return nil
}

func cmdAutostart(v *vsh, c *cmdArgs) error {
	d, err := v.lookup(c, byAll)
	if err != nil {
		return err
	}
	on := int32(1)
	if c.has("disable") {
		on = 0
	}
	if err := v.l.DomainSetAutostart(d, on); err != nil {
		if on == 1 {
			return v.failed(err, "Failed to mark domain '%s' as autostarted", d.Name)
		}
		return v.failed(err, "Failed to unmark domain '%s' as autostarted", d.Name)
	}
	if on == 1 {
		v.extra("Domain '%s' marked as autostarted\n", d.Name)
	} else {
		v.extra("Domain '%s' unmarked as autostarted\n", d.Name)
	}
	return nil
}

// suspend and resume (virsh-domain.c cmdSuspend, cmdResume).
var (
	suspendAction = lifecycleAction{
		call: func(l *libvirt.Libvirt, d libvirt.Domain, _ *cmdArgs) error { return l.DomainSuspend(d) },
		done: "Domain '%s' suspended\n", fail: "Failed to suspend domain '%s'",
	}
	resumeAction = lifecycleAction{
		call: func(l *libvirt.Libvirt, d libvirt.Domain, _ *cmdArgs) error { return l.DomainResume(d) },
		done: "Domain '%s' resumed\n", fail: "Failed to resume domain '%s'",
	}
)

// cmdInjectNMI is virsh's inject-nmi: no message either way but the
// libvirt error.
func cmdInjectNMI(v *vsh, c *cmdArgs) error {
	d, err := v.lookup(c, byAll)
	if err != nil {
		return err
	}
	if err := v.l.DomainInjectNmi(d, 0); err != nil {
		v.libvirtError(err)
		return errFailed
	}
	return nil
}
