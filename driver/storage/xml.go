package storage

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"

	"libvirt.org/go/libvirtxml"

	"quintupleo/virt"
)

// poolXML renders the pool as libvirt 9.0 writes a dir pool (checked
// against its test driver's default pool): single quotes, two-space indent,
// an empty <source>, no <permissions> (there is no directory to read them
// from).
func poolXML(p Pool, target string, info PoolInfo) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<pool type='dir'>\n  <name>%s</name>\n  <uuid>%s</uuid>\n", esc(p.Name), p.UUID)
	fmt.Fprintf(&b, "  <capacity unit='bytes'>%d</capacity>\n  <allocation unit='bytes'>%d</allocation>\n  <available unit='bytes'>%d</available>\n",
		info.Capacity, info.Allocation, info.Available)
	fmt.Fprintf(&b, "  <source>\n  </source>\n  <target>\n    <path>%s</path>\n  </target>\n</pool>\n", esc(target))
	return b.String()
}

// volumeXML renders a volume as libvirt writes a dir pool's file. The
// format is raw: that is what a Cinder volume is to the guest, whatever
// format vol-create-as asked for.
func volumeXML(v Volume) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<volume type='file'>\n  <name>%s</name>\n  <key>%s</key>\n", esc(v.Name), esc(v.Key))
	fmt.Fprintf(&b, "  <capacity unit='bytes'>%d</capacity>\n  <allocation unit='bytes'>%d</allocation>\n", v.CapacityBytes, v.AllocationBytes)
	fmt.Fprintf(&b, "  <target>\n    <path>%s</path>\n    <format type='raw'/>\n  </target>\n</volume>\n", esc(v.Path))
	return b.String()
}

// esc escapes text for an element's content or a single-quoted attribute.
func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return strings.ReplaceAll(b.String(), "'", "&apos;")
}

// poolDef is what a pool definition names.
type poolDef struct{ Name, UUID string }

// parsePoolXML reads a pool definition (virsh pool-define-as builds one).
func parsePoolXML(s string) (poolDef, error) {
	if err := virt.CheckXML(s, "(storage_pool_definition)", virt.FromStorage); err != nil {
		return poolDef{}, err
	}
	var doc libvirtxml.StoragePool
	if err := doc.Unmarshal(s); err != nil {
		return poolDef{}, virt.XMLError(virt.FromXML, fmt.Sprintf("(storage_pool_definition):%s", err), err)
	}
	if doc.Name == "" {
		return poolDef{}, virt.NoName(from)
	}
	return poolDef{Name: doc.Name, UUID: doc.UUID}, nil
}

// volumeDef is what a volume definition names.
type volumeDef struct {
	name     string
	capacity uint64 // bytes
	format   string
}

// parseVolumeXML reads a volume definition (virsh vol-create-as builds
// one) with libvirt's checks for what a creation needs.
func parseVolumeXML(s string) (volumeDef, error) {
	if err := virt.CheckXML(s, "(storage_volume_definition)", virt.FromStorage); err != nil {
		return volumeDef{}, err
	}
	var doc libvirtxml.StorageVolume
	if err := doc.Unmarshal(s); err != nil {
		return volumeDef{}, virt.XMLError(virt.FromXML, fmt.Sprintf("(storage_volume_definition):%s", err), err)
	}
	if doc.Name == "" {
		return volumeDef{}, virt.XMLError(from, "missing volume name element", nil)
	}
	if strings.Contains(doc.Name, "/") {
		return volumeDef{}, virt.XMLError(from, fmt.Sprintf("volume name '%s' cannot contain '/'", doc.Name), nil)
	}
	if doc.Capacity == nil {
		return volumeDef{}, virt.XMLError(from, "missing capacity element", nil)
	}
	capacity, err := scaled(doc.Capacity.Value, doc.Capacity.Unit)
	if err != nil {
		return volumeDef{}, err
	}
	def := volumeDef{name: doc.Name, capacity: capacity, format: "raw"}
	if doc.Target != nil && doc.Target.Format != nil && doc.Target.Format.Type != "" {
		def.format = doc.Target.Format.Type
	}
	return def, nil
}

// scaled is value in unit as bytes, with libvirt's units (virScaleInteger:
// b/bytes, k/KiB = 1024, KB = 1000, …; no unit is bytes).
func scaled(value uint64, unit string) (uint64, error) {
	if unit == "" || unit == "b" || unit == "bytes" {
		return value, nil
	}
	powers := "kmgtpe"
	i := strings.IndexByte(powers, strings.ToLower(unit[:1])[0])
	base := uint64(1024)
	switch {
	case i < 0 || len(unit) > 3:
		return 0, virt.InvalidArg(from, "unknown suffix '"+unit+"'")
	case len(unit) == 2 && unit[1] == 'B':
		base = 1000
	case len(unit) == 3 && unit[1:] != "iB", len(unit) == 2 && unit[1] != 'B':
		return 0, virt.InvalidArg(from, "unknown suffix '"+unit+"'")
	}
	out := value
	for range i + 1 {
		if out > ^uint64(0)/base {
			return 0, virt.InvalidArg(from, "value too large: "+strconv.FormatUint(value, 10)+unit)
		}
		out *= base
	}
	return out, nil
}
