package domxml

import (
	"slices"

	"quintupleo/virt"
)

// Field is one part of a domain definition that Diff compares.
type Field int

// The fields, in the order Diff reports them.
const (
	FieldName Field = iota
	FieldUUID
	FieldDescription
	FieldMemory
	FieldVCPUs
	FieldBootDevice
	FieldFirmware
	FieldInterfaces
	FieldDisks
)

// String is how an error message names the field ("cannot change memory
// and vcpus of domain …").
func (f Field) String() string {
	switch f {
	case FieldName:
		return "name"
	case FieldUUID:
		return "uuid"
	case FieldDescription:
		return "description"
	case FieldMemory:
		return "memory"
	case FieldVCPUs:
		return "vcpus"
	case FieldBootDevice:
		return "boot device"
	case FieldFirmware:
		return "firmware"
	case FieldInterfaces:
		return "interfaces"
	case FieldDisks:
		return "disks"
	}
	return "unknown field"
}

// Changes is the set of fields an edited definition changes, in Field order.
type Changes []Field

// Has reports whether f changed.
func (c Changes) Has(f Field) bool { return slices.Contains(c, f) }

// Without is c minus f.
func (c Changes) Without(f Field) Changes {
	return slices.DeleteFunc(slices.Clone(c), func(g Field) bool { return g == f })
}

// Names are the fields' display names, in order.
func (c Changes) Names() []string {
	var out []string
	for _, f := range c {
		out = append(out, f.String())
	}
	return out
}

// Diff reports which fields changed between the current domain and an
// edited one. Runtime-only data (ID, interface target devs) is ignored,
// defaults equal their empty values (model virtio, firmware bios, boot hd,
// disk bus, 0 vcpus = 1), MACs compare case-insensitively, and a zero UUID
// in new (none given) is no change. Unchanged XML → no changes.
func Diff(old, new DomainSpec) Changes {
	if new.UUID == (virt.UUID{}) {
		new.UUID = old.UUID // none given: the edited domain is this one
	}
	o, n := old.normalized(), new.normalized()
	var out Changes
	add := func(changed bool, f Field) {
		if changed {
			out = append(out, f)
		}
	}
	add(o.Name != n.Name, FieldName)
	add(o.UUID != n.UUID, FieldUUID)
	add(o.Description != n.Description, FieldDescription)
	add(o.MemoryKiB != n.MemoryKiB, FieldMemory)
	add(o.VCPUs != n.VCPUs, FieldVCPUs)
	add(o.BootDev != n.BootDev, FieldBootDevice)
	add(o.Firmware != n.Firmware, FieldFirmware)
	stripTarget := func(ifcs []Interface) []Interface {
		for i := range ifcs {
			ifcs[i].Target = ""
		}
		return ifcs
	}
	add(!slices.Equal(stripTarget(o.Interfaces), stripTarget(n.Interfaces)), FieldInterfaces)
	add(!slices.Equal(o.Disks, n.Disks), FieldDisks)
	return out
}
