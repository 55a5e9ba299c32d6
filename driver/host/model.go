package host

import (
	"context"
	"crypto/sha1"
	"fmt"
	"strings"

	"quintupleo/virt"
)

// from is the error domain of the driver's own errors: we present
// ourselves as the qemu driver.
const from = virt.FromQEMU

// The host model: the cloud's nodes summed up as one host with one NUMA
// cell, from which every host call is derived so that they agree with each
// other and with the domains.
//
//   - memory and CPUs (nodeinfo, capabilities' topology, nodememstats'
//     total) are the sum of every domain's flavor: what the project's nodes
//     hold. An empty cloud still reports 1 CPU and 1 GiB (libvirt never
//     shows a host without CPUs); its free memory is 0.
//   - free memory (virNodeGetFreeMemory, freecell, nodememstats' free) is
//     the memory of the domains whose guest does not run: a domain's memory
//     is in use exactly while it is active, as on a libvirt host. It is
//     never made up: when the cloud cannot be read, every call fails with
//     the cloud's error instead (libvirt-python's getFreeMemory() would
//     turn any error into 0, so there is no 0 for "unknown").
//   - the host UUID (capabilities' <uuid>, sysinfo's system uuid) is a
//     name-based UUID of the hostname, so replicas serving the same name
//     agree.

// Minimums of a host, for an empty cloud.
const (
	minCPUs      = 1
	minMemoryKiB = 1024 * 1024
)

// model is the host as every call reports it.
type model struct {
	memoryKiB, freeKiB uint64
	cpus               int32
}

// model reads the cloud's totals once.
func (h *Driver) model(ctx context.Context) (model, error) {
	var mem, active uint64
	var cpus int32
	if h.capacity != nil {
		var err error
		if mem, active, cpus, err = h.capacity.Capacity(ctx); err != nil {
			return model{}, err
		}
	}
	m := model{memoryKiB: max(mem, minMemoryKiB), cpus: max(cpus, minCPUs)}
	if mem > active {
		m.freeKiB = mem - active
	}
	return m, nil
}

// uuid is the host UUID: SHA-1 name-based (RFC 4122 version 5) under a
// namespace of our own.
func (h *Driver) uuid() string {
	sum := sha1.Sum([]byte("quintupleo host " + h.hostname))
	sum[6] = sum[6]&0x0f | 0x50
	sum[8] = sum[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
}

// FreeMemory answers virNodeGetFreeMemory, in bytes.
func (h *Driver) FreeMemory(ctx context.Context) (uint64, error) {
	m, err := h.model(ctx)
	if err != nil {
		return 0, err
	}
	return m.freeKiB * 1024, nil
}

// CellsFreeMemory answers virNodeGetCellsFreeMemory, in bytes: the host has
// one cell (0). As qemu's driver (virHostMemGetCellsFree), a count past
// the last cell is cut short; a start past it is refused.
func (h *Driver) CellsFreeMemory(ctx context.Context, start, maxCells int32) ([]uint64, error) {
	if start < 0 || maxCells <= 0 {
		return nil, virt.InvalidArg(virt.FromNone, "start cell and cell count must be positive")
	}
	if start > 0 {
		return nil, virt.Internal(virt.FromNone, fmt.Sprintf("start cell %d out of range (0-0)", start), nil)
	}
	m, err := h.model(ctx)
	if err != nil {
		return nil, err
	}
	return []uint64{m.freeKiB * 1024}, nil
}

// MemoryStat is one field of virNodeGetMemoryStats.
type MemoryStat struct {
	Field string
	Value uint64 // KiB
}

// allCells is VIR_NODE_MEMORY_STATS_ALL_CELLS.
const allCells = -1

// MemoryStatsCount is how many fields MemoryStats returns.
const MemoryStatsCount = 2

// MemoryStats answers virNodeGetMemoryStats: total and free, the fields
// libvirt gives for one NUMA cell (for all cells its Linux code adds
// buffers and cached from /proc/meminfo, which a cloud has no notion of:
// they are left out rather than made up). Errors are virHostMemGetStats'.
func (h *Driver) MemoryStats(ctx context.Context, cell int32, flags uint32) ([]MemoryStat, error) {
	if flags != 0 {
		return nil, virt.InvalidArg(virt.FromNone, fmt.Sprintf("unsupported flags (0x%x) in function virHostMemGetStats", flags))
	}
	if cell != allCells && (cell < 0 || cell > 0) {
		return nil, virt.InvalidArg(virt.FromNone, "cellNum in virHostMemGetStats must be less than or equal to 0")
	}
	m, err := h.model(ctx)
	if err != nil {
		return nil, err
	}
	return []MemoryStat{{"total", m.memoryKiB}, {"free", m.freeKiB}}, nil
}

// Sysinfo answers virConnectGetSysinfo: the SMBIOS facts the model has
// (who the host is and its UUID); libvirt writes only the entries it knows.
func (h *Driver) Sysinfo(_ context.Context, flags uint32) (string, error) {
	if flags != 0 {
		return "", virt.InvalidArg(from, fmt.Sprintf("unsupported flags (0x%x) in function qemuConnectGetSysinfo", flags))
	}
	var b strings.Builder
	b.WriteString("<sysinfo type='smbios'>\n  <system>\n")
	for _, e := range [][2]string{
		{"manufacturer", "quintupleo"},
		{"product", "OpenStack cloud as a libvirt host"},
		{"uuid", h.uuid()},
		{"family", "Virtual Machine"},
	} {
		fmt.Fprintf(&b, "    <entry name='%s'>%s</entry>\n", e[0], e[1])
	}
	b.WriteString("  </system>\n</sysinfo>\n")
	return b.String(), nil
}

// Capabilities answers virConnectGetCapabilities: the host part from the
// model (topology as nodeinfo: one socket of N cores in one cell holding all
// memory), the guest part as QEMU 7.2 offers it, with the machine type the
// domains show.
func (h *Driver) Capabilities(ctx context.Context) (string, error) {
	m, err := h.model(ctx)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("<capabilities>\n\n  <host>\n")
	fmt.Fprintf(&b, "    <uuid>%s</uuid>\n", h.uuid())
	b.WriteString("    <cpu>\n      <arch>x86_64</arch>\n")
	fmt.Fprintf(&b, "      <topology sockets='1' dies='1' cores='%d' threads='1'/>\n", m.cpus)
	b.WriteString("    </cpu>\n    <power_management/>\n    <iommu support='no'/>\n")
	b.WriteString("    <migration_features>\n      <live/>\n    </migration_features>\n")
	b.WriteString("    <topology>\n      <cells num='1'>\n        <cell id='0'>\n")
	fmt.Fprintf(&b, "          <memory unit='KiB'>%d</memory>\n", m.memoryKiB)
	fmt.Fprintf(&b, "          <pages unit='KiB' size='4'>%d</pages>\n", m.memoryKiB/4)
	b.WriteString("          <distances>\n            <sibling id='0' value='10'/>\n          </distances>\n")
	fmt.Fprintf(&b, "          <cpus num='%d'>\n", m.cpus)
	for i := range m.cpus {
		fmt.Fprintf(&b, "            <cpu id='%d' socket_id='0' die_id='0' core_id='%d' siblings='%d'/>\n", i, i, i)
	}
	b.WriteString("          </cpus>\n        </cell>\n      </cells>\n    </topology>\n")
	b.WriteString("    <secmodel>\n      <model>none</model>\n      <doi>0</doi>\n    </secmodel>\n")
	b.WriteString("  </host>\n\n")
	b.WriteString(guestCapabilities)
	b.WriteString("\n</capabilities>\n")
	return b.String(), nil
}

// guestCapabilities is QEMU 7.2's x86_64 guest as libvirt 9.0 lists it,
// reduced to the machine type the domains have (pc-i440fx-7.2, and "pc",
// its alias).
const guestCapabilities = `  <guest>
    <os_type>hvm</os_type>
    <arch name='x86_64'>
      <wordsize>64</wordsize>
      <emulator>/usr/bin/qemu-system-x86_64</emulator>
      <machine maxCpus='255'>pc-i440fx-7.2</machine>
      <machine canonical='pc-i440fx-7.2' maxCpus='255'>pc</machine>
      <domain type='qemu'/>
      <domain type='kvm'/>
    </arch>
    <features>
      <acpi default='on' toggle='yes'/>
      <apic default='on' toggle='no'/>
      <cpuselection/>
      <deviceboot/>
      <disksnapshot default='on' toggle='no'/>
    </features>
  </guest>
`
