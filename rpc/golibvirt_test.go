package rpc_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/digitalocean/go-libvirt"

	"quintupleo/rpc"
	"quintupleo/virt"
)

func TestGoLibvirtConnectionFacts(t *testing.T) {
	srv := newServer(t, drivers(newFakeDomains()))
	l := goLibvirt(t, srv, false)

	if typ, err := l.ConnectGetType(); err != nil || typ != "QEMU" {
		t.Errorf("ConnectGetType = %q, %v", typ, err)
	}
	if v, err := l.ConnectGetVersion(); err != nil || v != 7002000 {
		t.Errorf("ConnectGetVersion = %d, %v", v, err)
	}
	if v, err := l.ConnectGetLibVersion(); err != nil || v != 9000000 {
		t.Errorf("ConnectGetLibVersion = %d, %v", v, err)
	}
	if h, err := l.ConnectGetHostname(); err != nil || h != "cloudhost" {
		t.Errorf("ConnectGetHostname = %q, %v", h, err)
	}
	if u, err := l.ConnectGetUri(); err != nil || u != "qemu:///system" {
		t.Errorf("ConnectGetUri = %q, %v", u, err)
	}
	model, mem, cpus, mhz, nodes, sockets, cores, threads, err := l.NodeGetInfo()
	if err != nil || mem != 16777216 || cpus != 8 || mhz != 2400 || nodes != 1 || sockets != 1 || cores != 8 || threads != 1 {
		t.Errorf("NodeGetInfo = %v %d %d %d %d %d %d %d, %v", model, mem, cpus, mhz, nodes, sockets, cores, threads, err)
	}
	if got := int8sToString(model[:]); got != "x86_64" {
		t.Errorf("NodeGetInfo model = %q", got)
	}
	if caps, err := l.ConnectGetCapabilities(); err != nil || caps == "" {
		t.Errorf("ConnectGetCapabilities = %q, %v", caps, err)
	}
}

func int8sToString(b []int8) string {
	var s []byte
	for _, c := range b {
		if c == 0 {
			break
		}
		s = append(s, byte(c))
	}
	return string(s)
}

func TestGoLibvirtListAndLookup(t *testing.T) {
	b := newFakeDomains()
	l := goLibvirt(t, newServer(t, drivers(b)), false)

	tests := []struct {
		flags libvirt.ConnectListAllDomainsFlags
		want  []string
	}{
		{libvirt.ConnectListDomainsActive | libvirt.ConnectListDomainsInactive, []string{"node-0", "node-1", "node-2"}},
		{0, []string{"node-0", "node-1", "node-2"}},
		{libvirt.ConnectListDomainsActive, []string{"node-0"}},
		{libvirt.ConnectListDomainsInactive, []string{"node-1", "node-2"}},
		{libvirt.ConnectListDomainsShutoff, []string{"node-1", "node-2"}},
		{libvirt.ConnectListDomainsTransient, nil},
		{libvirt.ConnectListDomainsAutostart, nil},
	}
	for _, tt := range tests {
		doms, n, err := l.ConnectListAllDomains(1, tt.flags)
		if err != nil {
			t.Fatalf("flags %#x: %v", tt.flags, err)
		}
		var names []string
		for _, d := range doms {
			names = append(names, d.Name)
		}
		if int(n) != len(tt.want) || !slices.Equal(names, tt.want) {
			t.Errorf("flags %#x: got %v (ret %d), want %v", tt.flags, names, n, tt.want)
		}
	}
	// need_results=0 only counts.
	if doms, n, err := l.ConnectListAllDomains(0, 0); err != nil || len(doms) != 0 || n != 3 {
		t.Errorf("need_results=0: %v %d %v", doms, n, err)
	}

	d, err := l.DomainLookupByName("node-0")
	if err != nil || d.ID != 1 || virt.UUID(d.UUID) != mustUUID("11111111-2222-3333-4444-555555555555") {
		t.Fatalf("DomainLookupByName = %+v, %v", d, err)
	}
	if d2, err := l.DomainLookupByUUID(d.UUID); err != nil || d2 != d {
		t.Errorf("DomainLookupByUUID = %+v, %v", d2, err)
	}
	if d2, err := l.DomainLookupByID(1); err != nil || d2 != d {
		t.Errorf("DomainLookupByID = %+v, %v", d2, err)
	}
	state, reason, err := l.DomainGetState(d, 0)
	if err != nil || state != int32(libvirt.DomainRunning) || reason != 1 {
		t.Errorf("DomainGetState = %d %d %v", state, reason, err)
	}
	st, maxMem, mem, nrCPU, _, err := l.DomainGetInfo(d)
	if err != nil || st != uint8(libvirt.DomainRunning) || maxMem != 2097152 || mem != 2097152 || nrCPU != 2 {
		t.Errorf("DomainGetInfo = %d %d %d %d %v", st, maxMem, mem, nrCPU, err)
	}
	if os, err := l.DomainGetOsType(d); err != nil || os != "hvm" {
		t.Errorf("DomainGetOsType = %q %v", os, err)
	}
	if a, err := l.DomainIsActive(d); err != nil || a != 1 {
		t.Errorf("DomainIsActive = %d %v", a, err)
	}
	if p, err := l.DomainIsPersistent(d); err != nil || p != 1 {
		t.Errorf("DomainIsPersistent = %d %v", p, err)
	}
	if x, err := l.DomainGetXMLDesc(d, 0); err != nil || !strings.Contains(x, "<name>node-0</name>") {
		t.Errorf("DomainGetXMLDesc = %q %v", x, err)
	}
	if n, err := l.ConnectNumOfDomains(); err != nil || n != 1 {
		t.Errorf("ConnectNumOfDomains = %d %v", n, err)
	}
	if ids, err := l.ConnectListDomains(10); err != nil || len(ids) != 1 || ids[0] != 1 {
		t.Errorf("ConnectListDomains = %v %v", ids, err)
	}
	if n, err := l.ConnectNumOfDefinedDomains(); err != nil || n != 2 {
		t.Errorf("ConnectNumOfDefinedDomains = %d %v", n, err)
	}
	if names, err := l.ConnectListDefinedDomains(1); err != nil || len(names) != 1 || names[0] != "node-1" {
		t.Errorf("ConnectListDefinedDomains(1) = %v %v", names, err)
	}
}

func TestGoLibvirtErrors(t *testing.T) {
	l := goLibvirt(t, newServer(t, drivers(newFakeDomains())), false)

	_, err := l.DomainLookupByName("nosuch")
	if !libvirt.IsNotFound(err) {
		t.Errorf("lookup nosuch: %v, want not found", err)
	}
	assertLibvirtError(t, err, libvirt.ErrNoDomain, "Domain not found: no domain with matching name 'nosuch'")

	d, err := l.DomainLookupByName("node-0")
	if err != nil {
		t.Fatal(err)
	}
	err = l.DomainCreate(d)
	assertLibvirtError(t, err, libvirt.ErrOperationInvalid, "Requested operation is not valid: domain is already running")

	// The server keeps serving after errors.
	if _, err := l.DomainLookupByName("node-1"); err != nil {
		t.Errorf("after errors: %v", err)
	}
}

func assertLibvirtError(t *testing.T, err error, code libvirt.ErrorNumber, msg string) {
	t.Helper()
	le, ok := err.(libvirt.Error)
	if !ok {
		t.Fatalf("error %v (%T), want a libvirt.Error", err, err)
	}
	if le.Code != uint32(code) || le.Message != msg {
		t.Errorf("error = {%d %q}, want {%d %q}", le.Code, le.Message, code, msg)
	}
}

func TestGoLibvirtPowerCycle(t *testing.T) {
	b := newFakeDomains()
	l := goLibvirt(t, newServer(t, drivers(b)), false)

	d, err := l.DomainLookupByName("node-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.DomainCreate(d); err != nil {
		t.Fatalf("DomainCreate: %v", err)
	}
	d, err = l.DomainLookupByUUID(d.UUID)
	if err != nil || d.ID <= 0 {
		t.Fatalf("after start: %+v %v", d, err)
	}
	if err := l.DomainReboot(d, 0); err != nil {
		t.Errorf("DomainReboot: %v", err)
	}
	if err := l.DomainReset(d, 0); err != nil {
		t.Errorf("DomainReset: %v", err)
	}
	if err := l.DomainShutdown(d); err != nil {
		t.Errorf("DomainShutdown: %v", err)
	}
	nd, err := l.DomainCreateWithFlags(d, 0)
	if err != nil || nd.ID <= 0 || nd.Name != "node-1" {
		t.Errorf("DomainCreateWithFlags = %+v %v", nd, err)
	}
	if err := l.DomainDestroyFlags(nd, 0); err != nil {
		t.Errorf("DomainDestroyFlags: %v", err)
	}
	if err := l.DomainSetAutostart(nd, 1); err != nil {
		t.Errorf("DomainSetAutostart: %v", err)
	}
	if a, err := l.DomainGetAutostart(nd); err != nil || a != 1 {
		t.Errorf("DomainGetAutostart = %d %v", a, err)
	}
	// Undefine would delete a cloud server: refused, and the domain stays.
	assertLibvirtError(t, l.DomainUndefineFlags(nd, 0), libvirt.ErrNoSupport,
		"this function is not supported by the connection driver: undefining a domain (deleting its cloud server) is not supported")
	if _, err := l.DomainLookupByName("node-1"); err != nil {
		t.Errorf("after a refused undefine: %v", err)
	}
}

func TestGoLibvirtReadOnly(t *testing.T) {
	b := newFakeDomains()
	l := goLibvirt(t, newServer(t, drivers(b)), true)

	d, err := l.DomainLookupByName("node-1")
	if err != nil {
		t.Fatal(err)
	}
	assertLibvirtError(t, l.DomainCreate(d), libvirt.ErrOperationDenied, "operation forbidden: read only access prevents virDomainCreate")
	assertLibvirtError(t, l.DomainDestroy(d), libvirt.ErrOperationDenied, "operation forbidden: read only access prevents virDomainDestroy")
	assertLibvirtError(t, l.DomainSetAutostart(d, 1), libvirt.ErrOperationDenied, "operation forbidden: read only access prevents virDomainSetAutostart")
	_, err = l.DomainDefineXML("<domain/>")
	assertLibvirtError(t, err, libvirt.ErrOperationDenied, "operation forbidden: read only access prevents virDomainDefineXML")
	_, err = l.DomainGetXMLDesc(d, libvirt.DomainXMLSecure)
	assertLibvirtError(t, err, libvirt.ErrOperationDenied, "operation forbidden: read only access prevents virDomainGetXMLDesc with secure flag")
	// Reads still work and nothing changed.
	if st, _, err := l.DomainGetState(d, 0); err != nil || st != int32(libvirt.DomainShutoff) {
		t.Errorf("DomainGetState = %d %v", st, err)
	}
}

// A family without a driver is a missing sub-driver: its table rows answer
// as libvirtd does, naming the public API.
func TestGoLibvirtMissingFamily(t *testing.T) {
	l := goLibvirt(t, newServer(t, rpc.Drivers{Domains: newFakeDomains()}), false)
	_, err := l.ConnectGetHostname()
	assertLibvirtError(t, err, libvirt.ErrNoSupport, "this function is not supported by the connection driver: virConnectGetHostname")
	if _, err := l.DomainLookupByName("node-0"); err != nil {
		t.Errorf("the domain family still answers: %v", err)
	}
}
