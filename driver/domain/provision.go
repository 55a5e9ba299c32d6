package domain

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"quintupleo/driver/domain/domxml"
	"quintupleo/nodes"
	"quintupleo/virt"
)

// Provisioner creates and deletes the cloud servers behind new domains
// (nodes.Provisioner).
type Provisioner interface {
	// Create makes the server and returns it SHUTOFF, or makes nothing.
	Create(ctx context.Context, spec nodes.CreateSpec) (nodes.Node, error)
	// Delete deletes the server and the ports created for it.
	Delete(ctx context.Context, id string) error
	// FlavorFor names the flavor Create would give spec.
	FlavorFor(ctx context.Context, spec nodes.CreateSpec) (string, error)
}

// undefineKnown are the undefine flags virsh sends. None has a meaning on
// Nova: no managed save, snapshot or checkpoint metadata, NVRAM or TPM state
// is kept outside the server, and deleting it removes them all.
const undefineKnown = virt.UndefineManagedSave | virt.UndefineSnapshotsMetadata | virt.UndefineNVRAM |
	virt.UndefineKeepNVRAM | virt.UndefineCheckpointsMetadata | virt.UndefineTPM | virt.UndefineKeepTPM

// defineNew creates the cloud server of a domain v does not have. The XML's
// name and UUID must be free (libvirt's "already exists" errors otherwise).
func (h *Driver) defineNew(ctx context.Context, xml string, v *view) (Domain, error) {
	if h.prov == nil {
		return Domain{}, virt.NoSupport(from, "defining new domains (creating cloud servers) is not supported yet")
	}
	nd, err := domxml.ParseNew(xml)
	if err != nil {
		return Domain{}, err
	}
	if i, ok := v.byName[nd.Spec.Name]; ok {
		return Domain{}, alreadyExists(nd.Spec.Name, v.doms[i].UUID)
	}
	cs, err := h.newSpec(nd)
	if err != nil {
		return Domain{}, err
	}
	return h.createNew(ctx, nd, cs)
}

// newSpec is the server a new domain's XML asks for.
func (h *Driver) newSpec(nd domxml.NewDomain) (nodes.CreateSpec, error) {
	spec := nd.Spec
	if sanitizeName(spec.Name) != spec.Name {
		return nodes.CreateSpec{}, virt.ConfigUnsupported(from, fmt.Sprintf("domain name '%s' cannot be kept in the cloud: a new domain's name must be made of letters, digits and '_', '.', '+', '-', not starting with '-' or '.'", spec.Name))
	}
	cs := nodes.CreateSpec{
		Name:     spec.Name,
		RAMMiB:   nd.MemoryMiB(),
		VCPUs:    int(spec.VCPUs),
		Metadata: map[string]string{},
	}
	if spec.UUID != (virt.UUID{}) {
		cs.Metadata[MetaUUID] = spec.UUID.String()
	}
	if spec.BootDev == domxml.BootNetwork {
		cs.Metadata[nodes.MetaPXEFirst] = "1"
	}
	for _, ifc := range nd.Interfaces {
		cs.Ports = append(cs.Ports, nodes.PortSpec{Network: ifc.Source, MAC: ifc.MAC})
	}
	// <title>, <description> and <metadata> are kept as a define of an
	// existing domain keeps them (keep.go), written with the server itself.
	items, err := kept{Title: spec.Title, Description: spec.Description, Metadata: spec.Metadata}.checkedItems(spec.Name)
	if err != nil {
		return nodes.CreateSpec{}, err
	}
	maps.Copy(cs.Metadata, items)
	return cs, nil
}

// createNew makes the server cs describes for the new domain nd.
func (h *Driver) createNew(ctx context.Context, nd domxml.NewDomain, cs nodes.CreateSpec) (Domain, error) {
	var err error
	if cs.BootVolume, err = h.bootVolume(ctx, cs.Name, nd.Disk); err != nil { // disks.go
		return Domain{}, err
	}
	if len(nd.Ignored) > 0 {
		h.log.Info("new domain: elements with no meaning in the cloud ignored", "domain", cs.Name, "ignored", nd.IgnoredList())
	}
	n, err := h.prov.Create(ctx, cs)
	if err != nil {
		return Domain{}, h.createError(ctx, nd.Spec, err)
	}
	u, _ := domainUUID(n)
	return h.LookupByUUID(ctx, u)
}

// alreadyExists is libvirt's refusal of a new domain whose name is taken
// (virDomainObjListAddLocked, VIR_FROM_DOMAIN, checked against a real libvirtd 9.0).
func alreadyExists(name string, u virt.UUID) *virt.Error {
	return virt.OperationFailed(virt.FromDomain, fmt.Sprintf("domain '%s' already exists with uuid %s", name, u), nil)
}

// createError is the libvirt error of a failed creation.
func (h *Driver) createError(ctx context.Context, spec domxml.DomainSpec, err error) error {
	name := spec.Name
	var ne *nodes.Error
	errors.As(err, &ne)
	switch {
	case errors.Is(err, nodes.ErrExists):
		// Another replica's server won the name; Reason is its ID when
		// known. The domain it defined answers to its UUID alias if it has
		// one; a race on the same XML has the XML's UUID.
		u, known := virt.ParseUUID(ne.Reason)
		if d, lerr := h.LookupByUUID(ctx, u); known && lerr == nil {
			u = d.UUID
		} else if spec.UUID != (virt.UUID{}) {
			u = spec.UUID
		}
		return alreadyExists(name, u)
	case errors.Is(err, nodes.ErrRefused):
		return virt.ConfigUnsupported(from, fmt.Sprintf("the cloud cannot create domain '%s': %s: %s", name, ne.Op, ne.Reason))
	}
	return FromNodes(err)
}

// undefine deletes the server of a shut-off domain and the ports created for
// it. A running domain becomes transient, as libvirt makes it: the cloud
// deletes it when it stops (transient.go). A transient one is refused, as
// libvirt's QEMU driver refuses it.
func (h *Driver) undefine(ctx context.Context, u virt.UUID, flags uint32) error {
	if flags&^undefineKnown != 0 {
		return virt.InvalidArg(from, fmt.Sprintf("unsupported flags (0x%x) in function qemuDomainUndefineFlags", flags&^undefineKnown))
	}
	n, d, err := h.find(ctx, u)
	if err != nil {
		return err
	}
	if h.prov == nil {
		return virt.NoSupport(from, "undefining a domain (deleting its cloud server) is not supported")
	}
	if isTransient(n) {
		return virt.OperationInvalid(from, "cannot undefine transient domain", nil)
	}
	if d.State.Active() {
		if _, err := h.act.SetMetadata(ctx, n.ID, MetaTransient, "1"); err != nil {
			return FromNodes(err)
		}
		h.log.Info("running domain undefined: transient until it stops", "domain", d.Name, "server", n.ID)
		return nil
	}
	if err := h.prov.Delete(ctx, n.ID); err != nil {
		return FromNodes(err)
	}
	h.log.Info("domain undefined: server and its ports deleted", "domain", d.Name, "server", n.ID)
	return nil
}
