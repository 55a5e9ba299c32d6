package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"quintupleo/nodes"
)

// The checks of `quintupleo check` that look at what the nodes need: the
// boot-device strategy, metadata, the provisioning network, the images.

// bootStrategy judges --boot-strategy against this cloud.
func (c *checker) bootStrategy(ctx context.Context) {
	// serve would refuse to start; the cloud's side is checked all the same.
	if _, err := nodes.NewBootStrategy(c.cfg.bootStrategy, c.cfg.bootFlags.options()); err != nil {
		c.r.add(vFail, "boot", "add the flag the message names (docs/boot-device.md)", "serve would not start: %v", err)
	}
	switch c.cfg.bootStrategy {
	case "rescue":
		c.volumeBacked(87, "rescue", "use --boot-strategy metadata on a cloud with OVB's Nova patch, or upgrade Nova to Ussuri (2.87)")
		c.policy("rescue", "os_compute_api:os-rescue", "openstack server rescue --image "+c.cfg.ipxeImage+" SPARE-SERVER")
		c.ipxeImages(ctx)
	case "rebuild":
		c.volumeBacked(93, "rebuild", "use --boot-strategy rescue, or upgrade Nova to Zed (2.93)")
		c.policy("rebuild", "os_compute_api:servers:rebuild", "openstack server rebuild --image "+c.cfg.ipxeImage+" SPARE-SERVER")
		c.ipxeImages(ctx)
	case "metadata", "":
		c.r.add(vWarn, "boot", "if nodes do not PXE-boot after `virsh` sets <boot dev='network'/>, use --boot-strategy rescue (any Nova)",
			"strategy metadata: a network boot is the server metadata %s=1, which only a Nova carrying OVB's patch on its compute hosts "+
				"honours; the API does not show whether it does: watch a node's console after a network boot", nodes.MetaPXEFirst)
	}
}

// volumeBacked fails when nodes boot from volumes and the strategy's action
// needs a microversion this Nova lacks.
func (c *checker) volumeBacked(minor int, action, fix string) {
	var vb []string
	for _, n := range c.nodes {
		if n.ImageID == "" {
			vb = append(vb, n.Name)
		}
	}
	switch {
	case len(vb) == 0:
		return
	case c.mv.Supports(minor):
		c.r.add(vOK, action, "", "%d nodes boot from volumes (%s); Nova serves 2.%d, which %s needs for them", len(vb), sample(vb), minor, action)
	default:
		c.r.add(vFail, action, fix, "%d nodes boot from volumes (%s); %s of a volume-backed server needs microversion 2.%d, and this Nova's newest is 2.%d",
			len(vb), sample(vb), action, minor, c.mv.Max)
	}
}

// policy says how a Nova action's policy will be known: it cannot be read
// through the API, only its default judged from the roles.
func (c *checker) policy(action, rule, try string) {
	if !c.id.HasRole("member") && !c.id.HasRole("admin") {
		return // roles has already failed
	}
	c.r.add(vOK, action, "", "Nova's %s is not readable through the API; its default allows the project's members and admins, and this token has %s. "+
		"A cloud that tightened it answers 403 at the first network boot (virsh start fails, the log names %s); to know now: %s",
		rule, strings.Join(c.id.Roles, ", "), action, try)
}

// ipxeImages checks the iPXE images the rescue and rebuild strategies use:
// present, active, and of the firmware of the nodes that will use each.
func (c *checker) ipxeImages(ctx context.Context) {
	firmware := c.nodeFirmware(ctx)
	for _, fw := range []string{"bios", "uefi"} {
		users := firmware[fw]
		name := c.cfg.ipxeImage
		if fw == "uefi" && c.cfg.ipxeImageUEFI != "" {
			name = c.cfg.ipxeImageUEFI
		}
		if len(users) == 0 && (fw == "uefi" || len(firmware["uefi"]) > 0) {
			continue // no node uses it (the BIOS image is checked when nothing is known)
		}
		c.ipxeImage(ctx, fw, name, users)
	}
}

func (c *checker) ipxeImage(ctx context.Context, fw, name string, users []string) {
	flag := "--ipxe-image"
	if fw == "uefi" && c.cfg.ipxeImageUEFI != "" {
		flag = "--ipxe-image-uefi"
	}
	upload := fmt.Sprintf("upload one (openstack image create --disk-format raw --container-format bare --property hw_firmware_type=%s "+
		"--property os_shutdown_timeout=5 --file ipxe.img %s) or name it with %s", fw, name, flag)
	img, err := c.cloud.FindImage(ctx, name)
	switch {
	case errors.Is(err, nodes.ErrNotFound):
		c.r.add(vFail, "ipxe", upload, "no iPXE image %q (%s) in Glance for the %s nodes", name, strings.TrimPrefix(err.Error(), "nodes: "), fw)
		return
	case err != nil:
		c.r.add(vFail, "ipxe", "check that Glance answers", "%v", err)
		return
	case img.Status != "active":
		c.r.add(vFail, "ipxe", upload, "iPXE image %s (%s) is %s, not active", name, img.ID, img.Status)
		return
	}
	got := img.Properties["hw_firmware_type"]
	if got == "" {
		got = "bios" // Nova's default
	}
	if got != fw {
		c.r.add(vWarn, "ipxe", fmt.Sprintf("openstack image set --property hw_firmware_type=%s %s, or name a %s image with %s", fw, name, fw, flag),
			"iPXE image %s has hw_firmware_type %s, but the %s nodes (%s) boot %s firmware: their network boot may not start", name, got, fw, sample(users), fw)
		return
	}
	c.r.add(vOK, "ipxe", "", "iPXE image %s (%s) is active with hw_firmware_type %s, for the %s nodes (%s)", name, img.ID, got, fw, orNone(sample(users)))
}

// nodeFirmware groups the nodes by their image's hw_firmware_type, as the
// strategies choose the iPXE image (volume-backed nodes and deleted images
// count as BIOS, as there).
func (c *checker) nodeFirmware(ctx context.Context) map[string][]string {
	out := map[string][]string{}
	for _, n := range c.nodes {
		fw := "bios"
		if n.ImageID != "" {
			if img, err := c.cloud.ImageByID(ctx, n.ImageID); err == nil && img.Properties["hw_firmware_type"] == "uefi" {
				fw = "uefi"
			}
		}
		out[fw] = append(out[fw], n.Name)
	}
	return out
}

// metadata checks that Nova keeps server metadata: every strategy records
// the boot device there. Only --probe-writes verifies it.
func (c *checker) metadata(ctx context.Context) {
	if !c.cfg.probeWrites {
		c.r.add(vWarn, "metadata", "run with --probe-writes to verify (it sets and removes the key "+nodes.ProbeKey+" on one node)",
			"not verified that Nova keeps the server metadata the boot device is recorded in (%s)", nodes.MetaPXEFirst)
		return
	}
	var target *nodes.Node
	for i, n := range c.nodes {
		if n.TaskState == "" && n.Status != "RESCUE" && n.Status != "ERROR" {
			target = &c.nodes[i]
			break
		}
	}
	if target == nil {
		c.r.add(vWarn, "metadata", "run the check again when a node is idle", "not verified: every node is busy, rescued or in ERROR (Nova refuses metadata writes then)")
		return
	}
	if err := c.cloud.ProbeMetadata(ctx, target.ID); err != nil {
		c.r.add(vFail, "metadata", "the user needs Nova's os_compute_api:server-metadata:create and :delete (member by default)",
			"on %s: %v", target.Name, err)
		return
	}
	c.r.add(vOK, "metadata", "", "Nova keeps server metadata: set, read and removed %s on %s", nodes.ProbeKey, target.Name)
}

// network checks the provisioning network: chosen MACs, port security, DHCP.
func (c *checker) network(ctx context.Context) {
	name, why := c.provisionNetworkName()
	if name == "" {
		c.r.add(vWarn, "network", "name it with --provision-network NAME", "%s; the provisioning network was not checked", why)
		return
	}
	nets, err := c.cloud.NetworksNamed(ctx, name)
	switch {
	case err != nil:
		c.r.add(vFail, "network", "check that Neutron answers", "%v", err)
		return
	case len(nets) == 0:
		c.r.add(vFail, "network", "name the nodes' network with --provision-network, or ask its owner to share it with this project",
			"network %q (%s) is not visible to this user", name, why)
		return
	case len(nets) > 1:
		c.r.add(vWarn, "network", "rename all but one (openstack network set --name)", "%d networks are named %q; checking the first, %s", len(nets), name, nets[0].ID)
	}
	net := nets[0]
	c.chosenMACs(ctx, net)
	c.portSecurity(ctx, net)
	c.dhcp(net)
}

// provisionNetworkName is --provision-network, else the network most node
// ports are on.
func (c *checker) provisionNetworkName() (name, why string) {
	if c.cfg.provisionNetwork != "" {
		return c.cfg.provisionNetwork, "--provision-network"
	}
	count := map[string]int{}
	for _, n := range c.nodes {
		for _, p := range n.Ports {
			count[p.Network]++
		}
	}
	for net, k := range count {
		if name == "" || k > count[name] || (k == count[name] && net < name) {
			name = net
		}
	}
	if name == "" {
		return "", "no node has a port"
	}
	return name, fmt.Sprintf("the network of %d node ports", count[name])
}

// chosenMACs: may this user create ports with a chosen MAC there? Neutron's
// create_port:mac_address allows admins and the network's owner by default.
func (c *checker) chosenMACs(ctx context.Context, net nodes.Network) {
	fix := fmt.Sprintf("use a network of project %s for the nodes, or grant admin: openstack role add --user %s --project %s admin",
		c.id.Project, c.id.User, c.id.Project)
	if c.cfg.probeWrites {
		if err := c.cloud.ProbePortMAC(ctx, net.ID); err != nil {
			c.r.add(vFail, "macs", fix, "on network %s: %v", net.Name, err)
			return
		}
		c.r.add(vOK, "macs", "", "created and deleted a port with a chosen MAC on network %s", net.Name)
		return
	}
	switch {
	case c.id.HasRole("admin"):
		c.r.add(vOK, "macs", "", "admin may create ports with chosen MACs on network %s (Neutron's default create_port:mac_address; --probe-writes verifies)", net.Name)
	case net.ProjectID == c.id.ProjectID:
		c.r.add(vOK, "macs", "", "network %s belongs to project %s, whose members may choose port MACs (Neutron's default create_port:mac_address; --probe-writes verifies)",
			net.Name, c.id.Project)
	default:
		shared := ""
		if net.Shared {
			shared = "shared "
		}
		c.r.add(vFail, "macs", fix, "network %s is a %snetwork of another project (%s): Neutron's default create_port:mac_address lets only admins "+
			"and the network's owner choose a port's MAC, and this user has %s", net.Name, shared, net.ProjectID, strings.Join(c.id.Roles, ", "))
	}
}

// portSecurity: with it on, Neutron drops what a foreign DHCP/PXE server
// (Ironic's) sends the nodes, and what the nodes send from addresses it did
// not assign.
func (c *checker) portSecurity(ctx context.Context, net nodes.Network) {
	ps, err := c.cloud.Ports(ctx, net.ID)
	if err != nil {
		c.r.add(vFail, "port-security", "check that Neutron answers", "%v", err)
		return
	}
	macs := map[string]string{}
	for _, n := range c.nodes {
		for _, p := range n.Ports {
			if p.Network == net.Name {
				macs[p.MAC] = n.Name
			}
		}
	}
	var secured []string
	nodePorts := 0
	for _, p := range ps {
		if _, ok := macs[p.MAC]; ok {
			nodePorts++
			if p.PortSecurity {
				secured = append(secured, cmp.Or(p.Name, p.ID))
			}
		}
	}
	switch {
	case len(secured) > 0:
		c.r.add(vWarn, "port-security", "openstack port set --no-security-group --disable-port-security PORT for each node port, "+
			"and openstack network set --disable-port-security "+net.Name+" for ports made later",
			"port security is on for %d of %d node ports on network %s (%s): Neutron drops DHCP/PXE answers from a server it does not manage "+
				"(Ironic's) and traffic from addresses it did not assign", len(secured), nodePorts, net.Name, sample(secured))
	case net.PortSecurity:
		c.r.add(vWarn, "port-security", "openstack network set --disable-port-security "+net.Name,
			"the node ports on network %s have port security off, but the network has it on: ports made later get it", net.Name)
	default:
		c.r.add(vOK, "port-security", "", "port security is off on network %s and its %d node ports", net.Name, nodePorts)
	}
}

// dhcp: Neutron's DHCP agent answering on the provisioning network competes
// with Ironic's for the nodes' PXE requests.
func (c *checker) dhcp(net nodes.Network) {
	var on []string
	for _, s := range net.Subnets {
		if s.DHCP {
			on = append(on, cmp.Or(s.Name, s.ID))
		}
	}
	if len(on) > 0 {
		sort.Strings(on)
		c.r.add(vWarn, "dhcp", "openstack subnet set --no-dhcp SUBNET, so that only the provisioning DHCP server (Ironic's) answers",
			"Neutron's DHCP answers on network %s (subnet %s): it competes with Ironic's DHCP for the nodes' PXE requests", net.Name, strings.Join(on, ", "))
		return
	}
	c.r.add(vOK, "dhcp", "", "no Neutron DHCP on network %s: the provisioning DHCP server answers alone", net.Name)
}

// bmcWait is how long BMC clients wait for a power-off to answer: ipmitool
// through VirtualBMC gives up after about 20 s (lanplus retransmissions),
// and VirtualBMC answers no other request meanwhile (issue 13).
const bmcWait = 20 * time.Second

// shutdownTimeouts: virsh destroy and shutdown are Nova's os-stop, which
// waits for the guest up to os_shutdown_timeout, else the cloud's
// shutdown_timeout (60 s by default); a guest in iPXE ignores ACPI and takes
// all of it. Past bmcWait, a BMC client's power-off fails unless serve
// answers at acceptance (--power-off-returns=accepted).
func (c *checker) shutdownTimeouts(ctx context.Context) {
	users := map[string][]string{} // image ID → node names
	volume := 0
	for _, n := range c.nodes {
		if n.ImageID == "" {
			volume++
			continue
		}
		users[n.ImageID] = append(users[n.ImageID], n.Name)
	}
	ids := make([]string, 0, len(users))
	for id := range users {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var without, slow, with, gone []string
	for _, id := range ids {
		img, err := c.cloud.ImageByID(ctx, id)
		prop := img.Properties["os_shutdown_timeout"]
		secs, perr := strconv.Atoi(prop)
		switch {
		case errors.Is(err, nodes.ErrNotFound):
			gone = append(gone, fmt.Sprintf("%s (%s)", id, sample(users[id])))
		case err != nil:
			c.r.add(vFail, "shutdown", "check that Glance answers", "%v", err)
			return
		case prop == "":
			without = append(without, fmt.Sprintf("%s (%d nodes: %s)", cmp.Or(img.Name, img.ID), len(users[id]), sample(users[id])))
		case perr != nil || time.Duration(secs)*time.Second > bmcWait:
			slow = append(slow, fmt.Sprintf("%s %q (%d nodes: %s)", cmp.Or(img.Name, img.ID), prop, len(users[id]), sample(users[id])))
		default:
			with = append(with, fmt.Sprintf("%s %ss", cmp.Or(img.Name, img.ID), prop))
		}
	}
	// What the wait means to BMC clients, and the other way out.
	effect := fmt.Sprintf("longer than BMC clients wait for a power-off (ipmitool through VirtualBMC: about %s)", bmcWait)
	orAccept := ", or serve with --power-off-returns=accepted"
	if c.cfg.powerOff == powerOffAtAccepted {
		effect = "virsh destroy returns once Nova accepts it (--power-off-returns=accepted), but the domain reads 'in shutdown' that long"
		orAccept = ""
	}
	sort.Strings(without) // by image name, which leads each entry
	if len(without) > 0 {
		c.r.add(vWarn, "shutdown", "openstack image set --property os_shutdown_timeout=5 IMAGE (as OVB does); Nova copies it into a server "+
			"when it is created or rebuilt, so existing nodes keep the old wait until then"+orAccept,
			"images without os_shutdown_timeout: %s: virsh destroy and shutdown are Nova's os-stop, which waits for the guest up to the cloud's "+
				"shutdown_timeout (60 s by default), %s", strings.Join(without, "; "), effect)
	}
	if len(slow) > 0 {
		c.r.add(vWarn, "shutdown", "openstack image set --property os_shutdown_timeout=5 IMAGE"+orAccept,
			"images whose os_shutdown_timeout is over %d seconds: %s: os-stop waits for the guest that long, %s",
			int(bmcWait.Seconds()), strings.Join(slow, "; "), effect)
	}
	if len(gone) > 0 {
		c.r.add(vWarn, "shutdown", "", "images of some nodes are deleted, their os_shutdown_timeout unknown: %s", strings.Join(gone, "; "))
	}
	if len(with) > 0 {
		c.r.add(vOK, "shutdown", "", "images with os_shutdown_timeout: %s", strings.Join(with, ", "))
	}
	if volume > 0 {
		c.r.add(vWarn, "shutdown", "openstack volume set --image-property os_shutdown_timeout=5 VOLUME",
			"%d volume-backed nodes: their os_shutdown_timeout comes from the volume's image metadata, not checked", volume)
	}
}
