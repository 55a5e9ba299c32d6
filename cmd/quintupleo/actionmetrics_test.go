package main

import (
	"strings"
	"testing"

	"quintupleo/nodes"
)

// TestActionMetricsCountEveryCloudChange: the real virsh defines and
// undefines a domain, fails a define, writes metadata, defines, starts,
// stops and undefines a network, creates and deletes a volume; each change
// to the cloud moves quintupleo_actions_total and the duration histogram of
// its action by exactly one per change, under its result, no other
// action's, and actions_in_flight is back at 0 once each call has returned.
// Every action's series is there at 0 before anything happened.
func TestActionMetricsCountEveryCloudChange(t *testing.T) {
	e := startEnv(t, withMetrics)
	base := "http://" + e.st.metrics.Addr().String()
	before := scrapeMetrics(t, base)
	for _, a := range nodes.ObservedActions() {
		if !before.has("quintupleo_actions_total", "action", a, "result", "error") ||
			!before.has("quintupleo_actions_in_flight", "action", a) {
			t.Errorf("no series of action %q before it happened", a)
		}
	}

	e.undefineAtEnd(t, "baremetal_m")
	if out := e.mustVirsh(t, "define", writeXML(t, tripleoDomainXML("baremetal_m", "", "00:7d:ab:00:0c:01"))); !strings.Contains(out, "defined from") {
		t.Fatalf("define: %q", out)
	}
	e.mustVirsh(t, "autostart", "baremetal_m")
	e.mustVirsh(t, "desc", "baremetal_m", "--config", "--new-desc", "counted")
	e.mustVirsh(t, "undefine", "baremetal_m")
	// No flavor has 1 TiB: the creation fails before it makes anything.
	huge := strings.Replace(tripleoDomainXML("baremetal_huge", ""), "4194304", "1099511627776", 1)
	if _, errOut, code := e.virsh(t, "define", writeXML(t, huge)); code != 1 || !strings.Contains(errOut, "no flavor") {
		t.Fatalf("define of 1 TiB: exit %d: %s", code, errOut)
	}

	e.mustVirsh(t, "net-define", writeXML(t, `<network><name>counted</name><ip address='10.22.0.1' netmask='255.255.255.0'>
<dhcp><range start='10.22.0.100' end='10.22.0.150'/></dhcp></ip></network>`))
	e.mustVirsh(t, "net-start", "counted")
	e.mustVirsh(t, "net-destroy", "counted")
	e.mustVirsh(t, "net-undefine", "counted")

	e.mustVirsh(t, "vol-create-as", "default", "counted.img", "1G")
	e.mustVirsh(t, "vol-delete", "--pool", "default", "counted.img")

	after := scrapeMetrics(t, base)
	want := map[[2]string]float64{
		{"create_server", "ok"}: 1, {"create_server", "error"}: 1, {"delete_server", "ok"}: 1,
		{"set_metadata", "ok"}: 1, {"replace_metadata", "ok"}: 1,
		{"create_network", "ok"}: 1, {"create_subnet", "ok"}: 1, {"update_network", "ok"}: 2, {"delete_network", "ok"}: 1,
		{"create_volume", "ok"}: 1, {"delete_volume", "ok"}: 1,
	}
	timed := map[string]float64{}
	for k, n := range want {
		timed[k[0]] += n
	}
	for _, a := range nodes.ObservedActions() {
		for _, result := range []string{"ok", "error"} {
			got := after.value("quintupleo_actions_total", "action", a, "result", result) -
				before.value("quintupleo_actions_total", "action", a, "result", result)
			if w := want[[2]string{a, result}]; got != w {
				t.Errorf("actions_total{action=%q,result=%q} moved by %v, want %v", a, result, got, w)
			}
		}
		got := after.value("quintupleo_action_duration_seconds", "action", a) - before.value("quintupleo_action_duration_seconds", "action", a)
		if got != timed[a] {
			t.Errorf("action_duration_seconds{action=%q} timed %v changes, want %v", a, got, timed[a])
		}
		if v := after.value("quintupleo_actions_in_flight", "action", a); v != 0 {
			t.Errorf("actions_in_flight{action=%q} = %v after every call returned, want 0", a, v)
		}
	}
}
