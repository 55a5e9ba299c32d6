// Domain information and lists: list, dominfo, domstate, domid, domuuid,
// domname, domiflist.

package virsh

import (
	"encoding/xml"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/digitalocean/go-libvirt"
)

// listFlags maps list's options to virConnectListAllDomainsFlags.
func listFlags(c *cmdArgs) libvirt.ConnectListAllDomainsFlags {
	var f libvirt.ConnectListAllDomainsFlags = libvirt.ConnectListDomainsActive
	if c.has("inactive") {
		f = libvirt.ConnectListDomainsInactive
	}
	if c.has("all") {
		f = libvirt.ConnectListDomainsActive | libvirt.ConnectListDomainsInactive
	}
	filters := []struct {
		opt  string
		flag libvirt.ConnectListAllDomainsFlags
	}{
		{"persistent", libvirt.ConnectListDomainsPersistent}, {"transient", libvirt.ConnectListDomainsTransient},
		{"with-managed-save", libvirt.ConnectListDomainsManagedsave}, {"without-managed-save", libvirt.ConnectListDomainsNoManagedsave},
		{"autostart", libvirt.ConnectListDomainsAutostart}, {"no-autostart", libvirt.ConnectListDomainsNoAutostart},
		{"with-snapshot", libvirt.ConnectListDomainsHasSnapshot}, {"without-snapshot", libvirt.ConnectListDomainsNoSnapshot},
		{"with-checkpoint", libvirt.ConnectListDomainsHasCheckpoint}, {"without-checkpoint", libvirt.ConnectListDomainsNoCheckpoint},
		{"state-running", libvirt.ConnectListDomainsRunning}, {"state-paused", libvirt.ConnectListDomainsPaused},
		{"state-shutoff", libvirt.ConnectListDomainsShutoff}, {"state-other", libvirt.ConnectListDomainsOther},
	}
	filtered := false
	for _, fl := range filters {
		if c.has(fl.opt) {
			f |= fl.flag
			filtered = true
		}
	}
	// virsh: any filter implies all domains unless --inactive/--all
	// already chose.
	if filtered && !c.has("inactive") && !c.has("all") {
		f |= libvirt.ConnectListDomainsInactive
	}
	if f&(libvirt.ConnectListDomainsActive|libvirt.ConnectListDomainsInactive) == libvirt.ConnectListDomainsActive|libvirt.ConnectListDomainsInactive {
		f &^= libvirt.ConnectListDomainsActive | libvirt.ConnectListDomainsInactive
	}
	return f
}

func cmdList(v *vsh, c *cmdArgs) error {
	doms, _, err := v.l.ConnectListAllDomains(1, listFlags(c))
	if err != nil {
		v.errorf("Failed to list domains")
		v.libvirtError(err)
		return errFailed
	}
	// virshDomainSorter: running domains by id, then inactive ones by name
	// (case-insensitively).
	sort.SliceStable(doms, func(i, j int) bool {
		a, b := doms[i], doms[j]
		switch {
		case a.ID == -1 && b.ID == -1:
			return strings.ToLower(a.Name) < strings.ToLower(b.Name)
		case a.ID != -1 && b.ID != -1:
			return uint32(a.ID) < uint32(b.ID)
		}
		return a.ID != -1
	})
	optName, optUUID, optID := c.has("name"), c.has("uuid"), c.has("id")
	if optName || optUUID || optID {
		for _, d := range doms {
			var parts []string
			if optID {
				if d.ID == -1 {
					continue
				}
				parts = append(parts, strconv.Itoa(int(d.ID)))
			}
			if optUUID {
				parts = append(parts, uuidString(d.UUID))
			}
			if optName {
				parts = append(parts, d.Name)
			}
			v.printf("%s\n", strings.Join(parts, " "))
		}
		return nil
	}
	rows := make([][]string, 0, len(doms))
	for _, d := range doms {
		id := "-"
		if d.ID != -1 {
			id = strconv.Itoa(int(d.ID))
		}
		state := "-"
		if st, _, err := v.l.DomainGetState(d, 0); err == nil {
			state = stateString(st)
		}
		rows = append(rows, []string{id, d.Name, state})
	}
	v.table([]string{"Id", "Name", "State"}, rows)
	return nil
}

var stateNames = []string{"no state", "running", "idle", "paused", "in shutdown", "shut off", "crashed", "pmsuspended"}

func stateString(s int32) string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "no state"
}

var reasonNames = map[int32][]string{
	0: {"unknown"},
	1: {"unknown", "booted", "migrated", "restored", "from snapshot", "unpaused", "migration canceled", "save canceled", "event wakeup", "crashed", "post-copy", "post-copy failed"},
	2: {"unknown"},
	3: {"unknown", "user", "migrating", "saving", "dumping", "I/O error", "watchdog", "from snapshot", "shutting down", "creating snapshot", "crashed", "starting up", "post-copy", "post-copy failed", "api error"},
	4: {"unknown", "user"},
	5: {"unknown", "shutdown", "destroyed", "crashed", "migrated", "saved", "failed", "from snapshot", "daemon"},
	6: {"unknown", "panicked"},
	7: {"unknown"},
}

func reasonString(state, reason int32) string {
	if names := reasonNames[state]; reason >= 0 && int(reason) < len(names) {
		return names[reason]
	}
	return "unknown"
}

func cmdDomstate(v *vsh, c *cmdArgs) error {
	d, err := v.lookup(c, byAll)
	if err != nil {
		return err
	}
	state, reason, err := v.l.DomainGetState(d, 0)
	if err != nil {
		return err
	}
	if c.has("reason") {
		v.printf("%s (%s)\n", stateString(state), reasonString(state, reason))
	} else {
		v.printf("%s\n", stateString(state))
	}
	return nil
}

func cmdDomid(v *vsh, c *cmdArgs) error {
	d, err := v.lookup(c, byAll)
	if err != nil {
		return err
	}
	if d.ID == -1 {
		v.printf("-\n")
	} else {
		v.printf("%d\n", d.ID)
	}
	return nil
}

func cmdDomuuid(v *vsh, c *cmdArgs) error {
	d, err := v.lookup(c, byAll)
	if err != nil {
		return err
	}
	v.printf("%s\n", uuidString(d.UUID))
	return nil
}

func cmdDomname(v *vsh, c *cmdArgs) error {
	d, err := v.lookup(c, byAll)
	if err != nil {
		return err
	}
	v.printf("%s\n", d.Name)
	return nil
}

func cmdDominfo(v *vsh, c *cmdArgs) error {
	d, err := v.lookup(c, byAll)
	if err != nil {
		return err
	}
	if d.ID == -1 {
		v.printf("%-15s %s\n", "Id:", "-")
	} else {
		v.printf("%-15s %d\n", "Id:", d.ID)
	}
	v.printf("%-15s %s\n", "Name:", d.Name)
	v.printf("%-15s %s\n", "UUID:", uuidString(d.UUID))
	if os, err := v.l.DomainGetOsType(d); err == nil {
		v.printf("%-15s %s\n", "OS Type:", os)
	}
	if state, maxMem, mem, ncpu, cpuTime, err := v.l.DomainGetInfo(d); err == nil {
		v.printf("%-15s %s\n", "State:", stateString(int32(state)))
		v.printf("%-15s %d\n", "CPU(s):", ncpu)
		if cpuTime != 0 {
			v.printf("%-15s %.1fs\n", "CPU time:", float64(cpuTime)/1e9)
		}
		if maxMem != 0 {
			v.printf("%-15s %d KiB\n", "Max memory:", maxMem)
		} else {
			v.printf("%-15s %s\n", "Max memory:", "no limit")
		}
		v.printf("%-15s %d KiB\n", "Used memory:", mem)
	} else {
		v.printf("%-15s %s\n", "State:", "no state")
	}
	if p, err := v.l.DomainIsPersistent(d); err == nil {
		yes := "no"
		if p < 0 {
			yes = "unknown"
		} else if p > 0 {
			yes = "yes"
		}
		v.printf("%-15s %s\n", "Persistent:", yes)
	}
	if a, err := v.l.DomainGetAutostart(d); err == nil {
		s := "disable"
		if a != 0 {
			s = "enable"
		}
		v.printf("%-15s %s\n", "Autostart:", s)
	}
	if ms, err := v.l.DomainHasManagedSaveImage(d, 0); err == nil {
		s := "no"
		if ms != 0 {
			s = "yes"
		}
		v.printf("%-15s %s\n", "Managed save:", s)
	}
	if model, doi, err := v.l.NodeGetSecurityModel(); err == nil {
		if m := charsToString(model); m != "" {
			v.printf("%-15s %s\n", "Security model:", m)
			v.printf("%-15s %s\n", "Security DOI:", charsToString(doi))
			if label, enforcing, err := v.l.DomainGetSecurityLabel(d); err == nil && charsToString(label) != "" {
				mode := "permissive"
				if enforcing != 0 {
					mode = "enforcing"
				}
				v.printf("%-15s %s (%s)\n", "Security label:", charsToString(label), mode)
			}
		}
	}
	if msgs, err := v.l.DomainGetMessages(d, 0); err == nil && len(msgs) > 0 {
		for i, m := range msgs {
			label := ""
			if i == 0 {
				label = "Messages:"
			}
			v.printf("%-15s %s\n", label, m)
		}
	}
	return nil
}

// domiflist parses the domain XML like virsh's cmdDomiflist.
func cmdDomiflist(v *vsh, c *cmdArgs) error {
	d, err := v.lookup(c, byAll)
	if err != nil {
		return err
	}
	var flags libvirt.DomainXMLFlags
	if c.has("inactive") {
		flags = libvirt.DomainXMLInactive
	}
	x, err := v.l.DomainGetXMLDesc(d, flags)
	if err != nil {
		return err
	}
	var dom struct {
		Interfaces []struct {
			Type   string `xml:"type,attr"`
			Target struct {
				Dev string `xml:"dev,attr"`
			} `xml:"target"`
			Source struct {
				Attrs []xml.Attr `xml:",any,attr"`
			} `xml:"source"`
			Model struct {
				Type string `xml:"type,attr"`
			} `xml:"model"`
			MAC struct {
				Address string `xml:"address,attr"`
			} `xml:"mac"`
		} `xml:"devices>interface"`
	}
	if err := xml.Unmarshal([]byte(x), &dom); err != nil {
		return fmt.Errorf("Failed to parse domain description xml")
	}
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	var rows [][]string
	for _, ifc := range dom.Interfaces {
		source := ""
		for _, name := range []string{"bridge", "dev", "network", "name", "path"} {
			for _, a := range ifc.Source.Attrs {
				if a.Name.Local == name && source == "" {
					source = a.Value
				}
			}
		}
		rows = append(rows, []string{dash(ifc.Target.Dev), dash(ifc.Type), dash(source), dash(ifc.Model.Type), dash(ifc.MAC.Address)})
	}
	v.table([]string{"Interface", "Type", "Source", "Model", "MAC"}, rows)
	return nil
}

// domifaddrSources are domifaddr's --source values
// (virDomainInterfaceAddressesSource).
var domifaddrSources = map[string]uint32{"lease": 0, "agent": 1, "arp": 2}

// cmdDomifaddr is virsh-domain-monitor.c's cmdDomIfAddr.
func cmdDomifaddr(v *vsh, c *cmdArgs) error {
	d, err := v.lookup(c, byAll)
	if err != nil {
		return err
	}
	var source uint32
	if s, ok := c.str("source"); ok {
		if source, ok = domifaddrSources[s]; !ok {
			v.errorf("Unknown data source '%s'", s)
			return errFailed
		}
	}
	ifaces, err := v.l.DomainInterfaceAddresses(d, source, 0)
	if err != nil {
		return v.failed(err, "Failed to query for interfaces addresses")
	}
	only, filter := c.str("interface")
	v.extra(" %-10s %-20s %-8s     %s\n%s%s\n", "Name", "MAC address", "Protocol", "Address",
		"-------------------------------------------------", "------------------------------")
	for _, ifc := range ifaces {
		if filter && only != ifc.Name {
			continue
		}
		mac := ""
		if len(ifc.Hwaddr) > 0 {
			mac = ifc.Hwaddr[0]
		}
		if len(ifc.Addrs) == 0 {
			if mac == "" {
				mac = "N/A"
			}
			v.printf(" %-10s %-17s    %-12s %s\n", ifc.Name, mac, "N/A", "N/A")
			continue
		}
		for j, a := range ifc.Addrs {
			typ := "ipv4"
			if a.Type == 1 {
				typ = "ipv6"
			}
			addr := fmt.Sprintf("%-12s %s/%d", typ, a.Addr, a.Prefix)
			if c.has("full") || j == 0 {
				v.printf(" %-10s %-17s    %s\n", ifc.Name, mac, addr)
			} else {
				v.printf(" %-10s %-17s    %s\n", "-", "-", addr)
			}
		}
	}
	return nil
}

// metadataFlags are the --live/--config/--current options of desc and
// metadata (virDomainModificationImpact).
func metadataFlags(c *cmdArgs) libvirt.DomainModificationImpact {
	var f libvirt.DomainModificationImpact
	if c.has("live") {
		f |= libvirt.DomainAffectLive
	}
	if c.has("config") {
		f |= libvirt.DomainAffectConfig
	}
	return f
}

// cmdDesc is virsh-domain-monitor.c's cmdDesc without --edit: show or set
// the description or (--title) the title.
func cmdDesc(v *vsh, c *cmdArgs) error {
	d, err := v.lookup(c, byAll)
	if err != nil {
		return err
	}
	typ, what := libvirt.DomainMetadataDescription, "description"
	if c.has("title") {
		typ, what = libvirt.DomainMetadataTitle, "title"
	}
	if desc, ok := c.str("new-desc"); ok {
		if err := v.l.DomainSetMetadata(d, int32(typ), libvirt.OptString{desc}, nil, nil, metadataFlags(c)); err != nil {
			return v.failed(err, "Failed to set new domain %s", what)
		}
		v.extra("Domain %s updated successfully", what)
		return nil
	}
	desc, err := v.l.DomainGetMetadata(d, int32(typ), nil, metadataFlags(c))
	var le libvirt.Error
	if errors.As(err, &le) && le.Code == uint32(libvirt.ErrNoDomainMetadata) {
		desc, err = "", nil
	}
	if err != nil {
		v.libvirtError(err)
		return errFailed
	}
	if desc == "" {
		v.extra("No %s for domain: %s", what, d.Name)
		return nil
	}
	v.printf("%s", desc)
	return nil
}

// cmdMetadata is virsh-domain.c's cmdMetadata without --edit.
func cmdMetadata(v *vsh, c *cmdArgs) error {
	d, err := v.lookup(c, byAll)
	if err != nil {
		return err
	}
	uri, _ := c.str("uri")
	key, hasKey := c.str("key")
	set, hasSet := c.str("set")
	if hasSet && !hasKey {
		v.errorf("namespace key is required when modifying metadata")
		return errFailed
	}
	if hasSet || c.has("remove") {
		var md, k libvirt.OptString
		if hasSet {
			md = libvirt.OptString{set}
		}
		if hasKey {
			k = libvirt.OptString{key}
		}
		if err := v.l.DomainSetMetadata(d, int32(libvirt.DomainMetadataElement), md, k, libvirt.OptString{uri}, metadataFlags(c)); err != nil {
			v.libvirtError(err)
			return errFailed
		}
		if hasSet {
			v.extra("Metadata modified\n")
		} else {
			v.extra("Metadata removed\n")
		}
		return nil
	}
	data, err := v.l.DomainGetMetadata(d, int32(libvirt.DomainMetadataElement), libvirt.OptString{uri}, metadataFlags(c))
	if err != nil {
		v.libvirtError(err)
		return errFailed
	}
	v.printf("%s\n", data)
	return nil
}
