package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"quintupleo/cloudsim"
)

// TestNoGhostsAfterTheCloudsDatabaseIsReplaced: every server vanishes
// without a DELETED record (the database replaced, as when the real cloud's
// nodes.sh rebuilds it) and new ones of the same names appear. Within a few
// refresh intervals virsh lists exactly the new ones — not after the
// periodic full listing (60 refreshes), which is what it took before.
func TestNoGhostsAfterTheCloudsDatabaseIsReplaced(t *testing.T) {
	e := startEnv(t) // refresh every 100 ms: the periodic full listing every 6 s
	before := strings.Fields(e.mustVirsh(t, "list", "--all", "--uuid"))
	if len(before) != fixtureNodes {
		t.Fatalf("at start: %v", before)
	}
	e.sim.WipeServers()
	var want []string
	for i := range fixtureNodes {
		s, err := e.sim.CreateServer(cloudsim.ServerSpec{Name: fmt.Sprintf("node-%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, s.ID)
	}
	slices.Sort(want)
	replaced := time.Now()
	const bound = 2 * time.Second // 20 refreshes, a third of the periodic full listing's period
	var got []string
	for {
		got = strings.Fields(e.mustVirsh(t, "list", "--all", "--uuid"))
		slices.Sort(got)
		if slices.Equal(got, want) {
			break
		}
		if time.Since(replaced) > bound {
			t.Fatalf("%s after the replacement virsh lists %v; want only the new servers %v", bound, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("the new servers alone listed %s after the replacement", time.Since(replaced).Round(time.Millisecond))
}
