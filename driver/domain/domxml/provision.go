package domxml

import (
	"fmt"
	"slices"
	"strings"

	"libvirt.org/go/libvirtxml"

	"quintupleo/virt"
)

// The definition of a NEW domain: what the cloud is asked to create. ParseXML
// checks the document with libvirt's rules and wording; libvirtxml, which
// models every element of libvirt's schema, then reads the parts a creation
// needs (interface and disk kinds and sources) so that nothing it can express
// is misread by a hand-written reader.

// NewInterface is one NIC of a new domain: a Neutron port to create.
type NewInterface struct {
	MAC string // lowercase, as libvirt writes it; "" = the cloud picks one
	// Source is <source network='…'/> or <source bridge='…'/>; "" when the
	// interface names none (type 'user', 'ethernet'): the default network.
	Source string
	Model  string
}

// NewDomain is a domain XML read for creation.
type NewDomain struct {
	Spec       DomainSpec // as ParseXML reads it (the same checks, the same wording)
	Interfaces []NewInterface
	// Disk is the source of the one disk (a file, a block device or a
	// pool's volume): driver/domain boots the server from it when it is a
	// volume of the storage pool.
	Disk DiskSource
	// Ignored lists the elements that have no meaning on Nova, which a new
	// domain may carry and the cloud does not model (features, clock,
	// graphics, controllers, …), as "name" or "devices/name", for the log
	// and the documentation.
	Ignored []string
}

// handledTop and handledDevices are the elements a creation reads; every
// other element is accepted and listed in NewDomain.Ignored.
var (
	handledTop     = []string{"name", "uuid", "title", "description", "metadata", "memory", "currentMemory", "vcpu", "os", "devices"}
	handledDevices = []string{"interface", "disk"}
)

// ParseNew reads the XML of a domain to create. Its errors are ParseXML's,
// plus VIR_ERR_CONFIG_UNSUPPORTED for what a cloud server cannot have.
func ParseNew(s string) (NewDomain, error) {
	spec, err := ParseXML(s)
	if err != nil {
		return NewDomain{}, err
	}
	var doc libvirtxml.Domain
	if err := doc.Unmarshal(s); err != nil {
		// ParseXML accepted it, so this is a value libvirtxml's types cannot
		// hold (an out-of-range number): libvirt would refuse it too.
		return NewDomain{}, virt.XMLError(virt.FromXML, err.Error(), err)
	}
	nd := NewDomain{Spec: spec}
	if doc.Devices != nil {
		nd.Disk = newDiskSource(doc.Devices.Disks)
		if nd.Interfaces, err = newInterfaces(doc.Devices.Interfaces); err != nil {
			return NewDomain{}, err
		}
		if err := checkDisks(doc.Devices.Disks); err != nil {
			return NewDomain{}, err
		}
		if len(doc.Devices.Hostdevs) > 0 {
			return NewDomain{}, virt.ConfigUnsupported(from, "host device passthrough (<hostdev>) is not supported by this cloud")
		}
	}
	if spec.BootDev != BootHD && spec.BootDev != BootNetwork {
		return NewDomain{}, virt.ConfigUnsupported(from, fmt.Sprintf("boot device '%s' is not supported by this cloud", spec.BootDev))
	}
	root, err := parseTree(s)
	if err != nil {
		return NewDomain{}, err
	}
	nd.Ignored = ignoredElements(root)
	return nd, nil
}

// newInterfaces maps each <interface> to a port on a network: a virtual
// network or a bridge names the network; user-mode and ethernet NICs get the
// default one. Kinds that attach to host hardware cannot be given.
func newInterfaces(ifcs []libvirtxml.DomainInterface) ([]NewInterface, error) {
	var out []NewInterface
	for _, ifc := range ifcs {
		var ni NewInterface
		if ifc.MAC != nil {
			mac, err := parseMAC(ifc.MAC.Address)
			if err != nil {
				return nil, err
			}
			ni.MAC = mac
		}
		if ifc.Model != nil {
			ni.Model = ifc.Model.Type
		}
		src := ifc.Source
		switch {
		case src == nil, src.User != nil, src.Ethernet != nil:
		case src.Network != nil:
			ni.Source = src.Network.Network
		case src.Bridge != nil:
			ni.Source = src.Bridge.Bridge
		default:
			return nil, virt.ConfigUnsupported(from, fmt.Sprintf("interface type '%s' is not supported by this cloud; use type 'network' or 'bridge'", interfaceType(src)))
		}
		out = append(out, ni)
	}
	return out, nil
}

// interfaceType names the kind of an interface source as <interface type>.
func interfaceType(src *libvirtxml.DomainInterfaceSource) string {
	switch {
	case src.Direct != nil:
		return "direct"
	case src.Hostdev != nil:
		return "hostdev"
	case src.VHostUser != nil:
		return "vhostuser"
	case src.VDPA != nil:
		return "vdpa"
	case src.Internal != nil:
		return "internal"
	case src.Server != nil:
		return "server"
	case src.Client != nil:
		return "client"
	case src.MCast != nil:
		return "mcast"
	case src.UDP != nil:
		return "udp"
	case src.VDS != nil:
		return "vds"
	}
	return "null"
}

// checkDisks allows what a Nova server has: one root disk (its contents are
// the boot image, its size the flavor's), and cdroms or floppies, which are
// ignored. Further disks would need volumes.
func checkDisks(disks []libvirtxml.DomainDisk) error {
	n := 0
	for _, d := range disks {
		if d.Device == "" || d.Device == "disk" || d.Device == "lun" {
			n++
		}
	}
	if n > 1 {
		return virt.ConfigUnsupported(from, fmt.Sprintf("a cloud server has one disk; this domain has %d", n))
	}
	return nil
}

// DiskSource is what a disk's <source> names: File for type 'file' and
// 'block' (the path), Pool and Volume for type 'volume'.
type DiskSource struct {
	File, Pool, Volume string
}

// newDiskSource is the source of the first disk (checkDisks allows one).
func newDiskSource(disks []libvirtxml.DomainDisk) DiskSource {
	for _, d := range disks {
		if (d.Device != "" && d.Device != "disk" && d.Device != "lun") || d.Source == nil {
			continue
		}
		switch src := d.Source; {
		case src.File != nil:
			return DiskSource{File: src.File.File}
		case src.Block != nil:
			return DiskSource{File: src.Block.Dev}
		case src.Volume != nil:
			return DiskSource{Pool: src.Volume.Pool, Volume: src.Volume.Volume}
		}
	}
	return DiskSource{}
}

// ignoredElements lists the elements of root a creation does not read.
func ignoredElements(root *element) []string {
	var out []string
	for _, c := range root.children {
		if c.name == "devices" {
			for _, d := range c.children {
				if !slices.Contains(handledDevices, d.name) {
					out = append(out, "devices/"+d.name)
				}
			}
			continue
		}
		if !slices.Contains(handledTop, c.name) {
			out = append(out, c.name)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// MemoryMiB is the memory of a new domain in MiB, rounded up: Nova's unit.
func (nd NewDomain) MemoryMiB() int {
	return int((nd.Spec.MemoryKiB + 1023) / 1024)
}

// IgnoredList is Ignored for a log line.
func (nd NewDomain) IgnoredList() string { return strings.Join(nd.Ignored, ",") }
