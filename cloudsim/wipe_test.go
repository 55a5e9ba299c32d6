package cloudsim_test

import (
	"strings"
	"testing"

	"quintupleo/cloudsim"
)

// TestWipeLeavesNoTrace: a deleted server shows in changes-since as DELETED
// until its record is archived; a wiped database (every server gone at once)
// shows nothing at all, and new servers are listed alone.
func TestWipeLeavesNoTrace(t *testing.T) {
	sim := testSim(t, cloudsim.Options{Nodes: 2})
	c := connect(t, sim)
	since := c.compute.ServiceURL("servers", "detail") + "?changes-since=2000-01-01T00:00:00Z"
	if err := sim.DeleteServer("node-0"); err != nil {
		t.Fatal(err)
	}
	if _, b := rawMV(t, c, "GET", since, "2.79", ""); !strings.Contains(b, `"DELETED"`) {
		t.Fatalf("a deleted server not in changes-since: %s", b)
	}
	if n := sim.ArchiveDeleted(); n != 1 {
		t.Errorf("archived %d records, want 1", n)
	}
	if _, b := rawMV(t, c, "GET", since, "2.79", ""); strings.Contains(b, `"DELETED"`) || !strings.Contains(b, "node-1") {
		t.Fatalf("after the archive: %s", b)
	}
	if n := sim.WipeServers(); n != 1 {
		t.Errorf("wiped %d servers, want 1", n)
	}
	if _, err := sim.CreateServer(cloudsim.ServerSpec{Name: "node-1"}); err != nil {
		t.Fatal(err)
	}
	_, b := rawMV(t, c, "GET", since, "2.79", "")
	if strings.Count(b, `"OS-EXT-SRV-ATTR:hostname"`) != 1 || strings.Contains(b, "DELETED") || len(sim.Servers()) != 1 {
		t.Errorf("after the wipe and one create: %s", b)
	}
	if len(sim.Ports()) != 3 { // the fixture's two (left unbound, as Nova leaves them) and the new one
		t.Errorf("ports after the wipe: %v", sim.Ports())
	}
}
