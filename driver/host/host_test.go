package host_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"quintupleo/driver/host"
)

type capacity struct {
	mem, active uint64
	cpus        int32
	err         error
}

func (c capacity) Capacity(context.Context) (uint64, uint64, int32, error) {
	return c.mem, c.active, c.cpus, c.err
}

func TestNodeInfoSumsTheCloud(t *testing.T) {
	info, err := host.New(host.Config{Hostname: "h", Capacity: capacity{mem: 3 << 20, cpus: 6}}).NodeInfo(t.Context())
	if err != nil || info.Memory != 3<<20 || info.CPUs != 6 || info.Cores != 6 || info.Model != "x86_64" {
		t.Errorf("NodeInfo = %+v, %v", info, err)
	}
	// An empty cloud still looks like a host: libvirt never shows 0 CPUs.
	info, err = host.New(host.Config{Capacity: capacity{}}).NodeInfo(t.Context())
	if err != nil || info.CPUs != 1 || info.Memory != 1<<20 {
		t.Errorf("empty NodeInfo = %+v, %v", info, err)
	}
	boom := errors.New("cloud down")
	if _, err := host.New(host.Config{Capacity: capacity{err: boom}}).NodeInfo(t.Context()); !errors.Is(err, boom) {
		t.Errorf("NodeInfo error = %v, want the capacity's", err)
	}
}

// TestOneHostModel: node info, free memory, cells, memory stats,
// capabilities and sysinfo all come from the same sums and agree; a cloud
// that cannot be read gives its error everywhere, never a 0.
func TestOneHostModel(t *testing.T) {
	ctx := t.Context()
	h := host.New(host.Config{Hostname: "h", Capacity: capacity{mem: 10 << 20, active: 4 << 20, cpus: 10}})
	info, err := h.NodeInfo(ctx)
	if err != nil || info.Memory != 10<<20 || info.CPUs != 10 || info.Cores*info.Sockets*info.Threads != info.CPUs || info.Nodes != 1 {
		t.Fatalf("NodeInfo = %+v, %v", info, err)
	}
	free, err := h.FreeMemory(ctx)
	if err != nil || free != 6<<30 {
		t.Errorf("FreeMemory = %d, %v; want the inactive domains' 6 GiB", free, err)
	}
	cells, err := h.CellsFreeMemory(ctx, 0, 8)
	if err != nil || len(cells) != 1 || cells[0] != free {
		t.Errorf("CellsFreeMemory(0, 8) = %v, %v; want one cell of %d", cells, err, free)
	}
	if _, err := h.CellsFreeMemory(ctx, 1, 1); err == nil || !strings.Contains(err.Error(), "start cell 1 out of range (0-0)") {
		t.Errorf("CellsFreeMemory(1, 1): %v", err)
	}
	stats, err := h.MemoryStats(ctx, -1, 0)
	if err != nil || len(stats) != host.MemoryStatsCount || stats[0] != (host.MemoryStat{Field: "total", Value: info.Memory}) ||
		stats[1] != (host.MemoryStat{Field: "free", Value: free / 1024}) {
		t.Errorf("MemoryStats = %+v, %v", stats, err)
	}
	caps, err := h.Capabilities(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sys, _ := h.Sysinfo(ctx, 0)
	uuid := regexp.MustCompile(`<uuid>([0-9a-f-]{36})</uuid>`).FindStringSubmatch(caps)
	for _, want := range []string{"<topology sockets='1' dies='1' cores='10' threads='1'/>", "<cpus num='10'>",
		"<cpu id='9' socket_id='0' die_id='0' core_id='9' siblings='9'/>", "<memory unit='KiB'>10485760</memory>",
		"<model>none</model>", "<machine maxCpus='255'>pc-i440fx-7.2</machine>"} {
		if !strings.Contains(caps, want) {
			t.Errorf("capabilities lack %s:\n%s", want, caps)
		}
	}
	if uuid == nil || !strings.Contains(sys, "<entry name='uuid'>"+uuid[1]+"</entry>") {
		t.Errorf("host uuid %v not the sysinfo's:\n%s", uuid, sys)
	}
	boom := errors.New("cloud down")
	down := host.New(host.Config{Capacity: capacity{err: boom}})
	if _, err := down.FreeMemory(ctx); !errors.Is(err, boom) {
		t.Errorf("FreeMemory of an unreadable cloud: %v", err)
	}
	if _, err := down.Capabilities(ctx); !errors.Is(err, boom) {
		t.Errorf("Capabilities of an unreadable cloud: %v", err)
	}
}
