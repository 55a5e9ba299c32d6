package virsh_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"quintupleo/internal/stacktest"
	"quintupleo/internal/testtool"
	"quintupleo/ssh/virsh"
)

type result struct {
	out, err string
	status   int
}

// ours runs the emulator.
func ourVirsh(t *testing.T, st *stacktest.Stack, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	scratch, err := os.OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer scratch.Close()
	e := virsh.Env{
		Stdout: &out, Stderr: &errb,
		Getenv:  func(k string) string { return env[k] },
		Dial:    st.Dial,
		Scratch: scratch,
	}
	status := virsh.Run(t.Context(), e, args)
	return result{out.String(), errb.String(), status}
}

// real runs the system virsh against the same server over TCP.
func realVirsh(t *testing.T, st *stacktest.Stack, args ...string) result {
	t.Helper()
	return realVirshIn(t, st, nil, args...)
}

// realVirshIn is realVirsh with stdin (nil: none).
func realVirshIn(t *testing.T, st *stacktest.Stack, stdin io.Reader, args ...string) result {
	t.Helper()
	return virshAt(t, "qemu+tcp://127.0.0.1:"+st.Port+"/system", stdin, args...)
}

// virshAt runs the real virsh against uri (quintupleo, or the reference
// libvirtd); leading "-" arguments are virsh's global options.
func virshAt(t *testing.T, uri string, stdin io.Reader, args ...string) result {
	t.Helper()
	bin := testtool.Require(t, "virsh")
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var global []string
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		global, args = append(global, args[0]), args[1:]
	}
	full := append(append(global, "-c", uri), args...)
	cmd := exec.CommandContext(ctx, bin, full...)
	cmd.Stdin = stdin
	cmd.Env = append(os.Environ(), "LC_ALL=C", "HOME="+t.TempDir(), "VIRSH_DEFAULT_CONNECT_URI=", "LIBVIRT_DEFAULT_URI=")
	out, errOut, code := testtool.Run(t, cmd)
	return result{out, errOut, code}
}

// TestDifferential runs each read-only command through real virsh (over
// qemu+tcp) and through the emulator against one server, and wants the same
// stdout, stderr and exit status, byte for byte.
func TestDifferential(t *testing.T) {
	testtool.Require(t, "virsh")
	st := stacktest.New(t, 4)
	// a running domain, for ids and states
	if r := ourVirsh(t, st, nil, "start", "node-1"); r.status != 0 {
		t.Fatalf("start: %+v", r)
	}
	uuid := strings.TrimSpace(ourVirsh(t, st, nil, "domuuid", "node-2").out)
	cmds := [][]string{
		{"list"}, {"list", "--all"}, {"list", "--all", "--name"}, {"list", "--name"}, {"list", "--inactive"},
		{"list", "--uuid"}, {"list", "--all", "--uuid", "--name"}, {"list", "--all", "--id"}, {"list", "--state-running"},
		{"list", "--state-shutoff", "--name"}, {"list", "--all", "--table"}, {"list", "--table", "--name"},
		{"-q", "list", "--all"}, {"-q", "list", "--all", "--name"}, {"--quiet", "list"},
		{"list", "--foo"}, {"list", "--all", "--persistent"}, {"list", "--autostart"},
		{"dominfo", "node-1"}, {"dominfo", "node-0"}, {"dominfo", "nosuch"}, {"dominfo", uuid}, {"dominfo", "node-0", "extra"},
		{"domstate", "node-1"}, {"domstate", "--reason", "node-1"}, {"domstate", "--reason", "node-0"}, {"domstate", "--domain", "node-0"},
		{"domstate", "--domain=node-0"}, {"domstate"}, {"-q", "domstate", "node-0"},
		{"domid", "node-1"}, {"domid", "node-0"}, {"domuuid", "node-0"}, {"domname", uuid}, {"domname", "1"}, {"domname", "999"},
		{"dumpxml", "node-0"}, {"dumpxml", "node-1"}, {"dumpxml", "--inactive", "node-1"}, {"dumpxml", "--security-info", "node-0"},
		{"domiflist", "node-0"}, {"domiflist", "node-1"},
		{"version"}, {"version", "--daemon"}, {"hostname"}, {"nodeinfo"},
		{"start", "node-1"}, {"destroy", "nosuch"}, {"destroy", "node-0"}, {"shutdown", "node-0"}, {"reboot", "node-0"},
		{"start"}, {"nosuchcmd"},
		{"-r", "destroy", "node-1"}, {"-r", "start", "node-0"}, {"-r", "list", "--all"},
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

// TestDifferentialChanges compares state-changing commands: each is run by
// the real virsh, undone, then run by ours.
func TestDifferentialChanges(t *testing.T) {
	testtool.Require(t, "virsh")
	st := stacktest.New(t, 3)
	steps := []struct{ do, undo []string }{
		{[]string{"start", "node-0"}, []string{"destroy", "node-0"}},
		{[]string{"start", "--domain", "node-0"}, []string{"destroy", "node-0"}},
		{[]string{"-q", "start", "node-0"}, []string{"destroy", "node-0"}},
		{[]string{"autostart", "node-1"}, []string{"autostart", "--disable", "node-1"}},
		{[]string{"autostart", "--disable", "node-1"}, nil},
	}
	for _, s := range steps {
		want := realVirsh(t, st, s.do...)
		if s.undo != nil {
			realVirsh(t, st, s.undo...)
		}
		got := ourVirsh(t, st, nil, s.do...)
		if s.undo != nil {
			ourVirsh(t, st, nil, s.undo...)
		}
		if got != want {
			t.Errorf("virsh %s:\n ours: %+v\nvirsh: %+v", strings.Join(s.do, " "), got, want)
		}
	}
	// running: destroy, reset, reboot
	for _, cmd := range [][]string{{"reset", "node-2"}, {"reboot", "node-2"}, {"destroy", "node-2"}} {
		ourVirsh(t, st, nil, "start", "node-2")
		want := realVirsh(t, st, cmd...)
		ourVirsh(t, st, nil, "destroy", "node-2")
		ourVirsh(t, st, nil, "start", "node-2")
		got := ourVirsh(t, st, nil, cmd...)
		ourVirsh(t, st, nil, "destroy", "node-2")
		if got != want {
			t.Errorf("virsh %s:\n ours: %+v\nvirsh: %+v", strings.Join(cmd, " "), got, want)
		}
	}
}
