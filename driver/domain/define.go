package domain

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"quintupleo/driver/domain/domxml"
	"quintupleo/nodes"
	"quintupleo/virt"
)

// bootDevice is the libvirt boot device of the node's next start.
func (h *Driver) bootDevice(n nodes.Node) string {
	if h.act.BootDevice(n) == nodes.BootNetwork {
		return domxml.BootNetwork
	}
	return domxml.BootHD
}

// specOf is the domain XML model of a node.
func (h *Driver) specOf(ctx context.Context, n nodes.Node, d Domain) domxml.DomainSpec {
	spec := domxml.DomainSpec{
		Name:      d.Name,
		UUID:      d.UUID,
		ID:        d.ID,
		MemoryKiB: d.MaxMemoryKiB,
		VCPUs:     d.VCPUs,
		BootDev:   h.bootDevice(n),
		Firmware:  domxml.FirmwareBIOS,
		Disks:     h.disksOf(ctx, n),
	}
	k, ok := keptOf(n.Metadata)
	if !ok {
		h.log.Warn("domain: the <metadata> kept in the cloud is not well-formed XML; not shown", "domain", d.Name, "uuid", d.UUID)
	}
	spec.Title, spec.Description, spec.Metadata = k.Title, k.Description, k.Metadata
	if spec.Description == "" && n.Status == "ERROR" && n.Fault != "" {
		spec.Description = "Nova reports ERROR: " + n.Fault
	}
	for _, p := range n.Ports {
		spec.Interfaces = append(spec.Interfaces, domxml.Interface{MAC: p.MAC, Network: h.networkName(p.Network), Model: "virtio"})
	}
	return spec
}

// XMLDesc answers virDomainGetXMLDesc; flags are virDomainXMLFlags.
func (h *Driver) XMLDesc(ctx context.Context, u virt.UUID, flags uint32) (string, error) {
	n, d, err := h.find(ctx, u)
	if err != nil {
		return "", err
	}
	return domxml.RenderXML(h.specOf(ctx, n, d), flags), nil
}

// keptFields are the changes define honours by keeping them in the cloud
// (keep.go).
var keptFields = []domxml.Field{domxml.FieldTitle, domxml.FieldDescription, domxml.FieldMetadata}

// DefineXML answers virDomainDefineXML(Flags) for an existing domain: the
// changes the cloud can make are the boot device (server metadata, as OVB
// does) and <title>, <description> and <metadata> (kept in server metadata,
// keep.go). Anything else is refused, naming what cannot change, before
// anything is written. What DomainSpec does not model is compared too
// (domxml.Definition.Changes), so a change is never accepted and lost.
func (h *Driver) DefineXML(ctx context.Context, xml string, _ uint32) (Domain, error) {
	def, err := domxml.Parse(xml)
	if err != nil {
		return Domain{}, err
	}
	spec := def.Spec
	v, err := h.current(ctx)
	if err != nil {
		return Domain{}, err
	}
	i, ok := v.byUUID[spec.UUID]
	if spec.UUID == (virt.UUID{}) {
		i, ok = v.byName[spec.Name]
	}
	if !ok {
		return h.defineNew(ctx, xml, v)
	}
	n, d := v.nodes[i], v.doms[i]
	if isTransient(n) && h.prov != nil {
		return h.persist(ctx, xml, n, d)
	}
	changes := def.Changes(h.specOf(ctx, n, d))
	if refused := changes.Without(append(keptFields, domxml.FieldBootDevice)...); len(refused) > 0 {
		return Domain{}, virt.ConfigUnsupported(from, fmt.Sprintf("cannot change %s of domain '%s' in the cloud; only the boot device, <title>, <description> and <metadata> can be changed", joinList(refused.Names()), d.Name))
	}
	if changes.Has(domxml.FieldBootDevice) && spec.BootDev != domxml.BootHD && spec.BootDev != domxml.BootNetwork {
		return Domain{}, unsupportedBootDevice(spec.BootDev)
	}
	if slices.ContainsFunc(keptFields, changes.Has) {
		k, _ := keptOf(n.Metadata)
		if changes.Has(domxml.FieldTitle) {
			k.Title = spec.Title
		}
		if changes.Has(domxml.FieldDescription) {
			k.Description = spec.Description
		}
		if changes.Has(domxml.FieldMetadata) {
			k.Metadata = spec.Metadata
		}
		if err := h.keep(ctx, n, d.Name, k); err != nil {
			return Domain{}, err
		}
	}
	if changes.Has(domxml.FieldBootDevice) {
		if err := h.setBootDevice(ctx, n, spec.BootDev); err != nil {
			return Domain{}, err
		}
	}
	return h.LookupByUUID(ctx, d.UUID)
}

// setBootDevice makes dev (a <boot dev>) the node's next boot device.
func (h *Driver) setBootDevice(ctx context.Context, n nodes.Node, dev string) error {
	var bd nodes.BootDevice
	switch dev {
	case domxml.BootNetwork:
		bd = nodes.BootNetwork
	case domxml.BootHD:
		bd = nodes.BootDisk
	default:
		return unsupportedBootDevice(dev)
	}
	return FromNodes(h.act.SetBootDevice(ctx, n.ID, bd))
}

func unsupportedBootDevice(dev string) *virt.Error {
	return virt.ConfigUnsupported(from, fmt.Sprintf("boot device '%s' is not supported by this cloud", dev))
}

// joinList is "a", "a and b", "a, b and c".
func joinList(items []string) string {
	if len(items) <= 1 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// Undefine answers virDomainUndefine(Flags): provision.go.
func (h *Driver) Undefine(ctx context.Context, u virt.UUID, flags uint32) error {
	return h.undefine(ctx, u, flags)
}

// networkName is the libvirt name of the cloud network a port is on.
func (h *Driver) networkName(cloudName string) string {
	if h.cfg.NetworkName == nil {
		return cloudName
	}
	return h.cfg.NetworkName(cloudName)
}
