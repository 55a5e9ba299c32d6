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
	FieldTitle
	FieldMetadata
	// FieldOther is a part DomainSpec does not model; Change.What names it.
	FieldOther
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
	case FieldTitle:
		return "title"
	case FieldMetadata:
		return "metadata"
	case FieldOther:
		return "other"
	}
	return "unknown field"
}

// Change is one changed part: a Field, or for FieldOther the part named by
// What ("<clock>", "machine type").
type Change struct {
	Field Field
	What  string
}

func (c Change) String() string {
	if c.Field == FieldOther {
		return c.What
	}
	return c.Field.String()
}

// Changes is the set of parts an edited definition changes: fields in Field
// order, then the unmodelled parts.
type Changes []Change

// Has reports whether f changed.
func (c Changes) Has(f Field) bool {
	return slices.ContainsFunc(c, func(g Change) bool { return g.Field == f })
}

// Without is c minus the fields fs.
func (c Changes) Without(fs ...Field) Changes {
	return slices.DeleteFunc(slices.Clone(c), func(g Change) bool { return slices.Contains(fs, g.Field) })
}

// Names are the parts' display names, in order.
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
			out = append(out, Change{Field: f})
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
	add(o.Title != n.Title, FieldTitle)
	add(o.Metadata != n.Metadata && metadataKey(o.Metadata) != metadataKey(n.Metadata), FieldMetadata)
	return out
}

// Changes is Diff(old, d.Spec) and, after it, every part DomainSpec does not
// model that d changes from old as RenderXML writes it (sections.go). A part
// of a disk or NIC is not reported when the disks or NICs changed anyway.
func (d Definition) Changes(old DomainSpec) Changes {
	out := Diff(old, d.Spec)
	if d.rest == nil {
		return out
	}
	old.Metadata, old.ID = "", -1 // not a section; runtime-only
	rendered, err := Parse(RenderXML(old, virt.XMLInactive))
	if err != nil {
		// RenderXML's output always parses (FuzzParseXML); compare with nothing.
		rendered = Definition{}
	}
	before := map[string]string{}
	for _, s := range rendered.rest {
		before[s.key] = s.canon
	}
	seen := map[string]bool{}
	report := func(s section) {
		if seen[s.name] || (s.key == "devices/disk" && out.Has(FieldDisks)) || (s.key == "devices/interface" && out.Has(FieldInterfaces)) {
			return
		}
		seen[s.name] = true
		out = append(out, Change{Field: FieldOther, What: s.name})
	}
	after := map[string]bool{}
	for _, s := range d.rest {
		after[s.key] = true
		if before[s.key] != s.canon {
			report(s)
		}
	}
	for _, s := range rendered.rest {
		if !after[s.key] {
			report(s) // left out, and libvirt has no default for it
		}
	}
	return out
}
