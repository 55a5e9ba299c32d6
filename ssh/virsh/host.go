// Host and connection: version, hostname, nodeinfo, uri.

package virsh

import (
	"encoding/xml"
	"fmt"
	"strconv"

	"github.com/digitalocean/go-libvirt"
)

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
	v.printf("%-20s %s\n", "CPU model:", charsToString(model[:]))
	v.printf("%-20s %d\n", "CPU(s):", cpus)
	v.printf("%-20s %d MHz\n", "CPU frequency:", mhz)
	v.printf("%-20s %d\n", "CPU socket(s):", sockets)
	v.printf("%-20s %d\n", "Core(s) per socket:", cores)
	v.printf("%-20s %d\n", "Thread(s) per core:", threads)
	v.printf("%-20s %d\n", "NUMA cell(s):", nodes)
	v.printf("%-20s %d KiB\n", "Memory size:", mem)
	return nil
}

// intOpt reads an optional integer option as vshCommandOptInt does.
func (v *vsh) intOpt(c *cmdArgs, name string, def int32) (int32, bool) {
	s, ok := c.str(name)
	if !ok {
		return def, true
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		v.errorf("Numeric value '%s' for <%s> option is malformed or out of range", s, name)
		return 0, false
	}
	return int32(n), true
}

func cmdCapabilities(v *vsh, c *cmdArgs) error {
	caps, err := v.l.ConnectGetCapabilities()
	if err != nil {
		return v.failed(err, "failed to get capabilities")
	}
	v.printf("%s\n", caps)
	return nil
}

func cmdDomcapabilities(v *vsh, c *cmdArgs) error {
	opt := func(name string) libvirt.OptString {
		if s, ok := c.str(name); ok {
			return libvirt.OptString{s}
		}
		return nil
	}
	caps, err := v.l.ConnectGetDomainCapabilities(opt("emulatorbin"), opt("arch"), opt("machine"), opt("virttype"), 0)
	if err != nil {
		return v.failed(err, "failed to get emulator capabilities")
	}
	v.printf("%s\n", caps)
	return nil
}

func cmdSysinfo(v *vsh, c *cmdArgs) error {
	s, err := v.l.ConnectGetSysinfo(0)
	if err != nil {
		return v.failed(err, "failed to get sysinfo")
	}
	v.printf("%s", s)
	return nil
}

// cmdFreecell is virsh-host.c's cmdFreecell: the host's free memory, one
// cell's, or (--all) every cell of the capabilities' topology.
func cmdFreecell(v *vsh, c *cmdArgs) error {
	_, hasCell := c.str("cellno")
	if hasCell && c.has("all") {
		v.errorf("Options --all and --cellno are mutually exclusive")
		return errFailed
	}
	cell, ok := v.intOpt(c, "cellno", 0)
	if !ok {
		return errFailed
	}
	switch {
	case c.has("all"):
		return v.freecellAll()
	case hasCell:
		mem, err := v.l.NodeGetCellsFreeMemory(cell, 1)
		if err != nil || len(mem) != 1 {
			v.libvirtError(err)
			return errFailed
		}
		v.printf("%d: %d KiB\n", cell, mem[0]/1024)
	default:
		mem, err := v.l.NodeGetFreeMemory()
		if err != nil || mem == 0 {
			v.libvirtError(err)
			return errFailed
		}
		v.printf("%s: %d KiB\n", "Total", mem/1024)
	}
	return nil
}

func (v *vsh) freecellAll() error {
	capsXML, err := v.l.ConnectGetCapabilities()
	if err != nil {
		return v.failed(err, "unable to get node capabilities")
	}
	var caps struct {
		Cells []struct {
			ID string `xml:"id,attr"`
		} `xml:"host>topology>cells>cell"`
	}
	if err := xml.Unmarshal([]byte(capsXML), &caps); err != nil {
		v.errorf("could not get information about NUMA topology")
		return errFailed
	}
	var total uint64
	var rows []string
	for _, cl := range caps.Cells {
		id, err := strconv.ParseUint(cl.ID, 10, 31)
		if err != nil {
			v.errorf("conversion from string failed")
			return errFailed
		}
		mem, err := v.l.NodeGetCellsFreeMemory(int32(id), 1)
		if err != nil || len(mem) != 1 {
			return v.failed(err, "failed to get free memory for NUMA node number: %d", id)
		}
		rows = append(rows, fmt.Sprintf("%5d: %10d KiB\n", id, mem[0]/1024))
		total += mem[0]
	}
	for _, r := range rows {
		v.printf("%s", r)
	}
	v.extra("--------------------\n")
	v.extra("%5s: %10d KiB\n", "Total", total/1024)
	return nil
}

// allCells is VIR_NODE_MEMORY_STATS_ALL_CELLS.
const allCells = -1

func cmdNodememstats(v *vsh, c *cmdArgs) error {
	cell, ok := v.intOpt(c, "cell", allCells)
	if !ok {
		return errFailed
	}
	_, n, err := v.l.NodeGetMemoryStats(0, cell, 0)
	if err != nil {
		return v.failed(err, "Unable to get number of memory stats")
	}
	if n == 0 {
		return nil
	}
	params, _, err := v.l.NodeGetMemoryStats(n, cell, 0)
	if err != nil {
		return v.failed(err, "Unable to get memory stats")
	}
	for _, p := range params {
		v.printf("%-7s: %20d KiB\n", p.Field, p.Value)
	}
	return nil
}
