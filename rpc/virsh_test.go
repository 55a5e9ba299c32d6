package rpc_test

import (
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"quintupleo/internal/testtool"
	"quintupleo/rpc"
)

// virsh runs the real virsh against port and returns stdout, stderr and
// the exit status.
func virsh(t *testing.T, ctx context.Context, port string, args ...string) (string, string, int) {
	t.Helper()
	bin := testtool.Require(t, "virsh")
	full := append([]string{"-c", "qemu+tcp://127.0.0.1:" + port + "/system"}, args...)
	if len(args) > 0 && args[0] == "-r" {
		full = append([]string{"-r", "-c", "qemu+tcp://127.0.0.1:" + port + "/system"}, args[1:]...)
	}
	cmd := exec.CommandContext(ctx, bin, full...)
	cmd.Env = append(cmd.Environ(), "LC_ALL=C", "VIRSH_DEFAULT_CONNECT_URI=", "LIBVIRT_DEFAULT_URI=")
	return testtool.Run(t, cmd)
}

func mustVirsh(t *testing.T, port string, args ...string) string {
	t.Helper()
	out, errOut, code := virsh(t, t.Context(), port, args...)
	if code != 0 {
		t.Fatalf("virsh %v: exit %d: %s", args, code, errOut)
	}
	return out
}

// Setup and teardown every virsh command does over TCP (libvirt-rpc.md §3).
var (
	setupCalls    = []uint32{rpc.ProcAuthList, rpc.ProcConnectSupportsFeature, rpc.ProcConnectOpen, rpc.ProcConnectSupportsFeature, rpc.ProcConnectSupportsFeature, rpc.ProcConnectRegisterCloseCallback}
	teardownCalls = []uint32{rpc.ProcConnectUnregisterCloseCallback, rpc.ProcConnectClose}
)

func session(calls ...uint32) []uint32 {
	return slices.Concat(setupCalls, calls, teardownCalls)
}

func TestVirshReadCommands(t *testing.T) {
	testtool.Require(t, "virsh")
	rec := &recorder{}
	port := tcpServer(t, newServer(t, drivers(newFakeDomains())), rec)

	tests := []struct {
		args  []string
		want  string   // exact stdout
		calls []uint32 // procedures between setup and teardown (nil: not checked)
	}{
		{[]string{"list", "--all"}, " Id   Name     State\n-------------------------\n 1    node-0   running\n -    node-1   shut off\n -    node-2   shut off\n\n",
			slices.Concat([]uint32{rpc.ProcConnectListAllDomains}, []uint32{rpc.ProcDomainGetState, rpc.ProcDomainGetState, rpc.ProcDomainGetState})},
		{[]string{"list"}, " Id   Name     State\n------------------------\n 1    node-0   running\n\n",
			[]uint32{rpc.ProcConnectListAllDomains, rpc.ProcDomainGetState}},
		{[]string{"list", "--all", "--name"}, "node-0\nnode-1\nnode-2\n\n", []uint32{rpc.ProcConnectListAllDomains}},
		{[]string{"list", "--name"}, "node-0\n\n", []uint32{rpc.ProcConnectListAllDomains}},
		{[]string{"list", "--inactive"}, " Id   Name     State\n-------------------------\n -    node-1   shut off\n -    node-2   shut off\n\n", nil},
		{[]string{"list", "--uuid"}, "11111111-2222-3333-4444-555555555555\n\n", nil},
		{[]string{"domstate", "node-1"}, "shut off\n\n", []uint32{rpc.ProcDomainLookupByName, rpc.ProcDomainGetState}},
		{[]string{"domstate", "--reason", "node-0"}, "running (booted)\n\n", nil},
		{[]string{"domid", "node-0"}, "1\n\n", []uint32{rpc.ProcDomainLookupByName}},
		{[]string{"domid", "node-1"}, "-\n\n", nil},
		{[]string{"domuuid", "node-1"}, "22222222-2222-3333-4444-555555555555\n\n", []uint32{rpc.ProcDomainLookupByName}},
		{[]string{"domname", "1"}, "node-0\n\n", []uint32{rpc.ProcDomainLookupByID}},
		{[]string{"domname", "33333333-2222-3333-4444-555555555555"}, "node-2\n\n", []uint32{rpc.ProcDomainLookupByUUID}},
		{[]string{"hostname"}, "cloudhost\n\n", []uint32{rpc.ProcConnectGetHostname}},
		{[]string{"uri"}, "qemu+tcp://127.0.0.1:" + port + "/system\n\n", []uint32{}},
		{[]string{"domiflist", "node-0"}, " Interface   Type      Source      Model    MAC\n---------------------------------------------------------------\n -           network   provision   virtio   52:54:00:aa:bb:cc\n\n",
			[]uint32{rpc.ProcDomainLookupByName, rpc.ProcDomainGetXMLDesc}},
		{[]string{"nodeinfo"}, "CPU model:           x86_64\nCPU(s):              8\nCPU frequency:       2400 MHz\nCPU socket(s):       1\nCore(s) per socket:  8\nThread(s) per core:  1\nNUMA cell(s):        1\nMemory size:         16777216 KiB\n\n", nil},
		{[]string{"dominfo", "node-0"}, "Id:             1\nName:           node-0\nUUID:           11111111-2222-3333-4444-555555555555\nOS Type:        hvm\nState:          running\nCPU(s):         2\nCPU time:       1.5s\nMax memory:     2097152 KiB\nUsed memory:    2097152 KiB\nPersistent:     yes\nAutostart:      disable\nManaged save:   no\n\n",
			// As against libvirtd (§4 dominfo), minus DOMAIN_GET_SECURITY_LABEL: our security model is empty.
			[]uint32{rpc.ProcDomainLookupByName, rpc.ProcDomainGetOsType, rpc.ProcDomainGetInfo, rpc.ProcDomainIsPersistent, rpc.ProcDomainGetAutostart, rpc.ProcDomainHasManagedSaveImage, rpc.ProcNodeGetSecurityModel, rpc.ProcDomainGetMessages}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, "_"), func(t *testing.T) {
			rec.calls(t) // reset
			got := mustVirsh(t, port, tt.args...)
			if got != tt.want {
				t.Errorf("stdout:\n%q\nwant:\n%q", got, tt.want)
			}
			calls := rec.calls(t)
			if tt.calls != nil && !slices.Equal(calls, session(tt.calls...)) {
				t.Errorf("procedures %v, want %v", calls, session(tt.calls...))
			}
		})
	}
}

func TestVirshDumpXMLAndVersion(t *testing.T) {
	testtool.Require(t, "virsh")
	port := tcpServer(t, newServer(t, drivers(newFakeDomains())), nil)

	x := mustVirsh(t, port, "dumpxml", "node-0")
	if !strings.HasPrefix(x, "<domain type='kvm' id='1'>\n  <name>node-0</name>\n") {
		t.Errorf("dumpxml:\n%s", x)
	}
	v := mustVirsh(t, port, "version")
	for _, want := range []string{"Using API: QEMU 9.0.0", "Running hypervisor: QEMU 7.2.0"} {
		if !strings.Contains(v, want) {
			t.Errorf("version output lacks %q:\n%s", want, v)
		}
	}
}

func TestVirshPowerActions(t *testing.T) {
	testtool.Require(t, "virsh")
	rec := &recorder{}
	b := newFakeDomains()
	port := tcpServer(t, newServer(t, drivers(b)), rec)

	steps := []struct {
		args  []string
		want  string
		calls []uint32
	}{
		{[]string{"start", "node-1"}, "Domain 'node-1' started\n\n", []uint32{rpc.ProcDomainLookupByName, rpc.ProcDomainCreate, rpc.ProcDomainLookupByUUID}},
		{[]string{"domid", "node-1"}, "2\n\n", nil},
		{[]string{"reboot", "node-1"}, "Domain 'node-1' is being rebooted\n\n", []uint32{rpc.ProcDomainLookupByName, rpc.ProcDomainReboot}},
		{[]string{"reset", "node-1"}, "Domain 'node-1' was reset\n\n", []uint32{rpc.ProcDomainLookupByName, rpc.ProcDomainReset}},
		{[]string{"shutdown", "node-1"}, "Domain 'node-1' is being shutdown\n\n", []uint32{rpc.ProcDomainLookupByName, rpc.ProcDomainShutdown}},
		{[]string{"domstate", "--reason", "node-1"}, "shut off (shutdown)\n\n", nil},
		{[]string{"start", "node-1"}, "Domain 'node-1' started\n\n", nil},
		{[]string{"destroy", "node-1"}, "Domain 'node-1' destroyed\n\n", []uint32{rpc.ProcDomainLookupByName, rpc.ProcDomainDestroy}},
		{[]string{"domstate", "--reason", "node-1"}, "shut off (destroyed)\n\n", nil},
		{[]string{"autostart", "node-2"}, "Domain 'node-2' marked as autostarted\n\n", []uint32{rpc.ProcDomainLookupByName, rpc.ProcDomainSetAutostart}},
		{[]string{"list", "--all", "--autostart", "--name"}, "node-2\n\n", nil},
		{[]string{"autostart", "--disable", "node-2"}, "Domain 'node-2' unmarked as autostarted\n\n", nil},
	}
	for _, st := range steps {
		rec.calls(t)
		got := mustVirsh(t, port, st.args...)
		if got != st.want {
			t.Errorf("virsh %v: stdout %q, want %q", st.args, got, st.want)
		}
		if calls := rec.calls(t); st.calls != nil && !slices.Equal(calls, session(st.calls...)) {
			t.Errorf("virsh %v: procedures %v, want %v", st.args, calls, session(st.calls...))
		}
	}
	// virsh undefine asks what it must clean up first, then undefines; the
	// domain driver refuses (it would delete a cloud server), and virsh, told
	// NO_SUPPORT, retries with the flagless call.
	rec.calls(t)
	_, errOut, code := virsh(t, t.Context(), port, "undefine", "node-2")
	if want := "error: this function is not supported by the connection driver: undefining a domain (deleting its cloud server) is not supported"; code != 1 || !strings.Contains(errOut, want) {
		t.Errorf("virsh undefine: exit %d, stderr %q, want %q", code, errOut, want)
	}
	want := session(rpc.ProcDomainLookupByName, rpc.ProcDomainIsActive, rpc.ProcDomainHasManagedSaveImage, rpc.ProcDomainSnapshotNum, rpc.ProcDomainUndefineFlags, rpc.ProcDomainUndefine)
	if calls := rec.calls(t); !slices.Equal(calls, want) {
		t.Errorf("virsh undefine: procedures %v, want %v", calls, want)
	}
}

func TestVirshErrors(t *testing.T) {
	testtool.Require(t, "virsh")
	port := tcpServer(t, newServer(t, drivers(newFakeDomains())), nil)

	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"dominfo", "nosuch"}, "error: failed to get domain 'nosuch'\n"},
		// virsh itself refuses to start an active domain (no RPC).
		{[]string{"start", "node-0"}, "error: Domain is already active\n"},
		{[]string{"destroy", "node-1"}, "error: Failed to destroy domain 'node-1'\nerror: Requested operation is not valid: domain is not running\n"},
		// No network or storage driver: libvirtd's answer for a missing
		// sub-driver, which virsh (after falling back from the LIST_ALL call)
		// prints with the public API's name.
		{[]string{"net-list"}, "error: Failed to get the number of active networks\nerror: this function is not supported by the connection driver: virConnectNumOfNetworks\n"},
		{[]string{"pool-list"}, "error: Failed to get the number of active pools \nerror: this function is not supported by the connection driver: virConnectNumOfStoragePools\n"},
		{[]string{"nodesevinfo"}, "error: Unable to get host SEV information\nerror: this function is not supported by the connection driver: virNodeGetSEVInfo\n"},
	}
	for _, tt := range tests {
		_, errOut, code := virsh(t, t.Context(), port, tt.args...)
		if code != 1 || errOut != tt.wantErr {
			t.Errorf("virsh %v: exit %d, stderr %q; want 1, %q", tt.args, code, errOut, tt.wantErr)
		}
	}
	// Still serving.
	mustVirsh(t, port, "list")
}

func TestVirshReadOnly(t *testing.T) {
	testtool.Require(t, "virsh")
	rec := &recorder{}
	b := newFakeDomains()
	port := tcpServer(t, newServer(t, drivers(b)), rec)

	if got := mustVirsh(t, port, "-r", "list", "--all", "--name"); got != "node-0\nnode-1\nnode-2\n\n" {
		t.Errorf("read-only list: %q", got)
	}
	for _, args := range [][]string{{"start", "node-1"}, {"destroy", "node-0"}, {"reboot", "node-0"}, {"autostart", "node-0"}} {
		_, errOut, code := virsh(t, t.Context(), port, append([]string{"-r"}, args...)...)
		if code != 1 || !strings.Contains(errOut, "error: operation forbidden: read only access prevents vir") {
			t.Errorf("virsh -r %v: exit %d, stderr %q", args, code, errOut)
		}
	}
	if got := mustVirsh(t, port, "domstate", "node-0"); got != "running\n\n" {
		t.Errorf("after refused changes: %q", got)
	}
}
