package main

import (
	"strings"
	"testing"

	"quintupleo/cloudsim"
)

// TestUndefineWhoseAnswerIsLost: Nova deletes the server but a proxy
// replaces its answer with a 504 (found by the soak). The undefine reads the
// server back, sees the delete under way, and finishes: the client is told of
// success, the server's ports go too, and the DELETE was sent once.
func TestUndefineWhoseAnswerIsLost(t *testing.T) {
	e := startEnv(t)
	before := stateOf(e.sim)
	e.mustVirsh(t, "define", writeXML(t, tripleoDomainXML("lost", "", "00:7d:ab:00:40:01")))
	f, err := cloudsim.ParseFault("endpoint=DELETE /compute/v2.1/servers/{id},status=504,after,error-rate=1,count=1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.sim.AddFault(f); err != nil {
		t.Fatal(err)
	}
	deletes := e.sim.Count("DELETE /compute/v2.1/servers/{id}")
	if out, errOut, code := e.virsh(t, "undefine", "lost"); code != 0 {
		t.Errorf("undefine: exit %d, %s%s", code, out, errOut)
	}
	waitState(t, e.sim, before)
	if n := e.sim.Count("DELETE /compute/v2.1/servers/{id}") - deletes; n != 1 {
		t.Errorf("%d server DELETEs sent, want 1", n)
	}
	if out := e.mustVirsh(t, "list", "--all", "--name"); strings.Contains(out, "lost") {
		t.Errorf("after the undefine: %s", out)
	}
}
