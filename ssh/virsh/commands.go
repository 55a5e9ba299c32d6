// commands.go holds the command table and what every command group uses:
// domain lookup as virsh resolves it, UUIDs and virsh's failure lines. The
// commands themselves are grouped by file as virsh's own sources group them:
// domain_lifecycle.go, domain_xml.go, domain_monitor.go (information and
// lists), host.go (host and connection), network.go (networks) and
// storage.go (pools and volumes, its own table storageCommands).

package virsh

import (
	"fmt"
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
	"destroy":   {name: "destroy", opts: []optDef{domainOpt, {name: "graceful"}, {name: "remove-logs"}}, run: destroyAction.run},
	"shutdown":  {name: "shutdown", opts: []optDef{domainOpt, {name: "mode", kind: optString}}, run: shutdownAction.run},
	"reboot":    {name: "reboot", opts: []optDef{domainOpt, {name: "mode", kind: optString}}, run: rebootAction.run},
	"reset":     {name: "reset", opts: []optDef{domainOpt}, run: resetAction.run},
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
	// Guest calls beyond power, host memory and capabilities.
	"suspend":    {name: "suspend", opts: []optDef{domainOpt}, run: suspendAction.run},
	"resume":     {name: "resume", opts: []optDef{domainOpt}, run: resumeAction.run},
	"inject-nmi": {name: "inject-nmi", opts: []optDef{domainOpt}, run: cmdInjectNMI},
	"domifaddr": {name: "domifaddr", opts: []optDef{domainOpt, {name: "interface", kind: optString1}, {name: "full"},
		{name: "source", kind: optString}}, run: cmdDomifaddr},
	"desc": {name: "desc", opts: []optDef{domainOpt, {name: "live"}, {name: "config"}, {name: "current"}, {name: "title"},
		{name: "new-desc", kind: optString1}}, exclusive: [][2]string{{"current", "live"}, {"current", "config"}}, run: cmdDesc},
	"metadata": {name: "metadata", opts: []optDef{domainOpt, {name: "uri", kind: optData, required: true}, {name: "live"},
		{name: "config"}, {name: "current"}, {name: "key", kind: optString}, {name: "set", kind: optString}, {name: "remove"}},
		exclusive: [][2]string{{"current", "live"}, {"current", "config"}, {"remove", "set"}}, run: cmdMetadata},
	"capabilities": {name: "capabilities", run: cmdCapabilities},
	"domcapabilities": {name: "domcapabilities", opts: []optDef{{name: "virttype", kind: optString},
		{name: "emulatorbin", kind: optString}, {name: "arch", kind: optString}, {name: "machine", kind: optString}}, run: cmdDomcapabilities},
	"sysinfo":      {name: "sysinfo", run: cmdSysinfo},
	"freecell":     {name: "freecell", opts: []optDef{{name: "cellno", kind: optString1}, {name: "all"}}, run: cmdFreecell},
	"nodememstats": {name: "nodememstats", opts: []optDef{{name: "cell", kind: optString1}}, run: cmdNodememstats},
	"undefine": {name: "undefine", opts: []optDef{domainOpt, {name: "managed-save"}, {name: "storage", kind: optString},
		{name: "remove-all-storage"}, {name: "delete-storage-volume-snapshots"}, {name: "wipe-storage"},
		{name: "snapshots-metadata"}, {name: "checkpoints-metadata"}, {name: "nvram"}, {name: "keep-nvram"},
		{name: "tpm"}, {name: "keep-tpm"}}, run: cmdUndefine},
	// Networks (network.go).
	"net-list":      cmdNetListDef,
	"net-info":      cmdNetInfoDef,
	"net-dumpxml":   cmdNetDumpxmlDef,
	"net-uuid":      cmdNetUuidDef,
	"net-name":      cmdNetNameDef,
	"net-define":    cmdNetDefineDef,
	"net-create":    cmdNetCreateDef,
	"net-start":     cmdNetStartDef,
	"net-destroy":   cmdNetDestroyDef,
	"net-undefine":  cmdNetUndefineDef,
	"net-autostart": cmdNetAutostartDef,
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

// charsToString decodes a libvirt char<N> array (a C string padded with
// NULs, as NODE_GET_INFO and the security calls return it) into a string.
func charsToString(b []int8) string {
	var sb strings.Builder
	for _, c := range b {
		if c == 0 {
			break
		}
		sb.WriteByte(byte(c))
	}
	return sb.String()
}
