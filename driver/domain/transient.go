package domain

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"quintupleo/driver/domain/domxml"
	"quintupleo/nodes"
	"quintupleo/virt"
)

// Transient domains. libvirt's createXML starts a domain that has no
// persistent definition: it vanishes when it stops. A Nova server has no
// such form, so the mark is kept in the cloud — server metadata
// libvirt:transient=1, which every replica reads — and a transient server is
// deleted (with the ports made for it) once it is seen SHUTOFF: at once by
// the destroy or shutdown that stopped it, and otherwise by every replica's
// event loop that sees it stop (the guest powered off, another client
// stopped it in the cloud); the deletions of several replicas agree, the
// later ones find nothing left to delete. A define of the same name and UUID
// makes it persistent (the mark is removed), which is what virt-install
// does after its createXML; undefine of a running persistent domain sets the
// mark, as libvirt makes such a domain transient.

// MetaTransient is the server metadata key that marks a transient domain.
const MetaTransient = "libvirt:transient"

// isTransient reports whether n is a transient domain.
func isTransient(n nodes.Node) bool { return n.Metadata[MetaTransient] == "1" }

// stoppedTransient reports whether n is a transient domain that has stopped
// and is to be deleted.
func stoppedTransient(n nodes.Node) bool {
	return isTransient(n) && n.Status == "SHUTOFF" && n.TaskState == ""
}

// CreateXML answers virDomainCreateXML: a new transient domain, running
// when the call returns. A name or UUID the cloud has is refused with
// libvirt's errors, except the XML of an inactive persistent domain itself,
// which starts it.
func (h *Driver) CreateXML(ctx context.Context, xml string, flags uint32) (Domain, error) {
	if err := checkCreateFlags(flags); err != nil {
		return Domain{}, err
	}
	if h.prov == nil {
		return Domain{}, virt.NoSupport(from, "creating domains (cloud servers) is not supported")
	}
	nd, err := domxml.ParseNew(xml)
	if err != nil {
		return Domain{}, err
	}
	spec := nd.Spec
	v, err := h.current(ctx)
	if err != nil {
		return Domain{}, err
	}
	if i, ok := v.byUUID[spec.UUID]; ok && spec.UUID != (virt.UUID{}) {
		return h.createExisting(ctx, xml, v.nodes[i], v.doms[i])
	}
	if i, ok := v.byName[spec.Name]; ok {
		return Domain{}, alreadyExists(spec.Name, v.doms[i].UUID)
	}
	cs, err := h.newSpec(nd)
	if err != nil {
		return Domain{}, err
	}
	cs.Metadata[MetaTransient] = "1"
	cs.Run = true
	return h.createNew(ctx, nd, cs)
}

// checkCreateFlags allows the flags that mean something a cloud server can
// do: validation (the XML is always validated) and a fresh boot (there is
// no saved state). Paused starts and auto-destroy on disconnect are refused.
func checkCreateFlags(flags uint32) error {
	const known = virt.StartPaused | virt.StartAutodestroy | virt.StartBypassCache | virt.StartForceBoot | virt.StartValidate | virt.StartResetNVRAM
	if flags&^known != 0 {
		return virt.InvalidArg(from, fmt.Sprintf("unsupported flags (0x%x) in function qemuDomainCreateXML", flags&^known))
	}
	switch {
	case flags&virt.StartPaused != 0:
		return virt.ConfigUnsupported(from, "starting a domain paused is not supported by this cloud")
	case flags&virt.StartAutodestroy != 0:
		return virt.ConfigUnsupported(from, "destroying a domain when the connection closes is not supported by this cloud")
	}
	return nil
}

// createExisting is createXML of a domain the cloud has (same UUID): a
// running one, or a name that differs, is libvirt's error; an inactive one
// is started, if the XML is its own — libvirt would run it with the XML as
// its live configuration, which a cloud server cannot have.
func (h *Driver) createExisting(ctx context.Context, xml string, n nodes.Node, d Domain) (Domain, error) {
	def, err := domxml.Parse(xml)
	if err != nil {
		return Domain{}, err
	}
	if def.Spec.Name != d.Name {
		return Domain{}, virt.OperationFailed(virt.FromDomain, fmt.Sprintf("domain '%s' is already defined with uuid %s", d.Name, d.UUID), nil)
	}
	if d.State.Active() {
		return Domain{}, virt.OperationInvalid(virt.FromDomain, fmt.Sprintf("domain '%s' is already active", d.Name), nil)
	}
	if changes := def.Changes(h.specOf(ctx, n, d)); len(changes) > 0 {
		return Domain{}, virt.ConfigUnsupported(from, fmt.Sprintf("cannot start domain '%s' with a configuration other than its own in the cloud (%s differ); start it with its own", d.Name, joinList(changes.Names())))
	}
	return h.Start(ctx, d.UUID)
}

// persist is a define of a transient domain's name and UUID: the domain
// becomes persistent. The XML (virt-install's final one, say) must describe
// the server the cloud has — its flavor and MACs; what it may change is what
// a define may change (boot device, <title>, <description>, <metadata>), all
// written with the mark's removal in one metadata replacement.
func (h *Driver) persist(ctx context.Context, xml string, n nodes.Node, d Domain) (Domain, error) {
	nd, err := domxml.ParseNew(xml)
	if err != nil {
		return Domain{}, err
	}
	cs, err := h.newSpec(nd)
	if err != nil {
		return Domain{}, err
	}
	var refused []string
	flavor, err := h.prov.FlavorFor(ctx, cs)
	if err != nil {
		return Domain{}, h.createError(ctx, nd.Spec, err)
	}
	if flavor != n.Flavor.Name {
		refused = append(refused, "memory and vcpus")
	}
	if !sameMACs(cs.Ports, n.Ports) {
		refused = append(refused, "interfaces")
	}
	if len(refused) > 0 {
		return Domain{}, virt.ConfigUnsupported(from, fmt.Sprintf("cannot change %s of domain '%s' in the cloud; only the boot device, <title>, <description> and <metadata> can be changed", joinList(refused), d.Name))
	}
	_, err = h.act.EditMetadata(ctx, n.ID, func(md map[string]string) map[string]string {
		maps.DeleteFunc(md, func(key, _ string) bool {
			return isKeptKey(key) || key == MetaTransient || key == nodes.MetaPXEFirst
		})
		maps.Copy(md, cs.Metadata)
		return md
	})
	if err != nil {
		return Domain{}, FromNodes(err)
	}
	h.log.Info("transient domain made persistent", "domain", d.Name, "server", n.ID)
	return h.LookupByUUID(ctx, d.UUID)
}

// sameMACs reports whether the XML's interfaces are the server's ports: as
// many, and each MAC the XML gives one of the server's.
func sameMACs(want []nodes.PortSpec, have []nodes.Port) bool {
	if len(want) != len(have) {
		return false
	}
	macs := make([]string, len(have))
	for i, p := range have {
		macs[i] = p.MAC
	}
	for _, w := range want {
		if w.MAC != "" && !slices.Contains(macs, w.MAC) {
			return false
		}
	}
	return true
}

// reap deletes a transient server that has stopped, once per server at a
// time on this replica. It reports whether it deleted it (false when n is
// not a stopped transient server, or when another reap of it ran: reap then
// returns once that one has ended, so that the domain is gone when a
// destroy that called it returns).
func (h *Driver) reap(ctx context.Context, n nodes.Node) (bool, error) {
	if !stoppedTransient(n) || h.prov == nil {
		return false, nil
	}
	h.mu.Lock()
	if _, busy := h.reaping[n.ID]; busy {
		h.mu.Unlock()
		return false, h.awaitReap(ctx, n.ID)
	}
	ended := make(chan struct{})
	h.reaping[n.ID] = ended
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.reaping, n.ID)
		h.mu.Unlock()
		close(ended)
	}()
	if err := h.prov.Delete(ctx, n.ID); err != nil {
		return false, FromNodes(err)
	}
	h.log.Info("transient domain stopped: server and its ports deleted", "server", n.ID, "name", n.Name)
	return true, nil
}

// awaitReap returns once no reap of server id runs on this replica (at
// once when none does), or when ctx ends.
func (h *Driver) awaitReap(ctx context.Context, id string) error {
	h.mu.Lock()
	ended, busy := h.reaping[id]
	h.mu.Unlock()
	if !busy {
		return nil
	}
	select {
	case <-ended:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
