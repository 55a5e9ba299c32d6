package virsh_test

import (
	"strings"
	"testing"

	"quintupleo/internal/stacktest"
	"quintupleo/internal/testtool"
)

// TestDifferentialGuestAndHost compares the guest and host commands beyond
// power — suspend, resume, inject-nmi, domifaddr, desc, metadata, sysinfo,
// capabilities, domcapabilities, freecell, nodememstats — with real virsh,
// byte for byte, successes and libvirt's errors alike.
func TestDifferentialGuestAndHost(t *testing.T) {
	testtool.Require(t, "virsh")
	st := stacktest.New(t, 3)
	if r := ourVirsh(t, st, nil, "start", "node-1"); r.status != 0 {
		t.Fatalf("start: %+v", r)
	}
	same := func(args ...string) {
		t.Helper()
		want := realVirsh(t, st, args...)
		got := ourVirsh(t, st, nil, args...)
		if got != want {
			t.Errorf("virsh %s:\n ours: %q\n      %q\n      %d\nvirsh: %q\n      %q\n      %d", strings.Join(args, " "),
				got.out, got.err, got.status, want.out, want.err, want.status)
		}
	}
	for _, args := range [][]string{
		{"sysinfo"}, {"capabilities"}, {"domcapabilities"}, {"domcapabilities", "--machine", "pc"},
		{"domcapabilities", "--arch", "aarch64"}, {"domcapabilities", "--virttype", "xen"},
		{"freecell"}, {"freecell", "--all"}, {"freecell", "0"}, {"freecell", "--cellno", "3"}, {"freecell", "x"},
		{"nodememstats"}, {"nodememstats", "0"}, {"nodememstats", "2"},
		{"domifaddr", "node-1"}, {"domifaddr", "node-1", "--full"}, {"domifaddr", "node-1", "--source", "arp"},
		{"domifaddr", "node-1", "--source", "agent"}, {"domifaddr", "node-1", "--source", "dhcp"}, {"domifaddr", "node-0"},
		{"-q", "domifaddr", "node-1"},
		{"inject-nmi", "node-0"}, {"suspend", "node-0"}, {"resume", "node-0"}, {"resume", "node-1"},
		{"desc", "node-0"}, {"desc", "node-0", "--title"}, {"metadata", "node-0", "http://example.org/x/"},
		{"metadata", "node-0", "http://example.org/x/", "--set", "<a/>"},
	} {
		same(args...)
	}

	// Changes: each run by real virsh, undone, then by ours.
	steps := []struct{ do, undo []string }{
		{[]string{"suspend", "node-1"}, []string{"resume", "node-1"}},
		{[]string{"inject-nmi", "node-1"}, nil},
		{[]string{"desc", "node-0", "--title", "--new-desc", "rack 4"}, []string{"desc", "node-0", "--title", "--new-desc", ""}},
		{[]string{"desc", "node-0", "--new-desc", "first"}, []string{"desc", "node-0", "--new-desc", ""}},
		{[]string{"metadata", "node-0", "http://example.org/x/", "--key", "x", "--set", "<a>b</a>"},
			[]string{"metadata", "node-0", "http://example.org/x/", "--remove"}},
		{[]string{"metadata", "node-0", "http://example.org/x/", "--remove"}, nil},
	}
	for _, s := range steps {
		want := realVirsh(t, st, s.do...)
		if s.undo != nil {
			realVirsh(t, st, s.undo...)
		}
		got := ourVirsh(t, st, nil, s.do...)
		if got != want {
			t.Errorf("virsh %s:\n ours: %+v\nvirsh: %+v", strings.Join(s.do, " "), got, want)
		}
		if s.undo != nil {
			ourVirsh(t, st, nil, s.undo...)
		}
	}
	// A paused domain, then read back: state, title, metadata.
	ourVirsh(t, st, nil, "suspend", "node-1")
	ourVirsh(t, st, nil, "desc", "node-1", "--title", "--new-desc", "rack 4")
	ourVirsh(t, st, nil, "metadata", "node-1", "http://example.org/x/", "--key", "x", "--set", "<a><b c='1'/></a>")
	for _, args := range [][]string{
		{"domstate", "--reason", "node-1"}, {"suspend", "node-1"}, {"desc", "node-1", "--title"},
		{"metadata", "node-1", "http://example.org/x/"}, {"dumpxml", "node-1"}, {"freecell"}, {"nodememstats"},
	} {
		same(args...)
	}
}
