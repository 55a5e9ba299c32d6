package virsh_test

import (
	"bytes"
	"strings"
	"testing"

	"quintupleo/internal/stacktest"
	"quintupleo/internal/testtool"
	"quintupleo/ssh/virsh"
)

// ourVirshIn runs the emulator with stdin (net-define /dev/stdin).
func ourVirshIn(t *testing.T, st *stacktest.Stack, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	e := virsh.Env{Stdout: &out, Stderr: &errb, Stdin: strings.NewReader(stdin), Dial: st.Dial,
		Getenv: func(string) string { return "" }}
	status := virsh.Run(t.Context(), e, args)
	return result{out.String(), errb.String(), status}
}

// TestNetworkDifferential runs each net-* read command through the real
// virsh and the emulator against one server: the same stdout, stderr and
// status, byte for byte (tables included).
func TestNetworkDifferential(t *testing.T) {
	testtool.Require(t, "virsh")
	st := stacktest.New(t, 2)
	brbm := "<network><name>brbm</name><forward mode='bridge'/><bridge name='brbm'/><virtualport type='openvswitch'/></network>"
	if r := ourVirshIn(t, st, brbm, "net-define", "/dev/stdin"); r.status != 0 {
		t.Fatalf("net-define: %+v", r)
	}
	uuid := strings.TrimSpace(ourVirsh(t, st, nil, "net-uuid", "provision").out)
	cmds := [][]string{
		{"net-list"}, {"net-list", "--all"}, {"net-list", "--inactive"}, {"net-list", "--persistent"},
		{"net-list", "--inactive", "--persistent"}, {"net-list", "--all", "--persistent"}, {"net-list", "--transient"},
		{"net-list", "--autostart"}, {"net-list", "--no-autostart"}, {"net-list", "--all", "--name"}, {"net-list", "--uuid"},
		{"net-list", "--table"}, {"net-list", "--name", "--uuid"}, {"net-list", "--table", "--name"}, {"-q", "net-list", "--all"},
		{"net-info", "provision"}, {"net-info", "brbm"}, {"net-info", uuid}, {"net-info", "nope"}, {"net-info"},
		{"net-dumpxml", "provision"}, {"net-dumpxml", "--inactive", "brbm"}, {"net-dumpxml", "nope"},
		{"net-uuid", "provision"}, {"net-uuid", "nope"}, {"net-name", uuid}, {"net-name", "11111111-2222-3333-4444-555555555555"},
		{"net-start", "provision"}, {"net-destroy", "brbm"}, {"net-destroy", "provision"}, {"net-undefine", "provision"},
		{"net-autostart", "--disable", "brbm"}, {"net-start", "nope"},
		{"-r", "net-start", "brbm"}, {"-r", "net-list", "--all"},
	}
	for _, args := range cmds {
		want := realVirsh(t, st, args...)
		got := ourVirsh(t, st, nil, args...)
		if got != want {
			t.Errorf("virsh %s:\n ours: %q\n      %q\n      %d\nvirsh: %q\n      %q\n      %d", strings.Join(args, " "),
				got.out, got.err, got.status, want.out, want.err, want.status)
		}
	}
}

// TestNetworkDifferentialChanges: each change is run by the real virsh,
// undone, then run by the emulator, with the same output.
func TestNetworkDifferentialChanges(t *testing.T) {
	testtool.Require(t, "virsh")
	st := stacktest.New(t, 1)
	brbm := "<network><name>brbm</name><forward mode='bridge'/><bridge name='brbm'/><virtualport type='openvswitch'/></network>"
	tmp := "<network><name>tmp</name><ip address='10.9.0.1' prefix='24'/></network>"
	steps := []struct {
		stdin    string
		do, undo []string
	}{
		{brbm, []string{"net-define", "/dev/stdin"}, []string{"net-undefine", "brbm"}},
		{"<network><name>bad</name>", []string{"net-define", "/dev/stdin"}, nil},
		{"<network><name>x</name><forward mode='nat'/></network>", []string{"net-define", "/dev/stdin"}, nil},
		{tmp, []string{"net-create", "/dev/stdin"}, []string{"net-destroy", "tmp"}},
	}
	for _, s := range steps {
		want := realVirshIn(t, st, strings.NewReader(s.stdin), s.do...)
		if s.undo != nil {
			realVirsh(t, st, s.undo...)
		}
		got := ourVirshIn(t, st, s.stdin, s.do...)
		if s.undo != nil {
			ourVirsh(t, st, nil, s.undo...)
		}
		if got != want {
			t.Errorf("virsh %s:\n ours: %+v\nvirsh: %+v", strings.Join(s.do, " "), got, want)
		}
	}
	if r := ourVirshIn(t, st, brbm, "net-define", "/dev/stdin"); r.status != 0 {
		t.Fatalf("net-define: %+v", r)
	}
	for _, s := range [][2][]string{
		{{"net-autostart", "brbm"}, nil},
		{{"net-start", "brbm"}, {"net-destroy", "brbm"}},
	} {
		want := realVirsh(t, st, s[0]...)
		if s[1] != nil {
			realVirsh(t, st, s[1]...)
		}
		got := ourVirsh(t, st, nil, s[0]...)
		if got != want {
			t.Errorf("virsh %s:\n ours: %+v\nvirsh: %+v", strings.Join(s[0], " "), got, want)
		}
	}
	ourVirsh(t, st, nil, "net-destroy", "brbm")
	want := realVirsh(t, st, "net-undefine", "brbm")
	if want.status != 0 || want.out != "Network brbm has been undefined\n\n" {
		t.Errorf("net-undefine: %+v", want)
	}
}
