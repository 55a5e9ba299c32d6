package main

import (
	"context"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"
)

// golibvirt connects go-libvirt's client to the env over TCP, as a program
// written for a libvirt host would.
func (e *env) golibvirt(t *testing.T) *libvirt.Libvirt {
	t.Helper()
	l, err := dialGoLibvirt(e.st.tcp.Addr().String())
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { l.Disconnect() })
	return l
}

// dialGoLibvirt connects go-libvirt's client to the libvirt TCP listener at
// addr and opens qemu:///system.
func dialGoLibvirt(addr string) (*libvirt.Libvirt, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	l := libvirt.NewWithDialer(dialers.NewRemote(host, dialers.UsePort(port)))
	if err := l.ConnectToURI(libvirt.QEMUSystem); err != nil {
		return nil, err
	}
	return l, nil
}

func TestGoLibvirtClient(t *testing.T) {
	e := startEnv(t)
	l := e.golibvirt(t)

	doms, n, err := l.ConnectListAllDomains(1, libvirt.ConnectListDomainsActive|libvirt.ConnectListDomainsInactive)
	if err != nil || n != 5 || len(doms) != 5 {
		t.Fatalf("ConnectListAllDomains = %d domains, %v", n, err)
	}
	var got []string
	for _, d := range doms {
		got = append(got, d.Name)
		if d.ID != -1 {
			t.Errorf("shut off domain %s has id %d", d.Name, d.ID)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"node-0", "node-1", "node-2", "node-3", "node-4"}) {
		t.Errorf("domains = %q", got)
	}

	d, err := l.DomainLookupByName("node-2")
	if err != nil {
		t.Fatal(err)
	}
	byUUID, err := l.DomainLookupByUUID(d.UUID)
	if err != nil || byUUID.Name != "node-2" {
		t.Errorf("DomainLookupByUUID = %v, %v", byUUID, err)
	}
	if _, err := l.DomainLookupByName("nosuch"); !libvirt.IsNotFound(err) {
		t.Errorf("lookup of unknown domain: %v, want not found", err)
	}

	events, err := l.LifecycleEvents(t.Context())
	if err != nil {
		t.Fatalf("LifecycleEvents: %v", err)
	}

	if err := l.DomainCreate(d); err != nil {
		t.Fatalf("DomainCreate: %v", err)
	}
	state, reason, err := l.DomainGetState(d, 0)
	if err != nil || libvirt.DomainState(state) != libvirt.DomainRunning || reason != 1 {
		t.Errorf("DomainGetState after create = %d/%d, %v; want running/booted", state, reason, err)
	}
	running, err := l.DomainLookupByName("node-2")
	if err != nil || running.ID <= 0 {
		t.Errorf("running domain id = %d, %v", running.ID, err)
	}
	st, maxMem, mem, vcpus, _, err := l.DomainGetInfo(running)
	if err != nil || libvirt.DomainState(st) != libvirt.DomainRunning || maxMem != 4096*1024 || mem != 4096*1024 || vcpus != 2 {
		t.Errorf("DomainGetInfo = %d %d %d %d, %v", st, maxMem, mem, vcpus, err)
	}
	xml, err := l.DomainGetXMLDesc(running, 0)
	if err != nil || !strings.Contains(xml, "<mac address='52:54:00:00:00:02'/>") {
		t.Errorf("DomainGetXMLDesc: %v\n%s", err, xml)
	}
	waitEvent(t, events, "node-2", libvirt.DomainEventStarted)

	if err := l.DomainCreate(running); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("DomainCreate of running domain: %v", err)
	}
	if err := l.DomainReboot(running, 0); err != nil {
		t.Errorf("DomainReboot: %v", err)
	}
	if err := l.DomainReset(running, 0); err != nil {
		t.Errorf("DomainReset: %v", err)
	}
	if err := l.DomainDestroy(running); err != nil {
		t.Fatalf("DomainDestroy: %v", err)
	}
	waitEvent(t, events, "node-2", libvirt.DomainEventStopped)
	state, _, err = l.DomainGetState(running, 0)
	if err != nil || libvirt.DomainState(state) != libvirt.DomainShutoff {
		t.Errorf("DomainGetState after destroy = %d, %v", state, err)
	}
}

func waitEvent(t *testing.T, events <-chan libvirt.DomainEventLifecycleMsg, name string, want libvirt.DomainEventType) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for {
		select {
		case ev := <-events:
			if ev.Dom.Name == name && libvirt.DomainEventType(ev.Event) == want {
				return
			}
		case <-ctx.Done():
			t.Fatalf("no lifecycle event %d for %s", want, name)
		}
	}
}
