package virsh

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/digitalocean/go-libvirt"
)

var domainOpt = optDef{name: "domain", kind: optData, required: true}

// commandTable is every sub-command offered; it is never modified.
var commandTable = map[string]*command{
	"list": {name: "list", opts: []optDef{
		{name: "inactive"}, {name: "all"}, {name: "transient"}, {name: "persistent"},
		{name: "with-snapshot"}, {name: "without-snapshot"}, {name: "with-checkpoint"}, {name: "without-checkpoint"},
		{name: "state-running"}, {name: "state-paused"}, {name: "state-shutoff"}, {name: "state-other"},
		{name: "autostart"}, {name: "no-autostart"}, {name: "with-managed-save"}, {name: "without-managed-save"},
		{name: "uuid"}, {name: "name"}, {name: "id"}, {name: "table"},
	}, exclusive: [][2]string{{"table", "name"}, {"table", "uuid"}, {"table", "id"}, {"all", "inactive"}}, run: cmdList},
	"start": {name: "start", opts: []optDef{{name: "domain", kind: optData, required: true}, {name: "console"}, {name: "paused"},
		{name: "autodestroy"}, {name: "bypass-cache"}, {name: "force-boot"}, {name: "reset-nvram"}}, run: cmdStart},
	"destroy":   {name: "destroy", opts: []optDef{domainOpt, {name: "graceful"}, {name: "remove-logs"}}, run: simpleAction("destroy", "Domain '%s' destroyed\n", "Failed to destroy domain '%s'")},
	"shutdown":  {name: "shutdown", opts: []optDef{domainOpt, {name: "mode", kind: optString}}, run: simpleAction("shutdown", "Domain '%s' is being shutdown\n", "Failed to shutdown domain '%s'")},
	"reboot":    {name: "reboot", opts: []optDef{domainOpt, {name: "mode", kind: optString}}, run: simpleAction("reboot", "Domain '%s' is being rebooted\n", "Failed to reboot domain '%s'")},
	"reset":     {name: "reset", opts: []optDef{domainOpt}, run: simpleAction("reset", "Domain '%s' was reset\n", "Failed to reset domain '%s'")},
	"dominfo":   {name: "dominfo", opts: []optDef{domainOpt}, run: cmdDominfo},
	"domstate":  {name: "domstate", opts: []optDef{domainOpt, {name: "reason"}}, run: cmdDomstate},
	"domid":     {name: "domid", opts: []optDef{domainOpt}, run: cmdDomid},
	"domuuid":   {name: "domuuid", opts: []optDef{domainOpt}, run: cmdDomuuid},
	"domname":   {name: "domname", opts: []optDef{domainOpt}, run: cmdDomname},
	"dumpxml":   {name: "dumpxml", opts: []optDef{domainOpt, {name: "inactive"}, {name: "security-info"}, {name: "update-cpu"}, {name: "migratable"}}, run: cmdDumpxml},
	"domiflist": {name: "domiflist", opts: []optDef{domainOpt, {name: "inactive"}}, run: cmdDomiflist},
	"autostart": {name: "autostart", opts: []optDef{domainOpt, {name: "disable"}}, run: cmdAutostart},
	"version":   {name: "version", opts: []optDef{{name: "daemon"}}, run: cmdVersion},
	"hostname":  {name: "hostname", run: cmdHostname},
	"nodeinfo":  {name: "nodeinfo", run: cmdNodeinfo},
	"uri":       {name: "uri", run: cmdURI},
	"edit":      {name: "edit", opts: []optDef{domainOpt, {name: "skip-validate"}}, run: cmdEdit},
	"define":    {name: "define", opts: []optDef{{name: "file", kind: optData, required: true}, {name: "validate"}}, run: cmdDefine},
	"undefine": {name: "undefine", opts: []optDef{domainOpt, {name: "managed-save"}, {name: "storage", kind: optString},
		{name: "remove-all-storage"}, {name: "delete-storage-volume-snapshots"}, {name: "wipe-storage"},
		{name: "snapshots-metadata"}, {name: "checkpoints-metadata"}, {name: "nvram"}, {name: "keep-nvram"},
		{name: "tpm"}, {name: "keep-tpm"}}, run: cmdUndefine},
}

// Lookup flags of virshLookupDomainBy.
const (
	byID = 1 << iota
	byUUID
	byName
	byAll = byID | byUUID | byName
)

// lookup resolves a domain argument as virsh does: an id (≥ 0), then a
// UUID, then a name; any failure is reported as virsh's single line.
func (v *vsh) lookup(c *cmdArgs, flags int) (libvirt.Domain, error) {
	n, _ := c.str("domain")
	if flags&byID != 0 {
		if id, err := strconv.ParseInt(n, 10, 32); err == nil && id >= 0 {
			if d, err := v.l.DomainLookupByID(int32(id)); err == nil {
				return d, nil
			}
		}
	}
	if flags&byUUID != 0 && len(n) == 36 {
		if u, ok := parseUUID(n); ok {
			if d, err := v.l.DomainLookupByUUID(u); err == nil {
				return d, nil
			}
		}
	}
	if flags&byName != 0 {
		if d, err := v.l.DomainLookupByName(n); err == nil {
			return d, nil
		}
	}
	v.errorf("failed to get domain '%s'", n)
	return libvirt.Domain{}, errFailed
}

func parseUUID(s string) (libvirt.UUID, bool) {
	var u libvirt.UUID
	h := strings.ReplaceAll(s, "-", "")
	if len(h) != 32 {
		return u, false
	}
	for i := 0; i < 16; i++ {
		b, err := strconv.ParseUint(h[2*i:2*i+2], 16, 8)
		if err != nil {
			return u, false
		}
		u[i] = byte(b)
	}
	return u, true
}

func uuidString(u libvirt.UUID) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// failed prints virsh's "Failed to …" line and the libvirt error.
func (v *vsh) failed(err error, format string, a ...any) error {
	v.errorf(format, a...)
	v.libvirtError(err)
	return errFailed
}

func simpleAction(what, okMsg, failMsg string) func(v *vsh, c *cmdArgs) error {
	return func(v *vsh, c *cmdArgs) error {
		d, err := v.lookup(c, byAll)
		if err != nil {
			return err
		}
		switch what {
		case "destroy":
			if c.has("graceful") {
				err = v.l.DomainDestroyFlags(d, libvirt.DomainDestroyGraceful)
			} else {
				err = v.l.DomainDestroy(d)
			}
		case "shutdown":
			err = v.l.DomainShutdown(d)
		case "reboot":
			err = v.l.DomainReboot(d, 0)
		case "reset":
			err = v.l.DomainReset(d, 0)
		}
		if err != nil {
			return v.failed(err, failMsg, d.Name)
		}
		v.extra(okMsg, d.Name)
		return nil
	}
}

func cmdStart(v *vsh, c *cmdArgs) error {
	d, err := v.lookup(c, byName|byUUID)
	if err != nil {
		return err
	}
	if d.ID != -1 {
		v.errorf("Domain is already active")
		return errFailed
	}
	var flags uint32
	if c.has("paused") {
		flags |= uint32(libvirt.DomainStartPaused)
	}
	if c.has("autodestroy") {
		flags |= uint32(libvirt.DomainStartAutodestroy)
	}
	if c.has("bypass-cache") {
		flags |= uint32(libvirt.DomainStartBypassCache)
	}
	if c.has("force-boot") {
		flags |= uint32(libvirt.DomainStartForceBoot)
	}
	if c.has("reset-nvram") {
		flags |= uint32(libvirt.DomainStartResetNvram)
	}
	if flags != 0 {
		_, err = v.l.DomainCreateWithFlags(d, flags)
	} else {
		err = v.l.DomainCreate(d)
	}
	if err != nil {
		return v.failed(err, "Failed to start domain '%s'", d.Name)
	}
	v.extra("Domain '%s' started\n", d.Name)
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
		if m := cString(model); m != "" {
			v.printf("%-15s %s\n", "Security model:", m)
			v.printf("%-15s %s\n", "Security DOI:", cString(doi))
			if label, enforcing, err := v.l.DomainGetSecurityLabel(d); err == nil && cString(label) != "" {
				mode := "permissive"
				if enforcing != 0 {
					mode = "enforcing"
				}
				v.printf("%-15s %s (%s)\n", "Security label:", cString(label), mode)
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

func cString(b []int8) string {
	var sb strings.Builder
	for _, c := range b {
		if c == 0 {
			break
		}
		sb.WriteByte(byte(c))
	}
	return sb.String()
}

func cmdDumpxml(v *vsh, c *cmdArgs) error {
	d, err := v.lookup(c, byAll)
	if err != nil {
		return err
	}
	var flags libvirt.DomainXMLFlags
	if c.has("inactive") {
		flags |= libvirt.DomainXMLInactive
	}
	if c.has("security-info") {
		flags |= libvirt.DomainXMLSecure
	}
	if c.has("update-cpu") {
		flags |= libvirt.DomainXMLUpdateCPU
	}
	if c.has("migratable") {
		flags |= libvirt.DomainXMLMigratable
	}
	x, err := v.l.DomainGetXMLDesc(d, flags)
	if err != nil {
		return err
	}
	v.printf("%s", x)
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

func cmdAutostart(v *vsh, c *cmdArgs) error {
	d, err := v.lookup(c, byAll)
	if err != nil {
		return err
	}
	on := int32(1)
	if c.has("disable") {
		on = 0
	}
	if err := v.l.DomainSetAutostart(d, on); err != nil {
		if on == 1 {
			return v.failed(err, "Failed to mark domain '%s' as autostarted", d.Name)
		}
		return v.failed(err, "Failed to unmark domain '%s' as autostarted", d.Name)
	}
	if on == 1 {
		v.extra("Domain '%s' marked as autostarted\n", d.Name)
	} else {
		v.extra("Domain '%s' unmarked as autostarted\n", d.Name)
	}
	return nil
}

func versionString(v uint64) string {
	return fmt.Sprintf("%d.%d.%d", v/1000000, v/1000%1000, v%1000)
}

func cmdVersion(v *vsh, c *cmdArgs) error {
	v.printf("Compiled against library: libvirt %s\n", Version)
	v.printf("Using library: libvirt %s\n", Version)
	typ, err := v.l.ConnectGetType()
	if err != nil {
		v.errorf("failed to get hypervisor type")
		return errFailed
	}
	v.printf("Using API: %s %s\n", typ, Version)
	hv, err := v.l.ConnectGetVersion()
	if err != nil {
		v.errorf("failed to get the hypervisor version")
		return errFailed
	}
	if hv == 0 {
		v.printf("Cannot extract running %s hypervisor version\n", typ)
	} else {
		v.printf("Running hypervisor: %s %s\n", typ, versionString(hv))
	}
	if c.has("daemon") {
		lv, err := v.l.ConnectGetLibVersion()
		if err != nil {
			v.errorf("failed to get the daemon version")
		} else {
			v.printf("Running against daemon: %s\n", versionString(lv))
		}
	}
	return nil
}

func cmdHostname(v *vsh, c *cmdArgs) error {
	h, err := v.l.ConnectGetHostname()
	if err != nil {
		v.errorf("failed to get hostname")
		return errFailed
	}
	v.printf("%s\n", h)
	return nil
}

func cmdURI(v *vsh, c *cmdArgs) error {
	u := v.uri
	if u == "" {
		u = defaultURI
	}
	v.printf("%s\n", u)
	return nil
}

func cmdNodeinfo(v *vsh, c *cmdArgs) error {
	model, mem, cpus, mhz, nodes, sockets, cores, threads, err := v.l.NodeGetInfo()
	if err != nil {
		v.errorf("failed to get node information")
		return errFailed
	}
	v.printf("%-20s %s\n", "CPU model:", cString(model[:]))
	v.printf("%-20s %d\n", "CPU(s):", cpus)
	v.printf("%-20s %d MHz\n", "CPU frequency:", mhz)
	v.printf("%-20s %d\n", "CPU socket(s):", sockets)
	v.printf("%-20s %d\n", "Core(s) per socket:", cores)
	v.printf("%-20s %d\n", "Thread(s) per core:", threads)
	v.printf("%-20s %d\n", "NUMA cell(s):", nodes)
	v.printf("%-20s %d KiB\n", "Memory size:", mem)
	return nil
}

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
	for _, fl := range filters {
		if c.has(fl.opt) {
			f |= fl.flag
		}
	}
	// virsh: any state filter implies all domains unless --inactive/--all
	// already chose.
	if f&(libvirt.ConnectListDomainsRunning|libvirt.ConnectListDomainsPaused|libvirt.ConnectListDomainsShutoff|libvirt.ConnectListDomainsOther) != 0 && !c.has("inactive") && !c.has("all") {
		f |= libvirt.ConnectListDomainsInactive
	}
	if f&(libvirt.ConnectListDomainsPersistent|libvirt.ConnectListDomainsTransient|libvirt.ConnectListDomainsAutostart|libvirt.ConnectListDomainsNoAutostart|
		libvirt.ConnectListDomainsManagedsave|libvirt.ConnectListDomainsNoManagedsave|libvirt.ConnectListDomainsHasSnapshot|libvirt.ConnectListDomainsNoSnapshot|
		libvirt.ConnectListDomainsHasCheckpoint|libvirt.ConnectListDomainsNoCheckpoint) != 0 && !c.has("inactive") && !c.has("all") {
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

func cmdUndefine(v *vsh, c *cmdArgs) error {
	d, err := v.lookup(c, byAll)
	if err != nil {
		return err
	}
	var flags libvirt.DomainUndefineFlagsValues
	for _, f := range []struct {
		opt  string
		flag libvirt.DomainUndefineFlagsValues
	}{
		{"managed-save", libvirt.DomainUndefineManagedSave}, {"snapshots-metadata", libvirt.DomainUndefineSnapshotsMetadata},
		{"checkpoints-metadata", libvirt.DomainUndefineCheckpointsMetadata}, {"nvram", libvirt.DomainUndefineNvram},
		{"keep-nvram", libvirt.DomainUndefineKeepNvram}, {"tpm", libvirt.DomainUndefineTpm}, {"keep-tpm", libvirt.DomainUndefineKeepTpm},
	} {
		if c.has(f.opt) {
			flags |= f.flag
		}
	}
	if err := v.l.DomainUndefineFlags(d, flags); err != nil {
		return v.failed(err, "Failed to undefine domain '%s'", d.Name)
	}
	v.extra("Domain '%s' has been undefined\n", d.Name)
	return nil
}

// readScratch reads a file named on the command line: only files in the
// session's scratch dir (and /dev/stdin) are readable.
func (v *vsh) readScratch(name string) ([]byte, error) {
	if name == "/dev/stdin" || name == "-" {
		if v.env.Stdin == nil {
			return nil, nil
		}
		return io.ReadAll(io.LimitReader(v.env.Stdin, 16<<20))
	}
	if v.env.Scratch == nil || path.IsAbs(name) || strings.HasPrefix(path.Clean(name), "..") {
		return nil, os.ErrPermission
	}
	return v.env.Scratch.ReadFile(path.Clean(name))
}

func cmdDefine(v *vsh, c *cmdArgs) error {
	file, _ := c.str("file")
	data, err := v.readScratch(file)
	if err != nil {
		msg := "No such file or directory"
		if errors.Is(err, os.ErrPermission) {
			msg = "Permission denied"
		}
		v.errorf("Failed to open file '%s': %s", file, msg)
		return errFailed
	}
	var flags libvirt.DomainDefineFlags
	if c.has("validate") {
		flags |= libvirt.DomainDefineValidate
	}
	d, err := v.l.DomainDefineXMLFlags(string(data), flags)
	if err != nil {
		return v.failed(err, "Failed to define domain from %s", file)
	}
	v.extra("Domain '%s' defined from %s\n", d.Name, file)
	return nil
}

// cmdEdit follows virsh-edit.c: get the inactive secure XML, write it to a
// temp file, run the editor, compare, re-read, define.
func cmdEdit(v *vsh, c *cmdArgs) error {
	d, err := v.lookup(c, byAll)
	if err != nil {
		return err
	}
	const getFlags = libvirt.DomainXMLSecure | libvirt.DomainXMLInactive
	doc, err := v.l.DomainGetXMLDesc(d, getFlags)
	if err != nil {
		return err
	}
	if v.env.Scratch == nil || v.env.RunEditor == nil {
		v.errorf("cannot create temporary file")
		return errFailed
	}
	tmp, err := tempName(v.env.Scratch)
	if err != nil {
		v.errorf("failed to create temporary file: %v", err)
		return errFailed
	}
	defer v.env.Scratch.Remove(tmp)
	if err := v.env.Scratch.WriteFile(tmp, []byte(doc), 0o600); err != nil {
		v.errorf("%s: write: %v", tmp, err)
		return errFailed
	}
	editor := v.env.Getenv("VISUAL")
	if editor == "" {
		editor = v.env.Getenv("EDITOR")
	}
	if editor == "" {
		editor = "vi"
	}
	if status := v.env.RunEditor(v.ctx, editor, tmp); status != 0 {
		v.errorf("%s %s: exited with status %d", editor, tmp, status)
		return errFailed
	}
	edited, err := v.env.Scratch.ReadFile(tmp)
	if err != nil {
		v.errorf("%s: failed to read temporary file", tmp)
		return errFailed
	}
	if bytes.Equal(edited, []byte(doc)) {
		v.extra("Domain '%s' XML configuration not changed.\n", d.Name)
		return nil
	}
	reread, err := v.l.DomainGetXMLDesc(d, getFlags)
	if err != nil {
		return err
	}
	if reread != doc {
		v.errorf("%s", "ERROR: the XML configuration was changed by another user")
		return errFailed
	}
	var flags libvirt.DomainDefineFlags
	if !c.has("skip-validate") {
		flags |= libvirt.DomainDefineValidate
	}
	nd, err := v.l.DomainDefineXMLFlags(string(edited), flags)
	if err != nil {
		// virsh 9.0 without a terminal: vshAskReedit answers for the user,
		// reports "Failed." and goes on as if the define had worked.
		v.errorf("Failed.")
		v.extra("Domain '(null)' XML configuration edited.\n")
		return nil
	}
	v.extra("Domain '%s' XML configuration edited.\n", nd.Name)
	return nil
}

// tempName picks a fresh virshXXXXXX.xml name in the scratch dir.
func tempName(root *os.Root) (string, error) {
	for i := 0; i < 100; i++ {
		var b [6]byte
		if _, err := io.ReadFull(randReader, b[:]); err != nil {
			return "", err
		}
		const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
		name := []byte("virsh")
		for _, c := range b {
			name = append(name, chars[int(c)%len(chars)])
		}
		n := string(name) + ".xml"
		f, err := root.OpenFile(n, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			f.Close()
			return n, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return "", err
		}
	}
	return "", errors.New("no unique temporary file name")
}
