package host_test

import (
	"context"
	"errors"
	"testing"

	"quintupleo/driver/host"
)

type capacity struct {
	mem  uint64
	cpus int32
	err  error
}

func (c capacity) Capacity(context.Context) (uint64, int32, error) { return c.mem, c.cpus, c.err }

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
