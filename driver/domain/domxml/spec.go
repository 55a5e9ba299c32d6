package domxml

import (
	"slices"
	"strings"

	"quintupleo/virt"
)

// from is the error domain of the domain driver's errors: we present
// ourselves as the qemu driver.
const from = virt.FromQEMU

// Domain XML, the way libvirt's qemu driver writes it, and back.
//
// Clients parse dumpxml with line tools (see docs/semantics.md, "dumpxml"), so
// the rendering obeys, and xml_test.go checks with the real sh/awk/sed/tr:
//   - attributes in single quotes, one element per line, two-space indent;
//   - `<os>` holds exactly one `<boot dev='…'/>`, and `</os>` has its own line;
//   - the substring "mac address" appears only in `<mac address='…'/>` lines,
//     and "boot dev" only in the `<boot dev='…'/>` line: user text (names,
//     descriptions) has the space in such phrases written as `&#32;`, which
//     every XML parser reads back as a space;
//   - text never spans lines (newlines in text are written as `&#10;`).
//
// Parsing uses encoding/xml's tokenizer into a small element tree (libvirtxml
// would add a large dependency for the dozen fields we read, and we need the
// token positions to word syntax errors the way libxml2 does).

// Boot devices as written in <boot dev='…'/>.
const (
	BootHD      = "hd"
	BootNetwork = "network"
	BootCDROM   = "cdrom"
	BootFloppy  = "fd" // accepted by ParseXML as libvirt does; the cloud cannot boot it
)

// Firmware types, from the image's hw_firmware_type.
const (
	FirmwareBIOS = "bios"
	FirmwareEFI  = "efi"
)

// The fixed parts of the rendered XML: a Debian 12 KVM host.
const (
	xmlDomainType = "kvm"
	xmlArch       = "x86_64"
	xmlMachine    = "pc-i440fx-7.2"
	xmlEmulator   = "/usr/bin/qemu-system-x86_64"
)

// Interface is one NIC (one Neutron port).
type Interface struct {
	MAC     string // "52:54:00:00:00:01"
	Network string // Neutron network name → <source network='…'/>
	Target  string // optional target dev name, e.g. "tap…" (only rendered for active domains, as libvirt does)
	Model   string // "virtio" default
}

// Disk is one disk or cdrom.
type Disk struct {
	Device string // "disk" (default) or "cdrom"
	Target string // "vda"
	Bus    string // "virtio" (default for disks), "ide" (default for cdroms), "sata", "scsi"
	Source string // file path; for a "disk", "" shows Nova's /var/lib/nova/instances/<uuid>/disk
}

// RootDisk is the one disk a Nova server shows by default.
func RootDisk() Disk { return Disk{Device: "disk", Target: "vda", Bus: "virtio"} }

// DomainSpec is the part of a domain's XML that quintupleo renders and reads.
type DomainSpec struct {
	Name        string
	UUID        virt.UUID
	ID          int32 // -1 inactive; rendered as id='N' on <domain> only when active (N > 0), like libvirt
	MemoryKiB   uint64
	VCPUs       uint16
	BootDev     string // "hd", "network", "cdrom"
	Firmware    string // "bios" (default) or "efi" — from the image's hw_firmware_type; efi renders <os firmware='efi'> as libvirt does
	Description string // optional, e.g. Nova server description / fault message for ERROR instances
	Title       string // optional one-line <title>
	// Metadata is <metadata> in its stored form (metadata.go): the element
	// as libvirt keeps it, written without indentation; "" = none.
	Metadata   string
	Interfaces []Interface
	Disks      []Disk
}

// normalized fills the defaults RenderXML and DiffSpec apply, so that "" and
// the default compare equal and MACs compare case-insensitively.
func (s DomainSpec) normalized() DomainSpec {
	if s.BootDev == "" {
		s.BootDev = BootHD
	}
	if s.Firmware == "" {
		s.Firmware = FirmwareBIOS
	}
	if s.VCPUs == 0 { // unknown flavor: libvirt never shows 0 vcpus
		s.VCPUs = 1
	}
	s.Interfaces = slices.Clone(s.Interfaces)
	for i := range s.Interfaces {
		ifc := &s.Interfaces[i]
		ifc.MAC = strings.ToLower(ifc.MAC)
		if ifc.Model == "" {
			ifc.Model = "virtio"
		}
	}
	s.Disks = slices.Clone(s.Disks)
	for i := range s.Disks {
		d := &s.Disks[i]
		if d.Device == "" {
			d.Device = "disk"
		}
		if d.Bus == "" {
			d.Bus = defaultBus(d.Device)
		}
		if d.Device == "disk" && d.Source == "" {
			// libvirt refuses a disk without a source ("missing source
			// information for device vda"); show where Nova's libvirt driver
			// keeps an instance's disks.
			d.Source = "/var/lib/nova/instances/" + s.UUID.String() + "/disk"
			if i > 0 {
				d.Source += "." + d.Target
			}
		}
	}
	return s
}

func defaultBus(device string) string {
	if device == "cdrom" || device == "floppy" {
		return "ide"
	}
	return "virtio"
}
