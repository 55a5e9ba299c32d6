// Storage pools and volumes: pool-list, pool-info, pool-dumpxml,
// pool-define-as, pool-build, pool-start, pool-autostart, pool-refresh,
// pool-uuid, pool-name, vol-list, vol-create-as, vol-delete, vol-path,
// vol-info, vol-dumpxml, vol-key, vol-name, vol-pool, as virsh-pool.c and
// virsh-volume.c word them.

package virsh

import (
	"cmp"
	"encoding/xml"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/digitalocean/go-libvirt"
)

var (
	poolOpt    = optDef{name: "pool", kind: optData, required: true}
	volOpt     = optDef{name: "vol", kind: optData, required: true}
	volPoolOpt = optDef{name: "pool", kind: optString}
)

// storageCommands are the pool-* and vol-* rows of commandTable.
var storageCommands = map[string]*command{
	"pool-list": {name: "pool-list", opts: []optDef{{name: "inactive"}, {name: "all"}, {name: "transient"}, {name: "persistent"},
		{name: "autostart"}, {name: "no-autostart"}, {name: "type", kind: optString}, {name: "details"}, {name: "uuid"}, {name: "name"}},
		exclusive: [][2]string{{"details", "uuid"}, {"details", "name"}}, run: cmdPoolList},
	"pool-info":      {name: "pool-info", opts: []optDef{poolOpt, {name: "bytes"}}, run: cmdPoolInfo},
	"pool-dumpxml":   {name: "pool-dumpxml", opts: []optDef{poolOpt, {name: "inactive"}}, run: cmdPoolDumpxml},
	"pool-uuid":      {name: "pool-uuid", opts: []optDef{poolOpt}, run: cmdPoolUUID},
	"pool-name":      {name: "pool-name", opts: []optDef{poolOpt}, run: cmdPoolName},
	"pool-define-as": {name: "pool-define-as", opts: poolAsOpts, run: cmdPoolDefineAs},
	"pool-build":     {name: "pool-build", opts: []optDef{poolOpt, {name: "overwrite"}, {name: "no-overwrite"}}, run: poolBuild.run},
	"pool-start":     {name: "pool-start", opts: []optDef{poolOpt, {name: "build"}, {name: "overwrite"}, {name: "no-overwrite"}}, run: poolStart.run},
	"pool-refresh":   {name: "pool-refresh", opts: []optDef{poolOpt}, run: poolRefresh.run},
	"pool-autostart": {name: "pool-autostart", opts: []optDef{poolOpt, {name: "disable"}}, run: cmdPoolAutostart},
	"vol-list":       {name: "vol-list", opts: []optDef{poolOpt, {name: "details"}}, run: cmdVolList},
	"vol-create-as": {name: "vol-create-as", opts: []optDef{poolOpt, {name: "name", kind: optData, required: true},
		{name: "capacity", kind: optData, required: true}, {name: "allocation", kind: optString}, {name: "format", kind: optString},
		{name: "backing-vol", kind: optString}, {name: "backing-vol-format", kind: optString}, {name: "prealloc-metadata"}, {name: "print-xml"}},
		run: cmdVolCreateAs},
	"vol-delete":  {name: "vol-delete", opts: []optDef{volOpt, volPoolOpt, {name: "delete-snapshots"}}, run: cmdVolDelete},
	"vol-path":    {name: "vol-path", opts: []optDef{volOpt, volPoolOpt}, run: volPrint(true, func(v *vsh, vol libvirt.StorageVol) (string, error) { return v.l.StorageVolGetPath(vol) })},
	"vol-key":     {name: "vol-key", opts: []optDef{volOpt, volPoolOpt}, run: volPrint(true, func(_ *vsh, vol libvirt.StorageVol) (string, error) { return vol.Key, nil })},
	"vol-name":    {name: "vol-name", opts: []optDef{volOpt}, run: volPrint(false, func(_ *vsh, vol libvirt.StorageVol) (string, error) { return vol.Name, nil })},
	"vol-pool":    {name: "vol-pool", opts: []optDef{volOpt, {name: "uuid"}}, run: cmdVolPool},
	"vol-info":    {name: "vol-info", opts: []optDef{volOpt, volPoolOpt, {name: "bytes"}, {name: "physical"}}, run: cmdVolInfo},
	"vol-dumpxml": {name: "vol-dumpxml", opts: []optDef{volOpt, volPoolOpt}, run: cmdVolDumpxml},
}

// lookupPool resolves the pool argument as virshCommandOptPoolBy: a UUID
// (36 characters), then a name.
func (v *vsh) lookupPool(c *cmdArgs, opt string) (libvirt.StoragePool, error) {
	n, _ := c.str(opt)
	var err error
	if len(n) == 36 {
		if u, ok := parseUUID(n); ok {
			var p libvirt.StoragePool
			if p, err = v.l.StoragePoolLookupByUUID(u); err == nil {
				return p, nil
			}
		}
	}
	p, err := v.l.StoragePoolLookupByName(n)
	if err == nil {
		return p, nil
	}
	v.errorf("failed to get pool '%s'", n)
	v.libvirtError(err)
	return libvirt.StoragePool{}, errFailed
}

// lookupVol resolves the vol argument as virshCommandOptVolBy: by name in
// --pool when given, then as a key, then as a path; a volume of another
// pool than --pool is refused.
//
// withPool says whether the command has a --pool option: a failure then
// suggests it when it was not given, as virsh does.
func (v *vsh) lookupVol(c *cmdArgs, withPool bool) (libvirt.StorageVol, error) {
	n, _ := c.str("vol")
	var pool *libvirt.StoragePool
	if _, given := c.str("pool"); given {
		p, err := v.lookupPool(c, "pool")
		if err != nil {
			return libvirt.StorageVol{}, err
		}
		if a, err := v.l.StoragePoolIsActive(p); err != nil || a != 1 {
			v.errorf("pool '%s' is not active", p.Name)
			return libvirt.StorageVol{}, errFailed
		}
		pool = &p
	}
	var vol libvirt.StorageVol
	err := errors.New("no lookup")
	if pool != nil {
		vol, err = v.l.StorageVolLookupByName(*pool, n)
	}
	if err != nil {
		vol, err = v.l.StorageVolLookupByKey(n)
	}
	if err != nil {
		vol, err = v.l.StorageVolLookupByPath(n)
	}
	if err != nil {
		if pool != nil || !withPool {
			v.errorf("failed to get vol '%s'", n)
		} else {
			v.errorf("failed to get vol '%s', specifying --pool might help", n)
		}
		v.libvirtError(err)
		return libvirt.StorageVol{}, errFailed
	}
	if pool != nil {
		if vp, err := v.l.StoragePoolLookupByVolume(vol); err == nil && vp.Name != pool.Name {
			v.errorf("Requested volume '%s' is not in pool '%s'", n, pool.Name)
			return libvirt.StorageVol{}, errFailed
		}
	}
	return vol, nil
}

// poolListFlags maps pool-list's options to
// virConnectListAllStoragePoolsFlags: active pools unless --inactive or
// --all, the other filters added.
func poolListFlags(c *cmdArgs) (libvirt.ConnectListAllStoragePoolsFlags, error) {
	f := objectListFlags(c, libvirt.ConnectListStoragePoolsActive, libvirt.ConnectListStoragePoolsInactive,
		map[string]libvirt.ConnectListAllStoragePoolsFlags{
			"persistent": libvirt.ConnectListStoragePoolsPersistent, "transient": libvirt.ConnectListStoragePoolsTransient,
			"autostart": libvirt.ConnectListStoragePoolsAutostart, "no-autostart": libvirt.ConnectListStoragePoolsNoAutostart,
		})
	if types, ok := c.str("type"); ok {
		for _, t := range strings.Split(types, ",") {
			bit, known := poolTypeFlags[t]
			if !known {
				return 0, fmt.Errorf("Invalid pool type '%s'", t)
			}
			f |= bit
		}
	}
	return f, nil
}

// poolTypeFlags are the pool types pool-list --type knows.
var poolTypeFlags = map[string]libvirt.ConnectListAllStoragePoolsFlags{
	"dir": libvirt.ConnectListStoragePoolsDir, "fs": libvirt.ConnectListStoragePoolsFs,
	"netfs": libvirt.ConnectListStoragePoolsNetfs, "logical": libvirt.ConnectListStoragePoolsLogical,
	"disk": libvirt.ConnectListStoragePoolsDisk, "iscsi": libvirt.ConnectListStoragePoolsIscsi,
	"scsi": libvirt.ConnectListStoragePoolsScsi, "mpath": libvirt.ConnectListStoragePoolsMpath,
	"rbd": libvirt.ConnectListStoragePoolsRbd, "sheepdog": libvirt.ConnectListStoragePoolsSheepdog,
	"gluster": libvirt.ConnectListStoragePoolsGluster, "zfs": libvirt.ConnectListStoragePoolsZfs,
	"vstorage": libvirt.ConnectListStoragePoolsVstorage, "iscsi-direct": libvirt.ConnectListStoragePoolsIscsiDirect,
}

// poolStates are virStoragePoolState's words in pool-list --details and
// pool-info.
var poolStates = []string{"inactive", "building", "running", "degraded", "inaccessible"}

func poolState(s uint8) string {
	if int(s) < len(poolStates) {
		return poolStates[s]
	}
	return "unknown"
}

// prettyCapacity is vshPrettyCapacity with virsh's "%.2lf %s".
func prettyCapacity(n uint64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	val, i := float64(n), 0
	for val >= 1024 && i < len(units)-1 {
		val /= 1024
		i++
	}
	return fmt.Sprintf("%.2f %s", val, units[i])
}

func cmdPoolList(v *vsh, c *cmdArgs) error {
	flags, err := poolListFlags(c)
	if err != nil {
		v.errorf("%v", err)
		return errFailed
	}
	pools, _, err := v.l.ConnectListAllStoragePools(1, flags)
	if err != nil {
		var le libvirt.Error
		if errors.As(err, &le) && le.Code == uint32(libvirt.ErrNoSupport) {
			// virsh falls back on the pre-0.10 calls, which fail the same way.
			if _, nerr := v.l.ConnectNumOfStoragePools(); nerr != nil {
				return v.failed(nerr, "Failed to get the number of active pools ")
			}
		}
		return v.failed(err, "Failed to list pools")
	}
	sort.SliceStable(pools, func(i, j int) bool { return strings.ToLower(pools[i].Name) < strings.ToLower(pools[j].Name) })
	if c.has("uuid") || c.has("name") {
		for _, p := range pools {
			if c.has("uuid") {
				sep := "\n"
				if c.has("name") {
					sep = " "
				}
				v.printf("%-36s%s", uuidString(p.UUID), sep)
			}
			if c.has("name") {
				v.printf("%-20s\n", p.Name)
			}
		}
		return nil
	}
	details := c.has("details")
	rows := make([][]string, 0, len(pools))
	for _, p := range pools {
		rows = append(rows, v.poolRow(p, details))
	}
	header := []string{"Name", "State", "Autostart"}
	if details {
		header = append(header, "Persistent", "Capacity", "Allocation", "Available")
	}
	v.table(header, rows)
	return nil
}

// poolRow is one pool's pool-list row.
func (v *vsh) poolRow(p libvirt.StoragePool, details bool) []string {
	autostart := "no autostart"
	if a, err := v.l.StoragePoolGetAutostart(p); err == nil {
		autostart = yesNo(a != 0)
	}
	persistent := "unknown"
	if details {
		if ps, err := v.l.StoragePoolIsPersistent(p); err == nil {
			persistent = yesNo(ps != 0)
		}
	}
	state, capacity, alloc, avail, err := v.l.StoragePoolGetInfo(p)
	if err != nil {
		v.errorf("Could not retrieve pool information")
		if details {
			return []string{p.Name, "unknown", autostart, persistent, "unknown", "unknown", "unknown"}
		}
		return []string{p.Name, "unknown", autostart}
	}
	if !details {
		s := "inactive"
		if a, err := v.l.StoragePoolIsActive(p); err == nil && a != 0 {
			s = "active"
		}
		return []string{p.Name, s, autostart}
	}
	row := []string{p.Name, poolState(state), autostart, persistent, "-", "-", "-"}
	if state == 2 || state == 3 { // running, degraded
		row[4], row[5], row[6] = prettyCapacity(capacity), prettyCapacity(alloc), prettyCapacity(avail)
	}
	return row
}

func cmdPoolInfo(v *vsh, c *cmdArgs) error {
	p, err := v.lookupPool(c, "pool")
	if err != nil {
		return err
	}
	size := prettyCapacity
	if c.has("bytes") {
		size = func(n uint64) string { return strconv.FormatUint(n, 10) }
	}
	v.printf("%-15s %s\n", "Name:", p.Name)
	v.printf("%-15s %s\n", "UUID:", uuidString(p.UUID))
	state, capacity, alloc, avail, err := v.l.StoragePoolGetInfo(p)
	if err != nil {
		v.libvirtError(err)
		return errFailed
	}
	v.printf("%-15s %s\n", "State:", poolState(state))
	if ps, err := v.l.StoragePoolIsPersistent(p); err == nil {
		v.printf("%-15s %s\n", "Persistent:", yesNo(ps != 0))
	} else {
		v.printf("%-15s %s\n", "Persistent:", "unknown")
	}
	if a, err := v.l.StoragePoolGetAutostart(p); err == nil {
		v.printf("%-15s %s\n", "Autostart:", yesNo(a != 0))
	} else {
		v.printf("%-15s %s\n", "Autostart:", "no autostart")
	}
	if state == 2 || state == 3 {
		v.printf("%-15s %s\n", "Capacity:", size(capacity))
		v.printf("%-15s %s\n", "Allocation:", size(alloc))
		v.printf("%-15s %s\n", "Available:", size(avail))
	}
	return nil
}

func cmdPoolDumpxml(v *vsh, c *cmdArgs) error {
	p, err := v.lookupPool(c, "pool")
	if err != nil {
		return err
	}
	var flags libvirt.StorageXMLFlags
	if c.has("inactive") {
		flags = libvirt.StorageXMLInactive
	}
	x, err := v.l.StoragePoolGetXMLDesc(p, flags)
	if err != nil {
		v.libvirtError(err)
		return errFailed
	}
	v.printf("%s", x)
	return nil
}

func cmdPoolUUID(v *vsh, c *cmdArgs) error {
	p, err := v.lookupPool(c, "pool")
	if err != nil {
		return err
	}
	v.printf("%s\n", uuidString(p.UUID))
	return nil
}

func cmdPoolName(v *vsh, c *cmdArgs) error {
	p, err := v.lookupPool(c, "pool")
	if err != nil {
		return err
	}
	v.printf("%s\n", p.Name)
	return nil
}

// poolAsOpts are pool-define-as' options (virsh's OPTS_POOL_SOURCE_AS).
var poolAsOpts = []optDef{{name: "name", kind: optData, required: true}, {name: "type", kind: optData, required: true},
	{name: "print-xml"}, {name: "source-host", kind: optString}, {name: "source-path", kind: optString},
	{name: "source-dev", kind: optString}, {name: "source-name", kind: optString}, {name: "target", kind: optString},
	{name: "source-format", kind: optString}, {name: "auth-type", kind: optString}, {name: "auth-username", kind: optString},
	{name: "secret-usage", kind: optString}, {name: "secret-uuid", kind: optString}, {name: "adapter-name", kind: optString},
	{name: "source-protocol-ver", kind: optString}}

// poolAsXML builds the XML pool-define-as sends (virshBuildPoolXML) for
// the options a dir or fs pool uses.
func poolAsXML(c *cmdArgs) string {
	name, _ := c.str("name")
	typ, _ := c.str("type")
	var b strings.Builder
	fmt.Fprintf(&b, "<pool type='%s'>\n  <name>%s</name>\n", typ, name)
	dev, hasDev := c.str("source-dev")
	srcPath, hasPath := c.str("source-path")
	if hasDev || hasPath {
		b.WriteString("  <source>\n")
		if hasDev {
			fmt.Fprintf(&b, "    <device path='%s'/>\n", dev)
		}
		if hasPath {
			fmt.Fprintf(&b, "    <dir path='%s'/>\n", srcPath)
		}
		b.WriteString("  </source>\n")
	}
	if target, ok := c.str("target"); ok {
		fmt.Fprintf(&b, "  <target>\n    <path>%s</path>\n  </target>\n", target)
	}
	b.WriteString("</pool>\n")
	return b.String()
}

func cmdPoolDefineAs(v *vsh, c *cmdArgs) error {
	name, _ := c.str("name")
	xml := poolAsXML(c)
	if c.has("print-xml") {
		v.printf("%s", xml)
		return nil
	}
	if _, err := v.l.StoragePoolDefineXML(xml, 0); err != nil {
		return v.failed(err, "Failed to define pool %s", name)
	}
	v.printf("Pool %s defined\n", name)
	return nil
}

// poolAction is a command that looks the pool up and makes one call.
type poolAction struct {
	call       func(v *vsh, p libvirt.StoragePool) error
	done, fail string // "Pool %s started", "Failed to start pool %s"
}

var (
	poolBuild = poolAction{call: func(v *vsh, p libvirt.StoragePool) error { return v.l.StoragePoolBuild(p, 0) },
		done: "Pool %s built", fail: "Failed to build pool %s"}
	poolStart = poolAction{call: func(v *vsh, p libvirt.StoragePool) error { return v.l.StoragePoolCreate(p, 0) },
		done: "Pool %s started", fail: "Failed to start pool %s"}
	poolRefresh = poolAction{call: func(v *vsh, p libvirt.StoragePool) error { return v.l.StoragePoolRefresh(p, 0) },
		done: "Pool %s refreshed", fail: "Failed to refresh pool %s"}
)

func (a poolAction) run(v *vsh, c *cmdArgs) error {
	p, err := v.lookupPool(c, "pool")
	if err != nil {
		return err
	}
	if err := a.call(v, p); err != nil {
		return v.failed(err, a.fail, p.Name)
	}
	v.printf(a.done+"\n", p.Name)
	return nil
}

func cmdPoolAutostart(v *vsh, c *cmdArgs) error {
	p, err := v.lookupPool(c, "pool")
	if err != nil {
		return err
	}
	on := !c.has("disable")
	if err := v.l.StoragePoolSetAutostart(p, b2i(on)); err != nil {
		if on {
			return v.failed(err, "failed to mark pool %s as autostarted", p.Name)
		}
		return v.failed(err, "failed to unmark pool %s as autostarted", p.Name)
	}
	if on {
		v.printf("Pool %s marked as autostarted\n", p.Name)
	} else {
		v.printf("Pool %s unmarked as autostarted\n", p.Name)
	}
	return nil
}

func b2i(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

func cmdVolList(v *vsh, c *cmdArgs) error {
	p, err := v.lookupPool(c, "pool")
	if err != nil {
		return err
	}
	vols, _, err := v.l.StoragePoolListAllVolumes(p, 1, 0)
	if err != nil {
		return v.failed(err, "Failed to list volumes")
	}
	sort.SliceStable(vols, func(i, j int) bool { return strings.ToLower(vols[i].Name) < strings.ToLower(vols[j].Name) })
	details := c.has("details")
	rows := make([][]string, 0, len(vols))
	for _, vol := range vols {
		path, err := v.l.StorageVolGetPath(vol)
		if err != nil {
			path = "unknown"
		}
		if !details {
			rows = append(rows, []string{vol.Name, path})
			continue
		}
		row := []string{vol.Name, path, "unknown", "unknown", "unknown"}
		if typ, capacity, alloc, err := v.l.StorageVolGetInfo(vol); err == nil {
			row[2], row[3], row[4] = volType(typ), prettyCapacity(capacity), prettyCapacity(alloc)
		}
		rows = append(rows, row)
	}
	header := []string{"Name", "Path"}
	if details {
		header = append(header, "Type", "Capacity", "Allocation")
	}
	v.table(header, rows)
	return nil
}

// volType is virStorageVolType as virsh words it.
func volType(t int8) string {
	types := []string{"file", "block", "dir", "network", "netdir", "ploop"}
	if t >= 0 && int(t) < len(types) {
		return types[t]
	}
	return "unknown"
}

// parseSize is virsh's vshCommandOptScaledInt for sizes: a number with an
// optional suffix (k, M, G, … = 1024; KB, MB, … = 1000; KiB, MiB, …), bytes
// without one.
//
// badSuffix is the suffix when that is what is wrong (virsh then also
// prints libvirt's "unknown suffix" error).
func parseSize(s string) (n uint64, badSuffix string, ok bool) {
	i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	if i == 0 {
		return 0, "", false
	}
	num, unit := s, ""
	if i > 0 {
		num, unit = s[:i], s[i:]
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil {
		return 0, "", false
	}
	if unit == "" || unit == "b" || unit == "B" || unit == "bytes" {
		return n, "", true
	}
	power := strings.IndexByte("kmgtpe", strings.ToLower(unit[:1])[0])
	base := uint64(1024)
	switch {
	case power < 0:
		return 0, unit, false
	case unit[1:] == "" || unit[1:] == "iB":
	case unit[1:] == "B":
		base = 1000
	default:
		return 0, unit, false
	}
	for range power + 1 {
		if n > ^uint64(0)/base {
			return 0, "", false
		}
		n *= base
	}
	return n, "", true
}

// size is the size option opt, or virsh's refusal printed.
func (v *vsh) size(c *cmdArgs, opt string) (uint64, bool) {
	s, _ := c.str(opt)
	n, bad, ok := parseSize(s)
	if !ok {
		v.errorf("Malformed size %s", s)
		if bad != "" {
			v.errorf("invalid argument: unknown suffix '%s'", bad)
		}
	}
	return n, ok
}

func cmdVolCreateAs(v *vsh, c *cmdArgs) error {
	name, _ := c.str("name")
	p, err := v.lookupPool(c, "pool")
	if err != nil {
		return err
	}
	capacity, ok := v.size(c, "capacity")
	if !ok {
		return errFailed
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<volume>\n  <name>%s</name>\n  <capacity>%d</capacity>\n", name, capacity)
	if _, given := c.str("allocation"); given {
		alloc, ok := v.size(c, "allocation")
		if !ok {
			return errFailed
		}
		fmt.Fprintf(&b, "  <allocation>%d</allocation>\n", alloc)
	}
	if f, given := c.str("format"); given {
		fmt.Fprintf(&b, "  <target>\n    <format type='%s'/>\n  </target>\n", f)
	}
	b.WriteString("</volume>\n")
	if c.has("print-xml") {
		v.printf("%s", b.String())
		return nil
	}
	var flags libvirt.StorageVolCreateFlags
	if c.has("prealloc-metadata") {
		flags = libvirt.StorageVolCreatePreallocMetadata
	}
	if _, err := v.l.StorageVolCreateXML(p, b.String(), flags); err != nil {
		return v.failed(err, "Failed to create vol %s", name)
	}
	v.printf("Vol %s created\n", name)
	return nil
}

func cmdVolDelete(v *vsh, c *cmdArgs) error {
	vol, err := v.lookupVol(c, true)
	if err != nil {
		return err
	}
	var flags libvirt.StorageVolDeleteFlags
	if c.has("delete-snapshots") {
		flags = libvirt.StorageVolDeleteWithSnapshots
	}
	if err := v.l.StorageVolDelete(vol, flags); err != nil {
		return v.failed(err, "Failed to delete vol %s", vol.Name)
	}
	v.printf("Vol %s deleted\n", vol.Name)
	return nil
}

// volPrint is a command that prints one fact of the volume.
func volPrint(withPool bool, fact func(v *vsh, vol libvirt.StorageVol) (string, error)) func(v *vsh, c *cmdArgs) error {
	return func(v *vsh, c *cmdArgs) error {
		vol, err := v.lookupVol(c, withPool)
		if err != nil {
			return err
		}
		s, err := fact(v, vol)
		if err != nil {
			v.libvirtError(err)
			return errFailed
		}
		v.printf("%s\n", s)
		return nil
	}
}

func cmdVolPool(v *vsh, c *cmdArgs) error {
	vol, err := v.lookupVol(c, false)
	if err != nil {
		return err
	}
	p, err := v.l.StoragePoolLookupByVolume(vol)
	if err != nil {
		v.errorf("failed to get parent pool")
		v.libvirtError(err)
		return errFailed
	}
	if c.has("uuid") {
		v.printf("%s\n", uuidString(p.UUID))
	} else {
		v.printf("%s\n", p.Name)
	}
	return nil
}

func cmdVolInfo(v *vsh, c *cmdArgs) error {
	vol, err := v.lookupVol(c, true)
	if err != nil {
		return err
	}
	v.printf("%-15s %s\n", "Name:", vol.Name)
	typ, capacity, alloc, err := v.l.StorageVolGetInfo(vol)
	if err != nil {
		v.libvirtError(err)
		return errFailed
	}
	size := prettyCapacity
	if c.has("bytes") {
		size = func(n uint64) string { return strconv.FormatUint(n, 10) + " bytes" }
	}
	v.printf("%-15s %s\n", "Type:", volType(typ))
	v.printf("%-15s %s\n", "Capacity:", size(capacity))
	v.printf("%-15s %s\n", "Allocation:", size(alloc))
	return nil
}

func cmdVolDumpxml(v *vsh, c *cmdArgs) error {
	vol, err := v.lookupVol(c, true)
	if err != nil {
		return err
	}
	x, err := v.l.StorageVolGetXMLDesc(vol, 0)
	if err != nil {
		v.libvirtError(err)
		return errFailed
	}
	v.printf("%s", x)
	return nil
}

// domainVolume is a disk of a domain that undefine is to remove with it.
type domainVolume struct {
	target, source string
	vol            libvirt.StorageVol
}

// undefineVolumes collects, before undefine, the storage volumes
// --remove-all-storage (or --storage TARGET,SOURCE,…) removes, as virsh's
// cmdUndefine does: each disk's source looked up by pool and name for a
// volume disk, else by path; a source no pool knows is reported and left.
func (v *vsh) undefineVolumes(c *cmdArgs, d libvirt.Domain) ([]domainVolume, error) {
	only, listed := c.str("storage")
	if !c.has("remove-all-storage") && !listed {
		return nil, nil
	}
	x, err := v.l.DomainGetXMLDesc(d, 0)
	if err != nil {
		v.libvirtError(err)
		return nil, errFailed
	}
	var doc struct {
		Disks []struct {
			Source struct {
				File   string `xml:"file,attr"`
				Dir    string `xml:"dir,attr"`
				Name   string `xml:"name,attr"`
				Dev    string `xml:"dev,attr"`
				Volume string `xml:"volume,attr"`
				Pool   string `xml:"pool,attr"`
			} `xml:"source"`
			Target struct {
				Dev string `xml:"dev,attr"`
			} `xml:"target"`
		} `xml:"devices>disk"`
	}
	if err := xml.Unmarshal([]byte(x), &doc); err != nil {
		v.errorf("Failed to parse domain XML: %v", err)
		return nil, errFailed
	}
	var out []domainVolume
	for _, disk := range doc.Disks {
		s := disk.Source
		source := cmp.Or(s.File, s.Dir, s.Name, s.Dev, s.Volume)
		if source == "" {
			continue
		}
		if listed && !slices.Contains(strings.Split(only, ","), disk.Target.Dev) && !slices.Contains(strings.Split(only, ","), source) {
			continue
		}
		var vol libvirt.StorageVol
		if s.Pool != "" {
			p, perr := v.l.StoragePoolLookupByName(s.Pool)
			if perr == nil {
				vol, err = v.l.StorageVolLookupByName(p, source)
			} else {
				err = perr
			}
		} else {
			vol, err = v.l.StorageVolLookupByPath(source)
		}
		if err != nil {
			v.errorf("Storage volume '%s'(%s) is not managed by libvirt. Remove it manually.\n", disk.Target.Dev, source)
			continue
		}
		out = append(out, domainVolume{target: disk.Target.Dev, source: source, vol: vol})
	}
	return out, nil
}

// removeVolumes deletes the volumes undefineVolumes collected, once the
// domain is undefined.
func (v *vsh) removeVolumes(vols []domainVolume) error {
	var failed error
	for _, dv := range vols {
		if err := v.l.StorageVolDelete(dv.vol, 0); err != nil {
			v.errorf("Failed to remove storage volume '%s'(%s)", dv.target, dv.source)
			v.libvirtError(err)
			failed = errFailed
			continue
		}
		v.extra("Volume '%s'(%s) removed.\n", dv.target, dv.source)
	}
	return failed
}
