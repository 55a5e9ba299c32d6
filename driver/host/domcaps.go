package host

import (
	"context"
	"fmt"

	"quintupleo/virt"
)

// What the domain capabilities say the guests of this host can be: QEMU
// 7.2's pc-i440fx-7.2 KVM guest as libvirt 9.0 writes it, reduced to what
// the cloud honours or accepts (docs/semantics.md, Provisioning): the CPU
// mode dumpxml shows (host-passthrough), BIOS firmware only (no loader to
// choose), disks and cdroms on the buses define accepts, VNC graphics and
// the video models Nova's libvirt driver offers (hw_video_model), no host
// device passthrough, no TPM. A client such as virt-install builds its
// XML from it instead of guessing.

// Defaults of the domain capabilities query, as the domains show them.
const (
	capsEmulator = "/usr/bin/qemu-system-x86_64"
	capsArch     = "x86_64"
	capsMachine  = "pc-i440fx-7.2"
	capsVirtType = "kvm"
)

// DomainCapabilities answers virConnectGetDomainCapabilities. Empty
// arguments take the host's defaults, as libvirt's qemu driver does;
// others are refused with its wording.
func (h *Driver) DomainCapabilities(_ context.Context, emulator, arch, machine, virtType string, flags uint32) (string, error) {
	if flags != 0 {
		return "", invalidArg(fmt.Sprintf("unsupported flags (0x%x) in function qemuConnectGetDomainCapabilities", flags))
	}
	switch virtType {
	case "", "kvm", "qemu":
	default:
		return "", invalidArg("unknown virttype: " + virtType)
	}
	if virtType == "" {
		virtType = capsVirtType
	}
	switch arch {
	case "", capsArch:
	case "i686", "aarch64", "armv7l", "ppc64", "ppc64le", "s390x", "riscv64", "mips", "mipsel", "sparc", "sparc64":
		return "", invalidArg(fmt.Sprintf("unable to find any emulator to serve '%s' architecture", arch))
	default:
		return "", invalidArg("unknown architecture: " + arch)
	}
	if emulator != "" && emulator != capsEmulator {
		return "", invalidArg(fmt.Sprintf("unable to find any emulator to serve '%s' architecture", emulator))
	}
	switch machine {
	case "", "pc", capsMachine:
	default:
		return "", invalidArg(fmt.Sprintf("the machine '%s' is not supported by emulator '%s'", machine, capsEmulator))
	}
	return fmt.Sprintf(domainCapsXML, capsEmulator, virtType, capsMachine, capsArch), nil
}

// invalidArg is VIR_ERR_INVALID_ARG from the qemu driver.
func invalidArg(msg string) error { return virt.InvalidArg(from, msg) }

const domainCapsXML = `<domainCapabilities>
  <path>%s</path>
  <domain>%s</domain>
  <machine>%s</machine>
  <arch>%s</arch>
  <vcpu max='255'/>
  <iothreads supported='no'/>
  <os supported='yes'>
    <loader supported='no'/>
  </os>
  <cpu>
    <mode name='host-passthrough' supported='yes'>
      <enum name='hostPassthroughMigratable'>
        <value>on</value>
      </enum>
    </mode>
    <mode name='maximum' supported='no'/>
    <mode name='host-model' supported='no'/>
    <mode name='custom' supported='no'/>
  </cpu>
  <memoryBacking supported='no'/>
  <devices>
    <disk supported='yes'>
      <enum name='diskDevice'>
        <value>disk</value>
        <value>cdrom</value>
      </enum>
      <enum name='bus'>
        <value>ide</value>
        <value>scsi</value>
        <value>virtio</value>
        <value>sata</value>
      </enum>
      <enum name='model'>
        <value>virtio</value>
      </enum>
    </disk>
    <graphics supported='yes'>
      <enum name='type'>
        <value>vnc</value>
      </enum>
    </graphics>
    <video supported='yes'>
      <enum name='modelType'>
        <value>vga</value>
        <value>cirrus</value>
        <value>virtio</value>
        <value>none</value>
      </enum>
    </video>
    <hostdev supported='no'/>
    <rng supported='no'/>
    <filesystem supported='no'/>
    <tpm supported='no'/>
    <redirdev supported='no'/>
    <channel supported='no'/>
  </devices>
  <features>
    <gic supported='no'/>
    <vmcoreinfo supported='no'/>
    <genid supported='no'/>
    <sev supported='no'/>
    <sgx supported='no'/>
  </features>
</domainCapabilities>
`
