package metrics

import (
	"errors"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"quintupleo/internal/limit"
	"quintupleo/nodes"
)

// TestLimitedEveryEvent: every (limit, outcome) pair the front ends report
// exists at 0 before it acts, and one Limited call moves its own series,
// under its own front, by one and no other series.
func TestLimitedEveryEvent(t *testing.T) {
	m := New()
	events := limit.Events()
	if got := seriesOf(t, m, "quintupleo_limit_events_total"); got != len(events) {
		t.Fatalf("%d limit series before any event, want one per pair of limit.Events (%d)", got, len(events))
	}
	for ev, front := range events {
		series := m.limitEvents.WithLabelValues(string(front), string(ev.Limit), string(ev.Outcome))
		if v := valueOf(t, series); v != 0 {
			t.Errorf("%v before it acted: %v", ev, v)
		}
		m.Limited(ev.Limit, ev.Outcome)
		if v := valueOf(t, series); v != 1 {
			t.Errorf("%v{front=%s} after one Limited: %v, want 1", ev, front, v)
		}
	}
	if got := seriesOf(t, m, "quintupleo_limit_events_total"); got != len(events) {
		t.Errorf("%d limit series after one event of each, want %d: some call made a series of its own", got, len(events))
	}
}

// TestLimitFronts: the front of each limit is the one its name says
// (ssh_ for SSH, redfish_ for Redfish, the rest libvirt), so a limit added
// to limit.Events under the wrong front fails here.
func TestLimitFronts(t *testing.T) {
	for ev, front := range limit.Events() {
		want := limit.Libvirt
		switch name := string(ev.Limit); {
		case len(name) > 4 && name[:4] == "ssh_":
			want = limit.SSH
		case len(name) > 8 && name[:8] == "redfish_":
			want = limit.Redfish
		}
		if front != want {
			t.Errorf("%v is under front %s, want %s", ev, front, want)
		}
	}
}

// TestLimitedUnknownStaysBounded: a limit missing from limit.Events counts
// under front "unknown" rather than being lost.
func TestLimitedUnknownStaysBounded(t *testing.T) {
	m := New()
	m.Limited("not_a_limit", limit.Refused)
	if v := valueOf(t, m.limitEvents.WithLabelValues("unknown", "not_a_limit", "refused")); v != 1 {
		t.Errorf("unknown limit counted %v, want 1", v)
	}
}

// TestConnectionsGauges: the last level reported per front is what the
// gauges read; fronts do not mix.
func TestConnectionsGauges(t *testing.T) {
	m := New()
	m.Connections(limit.Libvirt, 3, 2)
	m.Connections(limit.SSH, 7, 1)
	m.Connections(limit.Libvirt, 4, 0)
	for _, c := range []struct {
		front           limit.Front
		open, unauthent float64
	}{{limit.Libvirt, 4, 0}, {limit.SSH, 7, 1}} {
		if v := valueOf(t, m.connections.WithLabelValues(string(c.front))); v != c.open {
			t.Errorf("connections{front=%s} = %v, want %v", c.front, v, c.open)
		}
		if v := valueOf(t, m.unauthenticated.WithLabelValues(string(c.front))); v != c.unauthent {
			t.Errorf("connections_unauthenticated{front=%s} = %v, want %v", c.front, v, c.unauthent)
		}
	}
}

// seriesOf is how many series of family name the registry gathers.
func seriesOf(t *testing.T, m *Metrics, name string) int {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == name {
			return len(f.GetMetric())
		}
	}
	return 0
}

// valueOf reads one counter's or gauge's value.
func valueOf(t *testing.T, c prometheus.Metric) float64 {
	t.Helper()
	var pb dto.Metric
	if err := c.Write(&pb); err != nil {
		t.Fatal(err)
	}
	if pb.Counter != nil {
		return pb.Counter.GetValue()
	}
	return pb.Gauge.GetValue()
}

// TestActionsEveryObservedName: every action nodes reports — the
// Executor's server actions and the other changes to the cloud — has its
// series at 0 from the start; one change moves in_flight up and back, and
// counts and times it once under its result, however often done is called;
// no name makes series beyond its own.
func TestActionsEveryObservedName(t *testing.T) {
	names := nodes.ObservedActions()
	for _, want := range []string{"os-start", "os-stop", "rescue", "create_server", "delete_server", "delete_port",
		"set_metadata", "delete_metadata", "replace_metadata", "set_description", "insert_media", "delete_media_image",
		"trigger_crash_dump", "create_network", "create_subnet", "update_network", "delete_network",
		"create_volume", "delete_volume"} {
		if !slices.Contains(names, want) {
			t.Errorf("nodes.ObservedActions() lacks %q: %v", want, names)
		}
	}
	if c := slices.Compact(slices.Clone(names)); len(c) != len(names) {
		t.Errorf("nodes.ObservedActions() names one action twice: %v", names)
	}
	m := New()
	m.KnownActions(names)
	for _, fam := range []struct {
		name string
		per  int
	}{{"quintupleo_actions_in_flight", 1}, {"quintupleo_actions_total", 2}, {"quintupleo_action_duration_seconds", 1}} {
		if got := seriesOf(t, m, fam.name); got != fam.per*len(names) {
			t.Fatalf("%s: %d series before any action, want %d per action (%d)", fam.name, got, fam.per, fam.per*len(names))
		}
	}
	for _, a := range names {
		inFlight := m.inFlight.WithLabelValues(a)
		ok, failed := m.actions.WithLabelValues(a, "ok"), m.actions.WithLabelValues(a, "error")
		if valueOf(t, inFlight)+valueOf(t, ok)+valueOf(t, failed)+countOf(t, m, a) != 0 {
			t.Errorf("%s moved before it started", a)
		}
		done := m.ActionStarted(a)
		if v := valueOf(t, inFlight); v != 1 {
			t.Errorf("actions_in_flight{%s} = %v while under way, want 1", a, v)
		}
		done(nil)
		done(nil) // a second call changes nothing
		if v := valueOf(t, inFlight); v != 0 {
			t.Errorf("actions_in_flight{%s} = %v once done, want 0", a, v)
		}
		m.ActionStarted(a)(errors.New("refused"))
		if o, f, n := valueOf(t, ok), valueOf(t, failed), countOf(t, m, a); o != 1 || f != 1 || n != 2 {
			t.Errorf("%s after one success and one failure: ok %v, error %v, timed %v; want 1, 1, 2", a, o, f, n)
		}
	}
	if got := seriesOf(t, m, "quintupleo_actions_total"); got != 2*len(names) {
		t.Errorf("%d action series after one of each, want %d: some call made a series of its own", got, 2*len(names))
	}
}

// countOf is how many times action a was timed.
func countOf(t *testing.T, m *Metrics, a string) float64 {
	t.Helper()
	var pb dto.Metric
	if err := m.actionDuration.WithLabelValues(a).(prometheus.Histogram).Write(&pb); err != nil {
		t.Fatal(err)
	}
	return float64(pb.Histogram.GetSampleCount())
}
