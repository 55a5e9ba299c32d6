package network

import (
	"context"
	"fmt"
	"slices"

	"quintupleo/nodes/neutron"
	"quintupleo/virt"
)

// DefineXML is virNetworkDefineXML: a new, inactive (admin down) Neutron
// network with a subnet per <ip>, or without <ip> the L2 placeholder
// subnet (neutron.L2SubnetName) servers need to boot on it.
func (d *Driver) DefineXML(ctx context.Context, xml string) (Network, error) {
	return d.create(ctx, xml, false)
}

// CreateXML is virNetworkCreateXML: a new, active, transient network,
// which net-destroy deletes.
func (d *Driver) CreateXML(ctx context.Context, xml string) (Network, error) {
	return d.create(ctx, xml, true)
}

func (d *Driver) create(ctx context.Context, xml string, transient bool) (Network, error) {
	sp, err := parseXML(xml)
	if err != nil {
		return Network{}, err
	}
	v, err := d.current(ctx)
	if err != nil {
		return Network{}, err
	}
	if n, done, err := existing(v, sp, xml); done {
		return n, err
	}
	desc := descDefined
	if transient {
		desc = descTransient
	}
	id, err := d.cloud.CreateNetwork(ctx, neutron.NetworkSpec{Name: sp.name, Description: desc, AdminUp: transient})
	if err != nil {
		return Network{}, fromCloud(err)
	}
	undo := func(why error) (Network, error) {
		d.deleteAfterFailure(ctx, id, sp.name)
		d.invalidate()
		return Network{}, why
	}
	subnets := sp.subnets
	if len(subnets) == 0 {
		subnets = []neutron.SubnetSpec{{Name: neutron.L2SubnetName, CIDR: neutron.L2SubnetCIDR}}
	}
	for _, sn := range subnets {
		sn.NetworkID = id
		if _, err := d.cloud.CreateSubnet(ctx, sn); err != nil {
			return undo(fromCloud(err))
		}
	}
	v, err = d.refresh(ctx, d.invalidate())
	if err != nil {
		return undo(err)
	}
	u, _ := virt.ParseUUID(id)
	i, ok := v.byUUID[u]
	if !ok || v.nets[i].Name != sp.name {
		// Another network of that name appeared meanwhile (another replica),
		// or --network-name-regex hides this one: it could not be found by
		// the name it was defined with.
		return undo(virt.OperationFailed(virt.FromNetwork, fmt.Sprintf("network '%s' cannot be kept under that name: "+
			"another cloud network has it, or it is not among the networks this server shows", sp.name), nil))
	}
	d.log.Info("network created", "network", sp.name, "id", id, "transient", transient, "subnets", len(sp.subnets), "ignored", sp.ignored)
	return v.nets[i], nil
}

// existing settles a define of a name or UUID the view already has, as
// libvirt does: the same name with another (or no) UUID, or the same UUID
// under another name, is "already exists"; the same name and UUID is a
// redefinition, which the cloud can only accept when it changes nothing.
// A UUID the cloud does not have cannot be kept: Neutron chooses IDs.
func existing(v *view, sp spec, xml string) (Network, bool, error) {
	if i, ok := v.byName[sp.name]; ok {
		n := v.nets[i]
		if sp.uuid == nil || *sp.uuid != n.UUID {
			return Network{}, true, virt.OperationFailed(virt.FromNetwork,
				fmt.Sprintf("network '%s' already exists with uuid %s", n.Name, n.UUID), nil)
		}
		cur, err := parseXML(renderXML(n))
		if err != nil || !sameSubnets(cur.subnets, sp.subnets) {
			return Network{}, true, virt.ConfigUnsupported(virt.FromNetwork, fmt.Sprintf(
				"cannot change network '%s' in the cloud: define it with a new name, or net-undefine it first", n.Name))
		}
		return n, true, nil
	}
	if sp.uuid == nil {
		return Network{}, false, nil
	}
	if i, ok := v.byUUID[*sp.uuid]; ok {
		return Network{}, true, virt.OperationFailed(virt.FromNetwork,
			fmt.Sprintf("network '%s' is already defined with uuid %s", v.nets[i].Name, *sp.uuid), nil)
	}
	return Network{}, true, virt.ConfigUnsupported(virt.FromNetwork, fmt.Sprintf(
		"the cloud chooses network UUIDs: network '%s' cannot have uuid %s; leave <uuid> out", sp.name, *sp.uuid))
}

func sameSubnets(a, b []neutron.SubnetSpec) bool {
	return slices.EqualFunc(a, b, func(x, y neutron.SubnetSpec) bool {
		return x.CIDR == y.CIDR && x.Gateway == y.Gateway && x.DHCP == y.DHCP && slices.Equal(x.Pools, y.Pools)
	})
}

// deleteAfterFailure removes a network a failed define made, under a
// deadline of its own: the caller's context may be why the define failed.
func (d *Driver) deleteAfterFailure(ctx context.Context, id, name string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.cfg.Timeout)
	defer cancel()
	if err := d.cloud.DeleteNetwork(ctx, id); err != nil {
		d.log.Error("network left behind by a failed define: delete it by hand", "network", name, "id", id, "err", err)
	}
}

// changeable refuses changes to networks quintupleo did not create, unless
// the server was told to allow them.
func (d *Driver) changeable(n Network, what string) error {
	if n.Ours || d.cfg.AllowForeign {
		return nil
	}
	return virt.OperationDenied(virt.FromNetwork, fmt.Sprintf("cannot %s network '%s': quintupleo did not create it "+
		"(serve with --network-allow-foreign to allow it)", what, n.Name))
}

// Start is virNetworkCreate: admin_state_up true.
func (d *Driver) Start(ctx context.Context, u virt.UUID) error {
	n, err := d.LookupByUUID(ctx, u)
	if err != nil {
		return err
	}
	if n.Active {
		return virt.OperationInvalid(virt.FromNetwork, "network is already active", nil)
	}
	if err := d.changeable(n, "start"); err != nil {
		return err
	}
	if err := d.cloud.SetAdminUp(ctx, n.Cloud.ID, true); err != nil {
		return fromCloud(err)
	}
	_, err = d.refresh(ctx, d.invalidate())
	return err
}

// Destroy is virNetworkDestroy: admin_state_up false, or, for a transient
// network, its deletion.
func (d *Driver) Destroy(ctx context.Context, u virt.UUID) error {
	n, err := d.LookupByUUID(ctx, u)
	if err != nil {
		return err
	}
	if !n.Active {
		return virt.OperationInvalid(virt.FromNetwork, fmt.Sprintf("network '%s' is not active", n.Name), nil)
	}
	if err := d.changeable(n, "destroy"); err != nil {
		return err
	}
	if n.Persistent {
		err = d.cloud.SetAdminUp(ctx, n.Cloud.ID, false)
	} else {
		err = d.cloud.DeleteNetwork(ctx, n.Cloud.ID)
	}
	if err != nil {
		return fromCloud(err)
	}
	_, err = d.refresh(ctx, d.invalidate())
	return err
}

// Undefine is virNetworkUndefine: deletes an inactive network (with its
// subnets). An active one is refused — libvirt would keep it running as
// transient, which a Neutron network cannot be — as is a network still
// used by ports (Neutron's 409).
func (d *Driver) Undefine(ctx context.Context, u virt.UUID) error {
	n, err := d.LookupByUUID(ctx, u)
	if err != nil {
		return err
	}
	if !n.Persistent {
		return virt.OperationInvalid(virt.FromNetwork, "can't undefine transient network", nil)
	}
	if err := d.changeable(n, "undefine"); err != nil {
		return err
	}
	if n.Active {
		return virt.OperationInvalid(virt.FromNetwork, fmt.Sprintf("cannot undefine active network '%s' in the cloud: "+
			"a cloud network cannot be transient; net-destroy it first", n.Name), nil)
	}
	if err := d.cloud.DeleteNetwork(ctx, n.Cloud.ID); err != nil {
		return fromCloud(err)
	}
	_, err = d.refresh(ctx, d.invalidate())
	return err
}

// SetAutostart is virNetworkSetAutostart. A persistent cloud network is
// always "autostarted" (it is there whenever the cloud is), so turning it
// on changes nothing and turning it off cannot be honoured.
func (d *Driver) SetAutostart(ctx context.Context, u virt.UUID, on bool) error {
	n, err := d.LookupByUUID(ctx, u)
	if err != nil {
		return err
	}
	if !n.Persistent {
		return virt.OperationInvalid(virt.FromNetwork, "cannot set autostart for transient network", nil)
	}
	if !on {
		return virt.ConfigUnsupported(virt.FromNetwork, fmt.Sprintf("network '%s' is a cloud network, "+
			"which is there whenever the cloud is: its autostart cannot be turned off", n.Name))
	}
	return nil
}
