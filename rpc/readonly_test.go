package rpc_test

import (
	"strings"
	"testing"

	"quintupleo/internal/testtool"
	"quintupleo/rpc"
)

// TestVirshOnAReadOnlyListener connects the real virsh, which does not know
// it is read-only (no -r: its own library would refuse changes before
// sending them), to a listener whose policy is read-only, as a read-only
// socket or a read-only TLS identity is. Every change is refused by the
// server, procedures without a row included: they hear "read only access
// prevents", with the reference libvirtd's words (virsh -r against it), not
// "not supported".
func TestVirshOnAReadOnlyListener(t *testing.T) {
	testtool.Require(t, "virsh")
	port := tcpServerPolicy(t, newServer(t, drivers(newFakeDomains())), nil, rpc.Policy{ReadOnly: true})

	if got := mustVirsh(t, port, "list", "--all", "--name"); got != "node-0\nnode-1\nnode-2\n\n" {
		t.Errorf("list on the read-only listener: %q", got)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"start", "node-1"}, "error: Failed to start domain 'node-1'\nerror: operation forbidden: read only access prevents virDomainCreate"},
		{[]string{"destroy", "node-0"}, "error: Failed to destroy domain 'node-0'\nerror: operation forbidden: read only access prevents virDomainDestroy"},
		{[]string{"suspend", "node-0"}, "error: Failed to suspend domain 'node-0'\nerror: operation forbidden: read only access prevents virDomainSuspend"},
		{[]string{"resume", "node-0"}, "error: Failed to resume domain 'node-0'\nerror: operation forbidden: read only access prevents virDomainResume"},
		{[]string{"setmem", "node-0", "1000"}, "error: operation forbidden: read only access prevents virDomainSetMemoryFlags"},
		{[]string{"managedsave", "node-0"}, "error: Failed to save domain 'node-0' state\nerror: operation forbidden: read only access prevents virDomainManagedSave"},
		{[]string{"domhostname", "node-0"}, "error: failed to get hostname\nerror: operation forbidden: read only access prevents virDomainGetHostname"},
		{[]string{"domtime", "node-0"}, "error: operation forbidden: read only access prevents virDomainGetTime"},
		{[]string{"send-key", "node-0", "KEY_A"}, "error: operation forbidden: read only access prevents virDomainSendKey"},
		{[]string{"snapshot-create-as", "node-0", "s1"}, "error: operation forbidden: read only access prevents virDomainSnapshotCreateXML"},
	} {
		_, errOut, code := virsh(t, t.Context(), port, tc.args...)
		if code != 1 || strings.TrimSpace(errOut) != tc.want {
			t.Errorf("virsh %v: exit %d, stderr %q, want %q", tc.args, code, errOut, tc.want)
		}
	}
	if got := mustVirsh(t, port, "domstate", "node-0"); got != "running\n\n" {
		t.Errorf("after refused changes: %q", got)
	}
}
