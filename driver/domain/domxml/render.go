package domxml

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"quintupleo/virt"
)

// RenderXML writes the domain XML the way libvirt does: <domain type='kvm'
// [id='N']>, two-space indent, single-quoted attributes, one element per line,
// the qemu driver's element order. flags are virDomainXMLFlags: virt.XMLInactive
// drops the id and runtime-only elements (interface target dev, aliases);
// XMLMigratable drops aliases; XMLSecure and XMLUpdateCPU change nothing
// (nothing secret is rendered; the CPU is host-passthrough).
func RenderXML(spec DomainSpec, flags uint32) string {
	s := spec.normalized()
	live := s.ID > 0 && flags&virt.XMLInactive == 0
	alias := live && flags&virt.XMLMigratable == 0

	w := &xmlWriter{}
	if live {
		w.open("domain", "type", xmlDomainType, "id", strconv.FormatInt(int64(s.ID), 10))
	} else {
		w.open("domain", "type", xmlDomainType)
	}
	w.text("name", s.Name)
	w.text("uuid", s.UUID.String())
	if s.Title != "" {
		w.text("title", s.Title)
	}
	if s.Description != "" {
		w.text("description", s.Description)
	}
	if s.Metadata != "" {
		w.block(formatMetadata(s.Metadata, w.depth))
	}
	w.text("memory", strconv.FormatUint(s.MemoryKiB, 10), "unit", "KiB")
	w.text("currentMemory", strconv.FormatUint(s.MemoryKiB, 10), "unit", "KiB")
	w.text("vcpu", strconv.FormatUint(uint64(s.VCPUs), 10), "placement", "static")

	if s.Firmware == FirmwareEFI {
		w.open("os", "firmware", FirmwareEFI)
	} else {
		w.open("os")
	}
	w.text("type", "hvm", "arch", xmlArch, "machine", xmlMachine)
	w.empty("boot", "dev", s.BootDev)
	w.close("os")

	w.open("features")
	w.empty("acpi")
	w.empty("apic")
	w.close("features")
	w.empty("cpu", "mode", "host-passthrough", "check", "none", "migratable", "on")
	w.empty("clock", "offset", "utc")
	w.text("on_poweroff", "destroy")
	w.text("on_reboot", "restart")
	w.text("on_crash", "destroy")

	w.open("devices")
	w.text("emulator", xmlEmulator)
	busIndex := map[string]int{}
	// PCI slots as libvirt assigns them on pc-i440fx: 0 host bridge, 1
	// PIIX3 (IDE, USB), 2 the primary video, then NICs, then virtio disks.
	ifSlot := func(i int) int { return firstPCISlot + i }
	slots := &pciSlots{next_: firstPCISlot + len(s.Interfaces)}
	for _, d := range s.Disks {
		w.open("disk", "type", "file", "device", d.Device)
		if d.Device == "disk" {
			w.empty("driver", "name", "qemu", "type", "qcow2")
		} else {
			w.empty("driver", "name", "qemu", "type", "raw")
		}
		if d.Source != "" {
			w.empty("source", "file", d.Source)
		}
		if d.Target != "" {
			w.empty("target", "dev", d.Target, "bus", d.Bus)
		}
		if d.Device == "cdrom" || d.Device == "floppy" {
			w.empty("readonly")
		}
		if alias {
			w.empty("alias", "name", diskAlias(d.Bus, busIndex[d.Bus]))
		}
		if d.Bus == "virtio" {
			w.empty("address", pciAddress(slots.next())...)
		} else if a := driveAddress(d.Bus, d.Target); a != nil {
			w.empty("address", a...)
		}
		w.close("disk")
		busIndex[d.Bus]++
	}
	for i, ifc := range s.Interfaces {
		w.open("interface", "type", "network")
		if ifc.MAC != "" {
			w.empty("mac", "address", ifc.MAC)
		}
		w.empty("source", "network", ifc.Network)
		if live && ifc.Target != "" {
			w.empty("target", "dev", ifc.Target)
		}
		w.empty("model", "type", ifc.Model)
		if alias {
			w.empty("alias", "name", "net"+strconv.Itoa(i))
		}
		w.empty("address", pciAddress(ifSlot(i))...)
		w.close("interface")
	}
	w.open("serial", "type", "pty")
	w.open("target", "type", "isa-serial", "port", "0")
	w.empty("model", "name", "isa-serial")
	w.close("target")
	if alias {
		w.empty("alias", "name", "serial0")
	}
	w.close("serial")
	w.open("console", "type", "pty")
	w.empty("target", "type", "serial", "port", "0")
	if alias {
		w.empty("alias", "name", "serial0")
	}
	w.close("console")
	w.close("devices")
	w.close("domain")
	return w.b.String()
}

// diskAlias names a disk as qemu's driver does for its bus.
func diskAlias(bus string, n int) string {
	switch bus {
	case "virtio":
		return "virtio-disk" + strconv.Itoa(n)
	case "scsi":
		return "scsi0-0-0-" + strconv.Itoa(n)
	default:
		return bus + "0-0-" + strconv.Itoa(n)
	}
}

// xmlWriter writes libvirt-style XML: every element on its own line, indented
// two spaces per level, attributes single-quoted. Attributes are given as
// name, value pairs.
type xmlWriter struct {
	b     strings.Builder
	depth int
}

func (w *xmlWriter) start(name string, attrs []string) {
	for range w.depth {
		w.b.WriteString("  ")
	}
	w.b.WriteByte('<')
	w.b.WriteString(name)
	for i := 0; i+1 < len(attrs); i += 2 {
		w.b.WriteByte(' ')
		w.b.WriteString(attrs[i])
		w.b.WriteString("='")
		w.b.WriteString(escapeXML(attrs[i+1]))
		w.b.WriteByte('\'')
	}
}

// open writes <name …> and indents what follows.
func (w *xmlWriter) open(name string, attrs ...string) {
	w.start(name, attrs)
	w.b.WriteString(">\n")
	w.depth++
}

// empty writes <name …/>.
func (w *xmlWriter) empty(name string, attrs ...string) {
	w.start(name, attrs)
	w.b.WriteString("/>\n")
}

// text writes <name …>text</name> on one line.
func (w *xmlWriter) text(name, text string, attrs ...string) {
	w.start(name, attrs)
	w.b.WriteByte('>')
	w.b.WriteString(escapeXML(text))
	w.b.WriteString("</")
	w.b.WriteString(name)
	w.b.WriteString(">\n")
}

// block writes preformatted XML whose inner lines are already indented.
func (w *xmlWriter) block(x string) {
	for range w.depth {
		w.b.WriteString("  ")
	}
	w.b.WriteString(x)
	w.b.WriteByte('\n')
}

// close writes </name>.
func (w *xmlWriter) close(name string) {
	w.depth--
	for range w.depth {
		w.b.WriteString("  ")
	}
	w.b.WriteString("</")
	w.b.WriteString(name)
	w.b.WriteString(">\n")
}

// clientPatterns are phrases the line-based clients search dumpxml output for
// (awk '/mac address/', awk '/boot dev=/', sed '/<boot \(dev\|order\)/d');
// in user text their space is written as a character reference so that only
// the real elements match.
var clientPatterns = []string{"mac address", "boot dev", "boot order"}

// escapeXML escapes text or an attribute value as libvirt does (all five
// special characters), keeps it on one line, replaces characters XML cannot
// carry with U+FFFD, and defuses clientPatterns.
func escapeXML(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '\'':
			b.WriteString("&apos;")
		case '"':
			b.WriteString("&quot;")
		case '\n':
			b.WriteString("&#10;")
		case '\r':
			b.WriteString("&#13;")
		case '\t':
			b.WriteString("&#9;")
		default:
			if !isXMLChar(r) {
				r = utf8.RuneError
			}
			b.WriteRune(r)
		}
	}
	return defusePatterns(b.String())
}

// defusePatterns writes the space of clientPatterns in escaped text as a
// character reference.
func defusePatterns(out string) string {
	for _, p := range clientPatterns {
		if strings.Contains(out, p) {
			out = strings.ReplaceAll(out, p, strings.Replace(p, " ", "&#32;", 1))
		}
	}
	return out
}

// isXMLChar reports whether r may appear in an XML 1.0 document.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		(r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) ||
		(r >= 0x10000 && r <= 0x10FFFF)
}
