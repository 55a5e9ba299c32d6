package domxml

import (
	"fmt"
	"strconv"
)

// Device <address> elements, written as libvirt writes the addresses it
// assigns: a PCI address for NICs and virtio disks, a drive address for
// disks on IDE, SATA and SCSI buses (virDomainDiskDefAssignAddress). They
// depend only on the devices' order and targets, so every call renders the
// same.

// firstPCISlot is the first slot libvirt gives a device on pc-i440fx
// (slots 0 to 2 are the host bridge, the PIIX3 and the primary video).
const firstPCISlot = 3

// pciSlots hands out the slots after the NICs' in order.
type pciSlots struct{ next_ int }

func (p *pciSlots) next() int {
	s := p.next_
	p.next_++
	return s
}

// pciAddress is the attributes of <address type='pci'> for slot.
func pciAddress(slot int) []string {
	return []string{"type", "pci", "domain", "0x0000", "bus", "0x00", "slot", fmt.Sprintf("0x%02x", slot), "function", "0x0"}
}

// driveAddress is the attributes of <address type='drive'> for a disk with
// target dev on bus, or nil when the target has no index.
func driveAddress(bus, target string) []string {
	idx, ok := diskIndex(target)
	if !ok {
		return nil
	}
	var controller, busNo, unit int
	switch bus {
	case "ide":
		controller, busNo, unit = idx/4, (idx%4)/2, idx%2
	case "sata":
		controller, unit = idx/6, idx%6
	case "scsi":
		controller, unit = idx/7, idx%7
	case "fdc":
		unit = idx
	default:
		return nil
	}
	return []string{"type", "drive", "controller", strconv.Itoa(controller), "bus", strconv.Itoa(busNo),
		"target", "0", "unit", strconv.Itoa(unit)}
}

// diskIndex is virDiskNameToIndex: "hda" 0, "hdc" 2, "sdaa" 26.
func diskIndex(name string) (int, bool) {
	for _, p := range []string{"hd", "sd", "vd", "xvd", "fd", "ubd"} {
		if len(name) > len(p) && name[:len(p)] == p {
			idx := 0
			for i, c := range name[len(p):] {
				if c < 'a' || c > 'z' {
					return 0, false
				}
				if i > 0 {
					idx = (idx + 1) * 26
				}
				idx += int(c - 'a')
			}
			return idx, true
		}
	}
	return 0, false
}
