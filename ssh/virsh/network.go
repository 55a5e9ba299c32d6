// Networks: net-list, net-info, net-dumpxml, net-uuid, net-name,
// net-define, net-create, net-start, net-destroy, net-undefine,
// net-autostart, as virsh-network.c words them.

package virsh

import (
	"sort"
	"strings"

	"github.com/digitalocean/go-libvirt"
)

var networkOpt = optDef{name: "network", kind: optData, required: true}

// The net-* commands, rows of commandTable.
var (
	cmdNetListDef = &command{name: "net-list", opts: []optDef{{name: "inactive"}, {name: "all"}, {name: "persistent"}, {name: "transient"},
		{name: "autostart"}, {name: "no-autostart"}, {name: "uuid"}, {name: "name"}, {name: "table"}}, run: cmdNetList}
	cmdNetInfoDef      = &command{name: "net-info", opts: []optDef{networkOpt}, run: cmdNetInfo}
	cmdNetDumpxmlDef   = &command{name: "net-dumpxml", opts: []optDef{networkOpt, {name: "inactive"}}, run: cmdNetDumpxml}
	cmdNetUuidDef      = &command{name: "net-uuid", opts: []optDef{networkOpt}, run: cmdNetUUID}
	cmdNetNameDef      = &command{name: "net-name", opts: []optDef{networkOpt}, run: cmdNetName}
	cmdNetDefineDef    = &command{name: "net-define", opts: []optDef{{name: "file", kind: optData, required: true}, {name: "validate"}}, run: netFromFile(false)}
	cmdNetCreateDef    = &command{name: "net-create", opts: []optDef{{name: "file", kind: optData, required: true}, {name: "validate"}}, run: netFromFile(true)}
	cmdNetStartDef     = &command{name: "net-start", opts: []optDef{networkOpt}, run: netStart.run}
	cmdNetDestroyDef   = &command{name: "net-destroy", opts: []optDef{networkOpt}, run: netDestroy.run}
	cmdNetUndefineDef  = &command{name: "net-undefine", opts: []optDef{networkOpt}, run: netUndefine.run}
	cmdNetAutostartDef = &command{name: "net-autostart", opts: []optDef{networkOpt, {name: "disable"}}, run: cmdNetAutostart}
)

// Lookup modes of virshCommandOptNetworkBy.
const (
	netByUUID = 1 << iota
	netByName
)

// lookupNetwork resolves the network argument as virsh does: a UUID (36
// characters), then a name. A failure prints virsh's line and libvirt's
// error (virsh keeps the lookup's error for networks, unlike domains).
func (v *vsh) lookupNetwork(c *cmdArgs, by int) (libvirt.Network, error) {
	n, _ := c.str("network")
	var err error
	if by&netByUUID != 0 && len(n) == 36 {
		if u, ok := parseUUID(n); ok {
			var net libvirt.Network
			if net, err = v.l.NetworkLookupByUUID(u); err == nil {
				return net, nil
			}
		}
	}
	if by&netByName != 0 {
		var net libvirt.Network
		if net, err = v.l.NetworkLookupByName(n); err == nil {
			return net, nil
		}
	}
	v.errorf("failed to get network '%s'", n)
	if err != nil {
		v.libvirtError(err)
	}
	return libvirt.Network{}, errFailed
}

// netListFlags maps net-list's options to virConnectListAllNetworksFlags:
// active networks unless --inactive or --all, the other filters added.
func netListFlags(c *cmdArgs) libvirt.ConnectListAllNetworksFlags {
	return objectListFlags(c, libvirt.ConnectListNetworksActive, libvirt.ConnectListNetworksInactive,
		map[string]libvirt.ConnectListAllNetworksFlags{
			"persistent": libvirt.ConnectListNetworksPersistent, "transient": libvirt.ConnectListNetworksTransient,
			"autostart": libvirt.ConnectListNetworksAutostart, "no-autostart": libvirt.ConnectListNetworksNoAutostart,
		})
}

// objectListFlags is the filter of net-list and pool-list (virsh's
// vshNetworkListCollect and vshStoragePoolListCollect read them alike):
// active objects unless --inactive or --all, each other option's bit added.
func objectListFlags[F ~int32](c *cmdArgs, active, inactive F, opts map[string]F) F {
	f := active
	if c.has("inactive") {
		f = inactive
	}
	if c.has("all") {
		f = active | inactive
	}
	for opt, fl := range opts {
		if c.has(opt) {
			f |= fl
		}
	}
	return f
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func cmdNetList(v *vsh, c *cmdArgs) error {
	optName, optUUID := c.has("name"), c.has("uuid")
	n := 0
	for _, o := range []string{"table", "name", "uuid"} {
		if c.has(o) {
			n++
		}
	}
	if n > 1 {
		v.errorf("Only one argument from --table, --name and --uuid may be specified.")
		return errFailed
	}
	nets, _, err := v.l.ConnectListAllNetworks(1, netListFlags(c))
	if err != nil {
		return v.failed(err, "Failed to list networks")
	}
	// virshNetworkSorter: by name.
	sort.SliceStable(nets, func(i, j int) bool { return strings.ToLower(nets[i].Name) < strings.ToLower(nets[j].Name) })
	if optName || optUUID {
		for _, net := range nets {
			if optUUID {
				v.printf("%s\n", uuidString(net.UUID))
			} else {
				v.printf("%s\n", net.Name)
			}
		}
		return nil
	}
	rows := make([][]string, 0, len(nets))
	for _, net := range nets {
		autostart := "-"
		if a, err := v.l.NetworkGetAutostart(net); err == nil {
			autostart = yesNo(a != 0)
		}
		persistent := "-"
		if p, err := v.l.NetworkIsPersistent(net); err == nil {
			persistent = yesNo(p != 0)
		}
		state := "inactive"
		if a, err := v.l.NetworkIsActive(net); err == nil && a != 0 {
			state = "active"
		}
		rows = append(rows, []string{net.Name, state, autostart, persistent})
	}
	v.table([]string{"Name", "State", "Autostart", "Persistent"}, rows)
	return nil
}

func cmdNetInfo(v *vsh, c *cmdArgs) error {
	net, err := v.lookupNetwork(c, netByUUID|netByName)
	if err != nil {
		return err
	}
	line := func(k, val string) { v.printf("%-15s %s\n", k, val) }
	line("Name:", net.Name)
	line("UUID:", uuidString(net.UUID))
	if a, err := v.l.NetworkIsActive(net); err == nil {
		line("Active:", yesNo(a != 0))
	}
	if p, err := v.l.NetworkIsPersistent(net); err == nil {
		line("Persistent:", yesNo(p != 0))
	} else {
		line("Persistent:", "unknown")
	}
	if a, err := v.l.NetworkGetAutostart(net); err == nil {
		line("Autostart:", yesNo(a != 0))
	} else {
		line("Autostart:", "no autostart")
	}
	if b, err := v.l.NetworkGetBridgeName(net); err == nil {
		line("Bridge:", b)
	}
	return nil
}

func cmdNetDumpxml(v *vsh, c *cmdArgs) error {
	net, err := v.lookupNetwork(c, netByUUID|netByName)
	if err != nil {
		return err
	}
	var flags uint32
	if c.has("inactive") {
		flags = uint32(libvirt.NetworkXMLInactive)
	}
	xml, err := v.l.NetworkGetXMLDesc(net, flags)
	if err != nil {
		return err
	}
	v.printf("%s", xml)
	return nil
}

func cmdNetUUID(v *vsh, c *cmdArgs) error {
	net, err := v.lookupNetwork(c, netByName)
	if err != nil {
		return err
	}
	v.printf("%s\n", uuidString(net.UUID))
	return nil
}

func cmdNetName(v *vsh, c *cmdArgs) error {
	net, err := v.lookupNetwork(c, netByUUID)
	if err != nil {
		return err
	}
	v.printf("%s\n", net.Name)
	return nil
}

// netFromFile is net-define (create false) and net-create.
func netFromFile(create bool) func(v *vsh, c *cmdArgs) error {
	verb, how := "define", "defined"
	if create {
		verb, how = "create", "created"
	}
	return func(v *vsh, c *cmdArgs) error {
		file, _ := c.str("file")
		data, err := v.readFileArg(file)
		if err != nil {
			return err
		}
		var net libvirt.Network
		var flags uint32
		if c.has("validate") {
			flags = uint32(libvirt.NetworkDefineValidate)
			if create {
				flags = uint32(libvirt.NetworkCreateValidate)
			}
		}
		switch {
		case create && flags != 0:
			net, err = v.l.NetworkCreateXMLFlags(string(data), flags)
		case create:
			net, err = v.l.NetworkCreateXML(string(data))
		case flags != 0:
			net, err = v.l.NetworkDefineXMLFlags(string(data), flags)
		default:
			net, err = v.l.NetworkDefineXML(string(data))
		}
		if err != nil {
			return v.failed(err, "Failed to %s network from %s", verb, file)
		}
		v.extra("Network %s %s from %s\n", net.Name, how, file)
		return nil
	}
}

// netAction is one of the by-name network actions and virsh's wording.
type netAction struct {
	do      func(l *libvirt.Libvirt, n libvirt.Network) error
	by      int
	failure string // "Failed to start network %s"
	done    string // "Network %s started\n"
}

var (
	netStart = netAction{do: (*libvirt.Libvirt).NetworkCreate, by: netByName,
		failure: "Failed to start network %s", done: "Network %s started\n"}
	netDestroy = netAction{do: (*libvirt.Libvirt).NetworkDestroy, by: netByUUID | netByName,
		failure: "Failed to destroy network %s", done: "Network %s destroyed\n"}
	netUndefine = netAction{do: (*libvirt.Libvirt).NetworkUndefine, by: netByUUID | netByName,
		failure: "Failed to undefine network %s", done: "Network %s has been undefined\n"}
)

func (a netAction) run(v *vsh, c *cmdArgs) error {
	net, err := v.lookupNetwork(c, a.by)
	if err != nil {
		return err
	}
	if err := a.do(v.l, net); err != nil {
		return v.failed(err, a.failure, net.Name)
	}
	v.extra(a.done, net.Name)
	return nil
}

func cmdNetAutostart(v *vsh, c *cmdArgs) error {
	net, err := v.lookupNetwork(c, netByUUID|netByName)
	if err != nil {
		return err
	}
	on := !c.has("disable")
	var set int32
	if on {
		set = 1
	}
	if err := v.l.NetworkSetAutostart(net, set); err != nil {
		if on {
			return v.failed(err, "failed to mark network %s as autostarted", net.Name)
		}
		return v.failed(err, "failed to unmark network %s as autostarted", net.Name)
	}
	if on {
		v.extra("Network %s marked as autostarted\n", net.Name)
	} else {
		v.extra("Network %s unmarked as autostarted\n", net.Name)
	}
	return nil
}
