package domxml

import (
	"encoding/xml"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"

	"quintupleo/virt"
)

// Parsing: a small element tree (libxml.go), then libvirt's domain parser's
// checks and wording.

// element is a node of the small tree ParseXML reads the document into.
type element struct {
	name     string
	attrs    []xml.Attr
	children []*element
	text     strings.Builder
}

func (e *element) attr(name string) (string, bool) {
	for _, a := range e.attrs {
		if a.Name.Local == name && a.Name.Space == "" {
			return a.Value, true
		}
	}
	return "", false
}

func (e *element) child(name string) *element {
	for _, c := range e.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

func (e *element) all(name string) []*element {
	var out []*element
	for _, c := range e.children {
		if c.name == name {
			out = append(out, c)
		}
	}
	return out
}

// ParseXML reads a domain XML as `virsh define`/`edit` hands it to us
// (attributes may be double-quoted: Ironic's sed inserts <boot dev="network"/>)
// into a DomainSpec. Errors are *virt.Error with libvirt 9.0's codes and wording,
// as recorded from a real libvirtd (testdata/README): not well-formed XML is
// VIR_ERR_XML_DETAIL "(domain_definition):LINE: <libxml2 message>" with the
// context line; a wrong root, missing name, bad boot device, … are the
// messages libvirt's domain parser gives. The effective boot device is the
// first <os><boot dev>, or else the device with the lowest per-device
// <boot order='N'/> (interface → network, disk → hd, cdrom → cdrom, floppy →
// fd), or else hd. ID is the id attribute (-1 when absent); a missing <uuid>
// leaves UUID zero (libvirt would generate one; the caller decides).
func ParseXML(s string) (DomainSpec, error) {
	d, err := Parse(s)
	return d.Spec, err
}

// Definition is a parsed domain XML: what DomainSpec models, and the rest
// in canonical form, so that Changes can name every part an edit changes.
type Definition struct {
	Spec DomainSpec
	rest []section
}

// Parse reads a domain XML as ParseXML does and keeps what DomainSpec does
// not model for Changes.
func Parse(s string) (Definition, error) {
	spec, err := parseSpec(s)
	if err != nil {
		return Definition{}, err
	}
	root := parseRawTree(s)
	spec.Metadata = metadataOf(root)
	return Definition{Spec: spec, rest: sectionsOf(root, spec.MemoryKiB)}, nil
}

func parseSpec(s string) (DomainSpec, error) {
	root, err := parseTree(s)
	if err != nil {
		return DomainSpec{}, err
	}
	if root.name != "domain" {
		return DomainSpec{}, virt.XMLError(virt.FromXML, fmt.Sprintf("expecting root element of 'domain', not '%s'", root.name), nil)
	}
	spec := DomainSpec{ID: -1, BootDev: BootHD, Firmware: FirmwareBIOS}

	typ, ok := root.attr("type")
	if !ok || typ == "" {
		return DomainSpec{}, virt.Internal(from, "missing domain type attribute", nil)
	}
	switch typ {
	case "kvm", "qemu":
	case "none", "kqemu", "xen", "lxc", "uml", "openvz", "test", "vmware", "hyperv",
		"vbox", "phyp", "parallels", "bhyve", "vz":
		return DomainSpec{}, virt.ConfigUnsupported(from, fmt.Sprintf("Emulator '%s' does not support virt type '%s'", xmlEmulator, typ))
	default:
		return DomainSpec{}, virt.ConfigUnsupported(from, "invalid domain type "+typ)
	}
	if v, ok := root.attr("id"); ok {
		if id, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32); err == nil {
			spec.ID = int32(id)
		}
	}

	if n := root.child("name"); n != nil {
		spec.Name = strings.TrimSpace(n.text.String())
	}
	if spec.Name == "" {
		return DomainSpec{}, virt.NoName(virt.FromDom)
	}
	if strings.Contains(spec.Name, "/") {
		return DomainSpec{}, virt.XMLError(virt.FromXML, fmt.Sprintf("name %s cannot contain '/'", spec.Name), nil)
	}
	if u := root.child("uuid"); u != nil {
		id, ok := virt.ParseUUID(u.text.String())
		if !ok {
			return DomainSpec{}, virt.Internal(from, "malformed uuid element", nil)
		}
		spec.UUID = id
	}
	if d := root.child("description"); d != nil {
		spec.Description = d.text.String()
	}
	if t := root.child("title"); t != nil {
		spec.Title = t.text.String()
		if strings.Contains(spec.Title, "\n") {
			return DomainSpec{}, virt.XMLError(virt.FromDom, "Domain title can't contain newlines", nil)
		}
	}

	mem := root.child("memory")
	if mem == nil {
		return DomainSpec{}, virt.XMLError(virt.FromXML, "Memory size must be specified via <memory> or in the <numa> configuration", nil)
	}
	if spec.MemoryKiB, err = parseMemory(mem); err != nil {
		return DomainSpec{}, err
	}

	spec.VCPUs = 1
	if v := root.child("vcpu"); v != nil {
		n, err := strconv.ParseUint(strings.TrimSpace(v.text.String()), 10, 16)
		if err != nil {
			return DomainSpec{}, virt.XMLError(virt.FromXML, "maximum vcpus count must be an integer", nil)
		}
		if n == 0 {
			return DomainSpec{}, virt.Internal(from, "CPU IDs in <numa> exceed the <vcpu> count", nil)
		}
		spec.VCPUs = uint16(n)
	}

	os := root.child("os")
	if os == nil || os.child("type") == nil {
		return DomainSpec{}, virt.XMLError(virt.FromXML, "an os <type> must be specified", nil)
	}
	if fw, ok := os.attr("firmware"); ok {
		if fw != FirmwareBIOS && fw != FirmwareEFI {
			return DomainSpec{}, virt.XMLError(virt.FromXML, fmt.Sprintf("Invalid value for attribute 'firmware' in element 'os': '%s'.", fw), nil)
		}
		spec.Firmware = fw
	} else if l := os.child("loader"); l != nil {
		if t, _ := l.attr("type"); t == "pflash" {
			spec.Firmware = FirmwareEFI
		}
	}
	osBoot := ""
	for i, b := range os.all("boot") {
		dev, ok := b.attr("dev")
		if !ok {
			return DomainSpec{}, virt.XMLError(virt.FromXML, "Missing required attribute 'dev' in element 'boot'", nil)
		}
		switch dev {
		case BootHD, BootNetwork, BootCDROM, BootFloppy:
		default:
			return DomainSpec{}, virt.XMLError(virt.FromXML, fmt.Sprintf("Invalid value for attribute 'dev' in element 'boot': '%s'.", dev), nil)
		}
		if i == 0 {
			osBoot = dev
		}
	}

	// Devices, and their per-device boot order.
	type bootEntry struct {
		order uint64
		dev   string
	}
	var boots []bootEntry
	deviceBoot := func(e *element, dev string) error {
		b := e.child("boot")
		if b == nil {
			return nil
		}
		v, ok := b.attr("order")
		if !ok {
			return virt.XMLError(virt.FromXML, "Missing required attribute 'order' in element 'boot'", nil)
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return virt.XMLError(virt.FromXML, fmt.Sprintf("Invalid value for attribute 'order' in element 'boot': '%s'. Expected non-negative integer value", v), nil)
		}
		if n == 0 {
			return virt.XMLError(virt.FromXML, "Invalid value for attribute 'order' in element 'boot': Zero is not permitted", nil)
		}
		for _, o := range boots {
			if o.order == n {
				return virt.ConfigUnsupported(from, fmt.Sprintf("boot order '%d' used for more than one device", n))
			}
		}
		boots = append(boots, bootEntry{n, dev})
		return nil
	}
	if devs := root.child("devices"); devs != nil {
		for _, e := range devs.children {
			switch e.name {
			case "disk":
				d := Disk{Device: "disk"}
				if v, ok := e.attr("device"); ok && v != "" {
					d.Device = v
				}
				if t := e.child("target"); t != nil {
					d.Target, _ = t.attr("dev")
					d.Bus, _ = t.attr("bus")
				}
				if src := e.child("source"); src != nil {
					d.Source = diskSource(src)
				}
				spec.Disks = append(spec.Disks, d)
				bootAs := BootHD
				switch d.Device {
				case "cdrom":
					bootAs = BootCDROM
				case "floppy":
					bootAs = BootFloppy
				}
				if err := deviceBoot(e, bootAs); err != nil {
					return DomainSpec{}, err
				}
			case "interface":
				var ifc Interface
				if m := e.child("mac"); m != nil {
					v, _ := m.attr("address")
					mac, err := parseMAC(v)
					if err != nil {
						return DomainSpec{}, err
					}
					ifc.MAC = mac
				}
				if src := e.child("source"); src != nil {
					if v, ok := src.attr("network"); ok {
						ifc.Network = v
					} else if v, ok := src.attr("bridge"); ok {
						ifc.Network = v
					}
				}
				if t := e.child("target"); t != nil {
					ifc.Target, _ = t.attr("dev")
				}
				if m := e.child("model"); m != nil {
					ifc.Model, _ = m.attr("type")
				}
				spec.Interfaces = append(spec.Interfaces, ifc)
				if err := deviceBoot(e, BootNetwork); err != nil {
					return DomainSpec{}, err
				}
			case "hostdev", "redirdev", "filesystem":
				// Bootable in libvirt, not in the cloud: counted for the
				// duplicate check; winning the boot order is refused below.
				if err := deviceBoot(e, e.name); err != nil {
					return DomainSpec{}, err
				}
			}
		}
	}
	switch {
	case len(boots) > 0 && len(os.all("boot")) > 0:
		return DomainSpec{}, virt.ConfigUnsupported(from, "per-device boot elements cannot be used together with os/boot elements")
	case len(boots) > 0:
		first := slices.MinFunc(boots, func(a, b bootEntry) int {
			if a.order < b.order {
				return -1
			}
			return 1
		})
		if first.dev != BootHD && first.dev != BootNetwork && first.dev != BootCDROM && first.dev != BootFloppy {
			return DomainSpec{}, virt.ConfigUnsupported(from, fmt.Sprintf("booting from a <%s> device is not supported by this cloud", first.dev))
		}
		spec.BootDev = first.dev
	case osBoot != "":
		spec.BootDev = osBoot
	}
	return spec, nil
}

func diskSource(src *element) string {
	for _, a := range []string{"file", "dev", "name", "dir"} {
		if v, ok := src.attr(a); ok {
			return v
		}
	}
	pool, _ := src.attr("pool")
	vol, _ := src.attr("volume")
	if pool != "" || vol != "" {
		return pool + "/" + vol
	}
	return ""
}

// parseMAC reads a MAC address as libvirt's virMacAddrParse does (six
// colon-separated hex bytes, one or two digits each) and formats it the way
// libvirt writes it back (lowercase, two digits).
func parseMAC(s string) (string, error) {
	bad := virt.XMLError(virt.FromXML, fmt.Sprintf("unable to parse mac address '%s'", s), nil)
	parts := strings.Split(s, ":")
	if len(parts) != 6 {
		return "", bad
	}
	var b [6]byte
	for i, p := range parts {
		if len(p) == 0 || len(p) > 2 {
			return "", bad
		}
		n, err := strconv.ParseUint(p, 16, 8)
		if err != nil {
			return "", bad
		}
		b[i] = byte(n)
	}
	out := fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5])
	if b[0]&1 != 0 {
		return "", virt.XMLError(virt.FromXML, fmt.Sprintf("expected unicast mac address, found multicast '%s'", s), nil)
	}
	return out, nil
}

// parseMemory reads <memory unit='…'>N</memory> into KiB, rounding up, with
// the units libvirt's virScaleInteger knows (default KiB).
func parseMemory(e *element) (uint64, error) {
	raw := strings.TrimSpace(e.text.String())
	n, err := strconv.ParseUint(raw, 10, 64)
	if err != nil {
		return 0, virt.XMLError(virt.FromXML, fmt.Sprintf("Invalid value '%s' for element or attribute './memory[1]'", raw), nil)
	}
	unit, _ := e.attr("unit")
	scale, ok := unitScale(unit)
	if !ok {
		return 0, virt.InvalidArg(from, fmt.Sprintf("unknown suffix '%s'", unit))
	}
	hi, bytes := bits.Mul64(n, scale)
	if hi != 0 || bytes > math.MaxUint64-1023 {
		return 0, virt.InvalidArg(from, fmt.Sprintf("value too large: %s%s", raw, unit))
	}
	return (bytes + 1023) / 1024, nil
}

func unitScale(unit string) (uint64, bool) {
	if unit == "" {
		return 1024, true
	}
	u := strings.ToLower(unit)
	if u == "b" || u == "bytes" {
		return 1, true
	}
	p := strings.IndexByte("kmgtpe", u[0])
	if p < 0 {
		return 0, false
	}
	var base uint64
	switch u[1:] {
	case "", "ib":
		base = 1024
	case "b":
		base = 1000
	default:
		return 0, false
	}
	scale := uint64(1)
	for range p + 1 {
		scale *= base
	}
	return scale, true
}
