package main

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"quintupleo/internal/testtool"
)

// TestDrainStopsAcceptingEverywhere: an interactive SSH session keeps the
// real binary draining after SIGTERM; during the drain no listener (libvirt
// TCP, unix, read-only unix, Redfish, SSH) takes a new client. Each part
// used to close its listener only when its own turn to shut down came, so
// libvirt and Redfish kept accepting while SSH waited for its session.
func TestDrainStopsAcceptingEverywhere(t *testing.T) {
	testtool.Require(t, "ssh")
	var client sshClient
	var keys serveConfig
	withSSH(t, &client)(nil, &keys)
	dir := t.TempDir()
	auth := filepath.Join(dir, "htpasswd")
	hash, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	testtool.WriteFile(t, auth, []byte("ironic:"+string(hash)+"\n"))
	tcpAddr, sshAddr, rfAddr := testtool.FreeAddr(t), testtool.FreeAddr(t), testtool.FreeAddr(t)
	rw, ro := filepath.Join(dir, "rw.sock"), filepath.Join(dir, "ro.sock")
	p, _ := launchServeProcess(t, testtool.BuildQuintupleo(t), "serve", "--demo", "--state-dir", dir,
		"--listen-tcp", tcpAddr, "--listen-unix", rw, "--read-only-unix", ro,
		"--listen-redfish", rfAddr, "--redfish-http", "--redfish-auth-file", auth,
		"--listen-ssh", sshAddr, "--ssh-authorized-keys", keys.sshAuthKeys, "--ssh-host-key", keys.sshHostKey)
	waitFor(t, 60*time.Second, "ready", func() bool { return strings.Contains(p.logText(), "msg=ready") })

	// An interactive session, idle at its prompt: the SSH part drains it.
	stdin, stdout := client.openSession(t, sshAddr)

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, promptly, "shutting down", func() bool { return strings.Contains(p.logText(), `msg="shutting down"`) })
	listeners := map[string][2]string{
		"libvirt TCP": {"tcp", tcpAddr}, "libvirt unix": {"unix", rw}, "libvirt read-only unix": {"unix", ro},
		"Redfish": {"tcp", rfAddr}, "SSH": {"tcp", sshAddr},
	}
	// Closing them is the first thing shutdown does; give it a moment.
	waitFor(t, 2*time.Second, "every listener closed", func() bool {
		for _, l := range listeners {
			if c, err := net.Dial(l[0], l[1]); err == nil {
				c.Close()
				return false
			}
		}
		return true
	})
	// Still draining: the session is open and the process alive.
	if err := p.cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("serve exited before its session ended: %v", err)
	}
	for name, l := range listeners {
		if c, err := net.Dial(l[0], l[1]); err == nil {
			c.Close()
			t.Errorf("%s accepts a new client during the drain", name)
		}
	}
	// The session itself still works, then ends the drain.
	if _, err := io.WriteString(stdin, "echo still\nexit\n"); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(stdout)
	if !strings.Contains(string(rest), "still") {
		t.Errorf("the draining session answered %q", rest)
	}
}

// TestScratchOfAKilledServerRemovedAtStart: serve is SIGKILLed while an SSH
// session holds its scratch directory; the next start removes what it left
// and says so, and a directory of a server still running beside it stays.
func TestScratchOfAKilledServerRemovedAtStart(t *testing.T) {
	testtool.Require(t, "ssh")
	var client sshClient
	var keys serveConfig
	withSSH(t, &client)(nil, &keys)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // serve's scratch parent (os.TempDir)
	bin := testtool.BuildQuintupleo(t)
	start := func() *serveProcess {
		return startServeProcess(t, bin, "serve", "--demo", "--listen-tcp", "127.0.0.1:0", "--listen-ssh", "127.0.0.1:0",
			"--ssh-authorized-keys", keys.sshAuthKeys, "--ssh-host-key", keys.sshHostKey)
	}
	scratch := func() []string {
		m, _ := filepath.Glob(filepath.Join(tmp, "quintupleo-ssh*"))
		return m
	}
	live := start() // runs throughout: its directory must survive
	victim := start()
	client.openSession(t, victim.sshAddr)
	before := scratch()
	if len(before) != 2 {
		t.Fatalf("two servers' scratch directories: %v", before)
	}
	if err := victim.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = victim.cmd.Wait() // "signal: killed"
	if got := scratch(); len(got) != 2 {
		t.Fatalf("after SIGKILL: %v (the debris this test needs)", got)
	}

	next := start()
	waitFor(t, promptly, "the removal logged", func() bool {
		return strings.Contains(next.logText(), "removed the scratch directory of a server that did not end cleanly")
	})
	got := scratch()
	if len(got) != 2 {
		t.Fatalf("after the restart: %v; want the live server's and the new one's", got)
	}
	for _, dir := range before {
		if strings.Contains(next.logText(), dir) == (dir == liveScratch(t, live, before)) {
			t.Errorf("scratch %s: removal logged %v", dir, strings.Contains(next.logText(), dir))
		}
	}
}

// liveScratch is which of dirs belongs to the running p: the one whose lock
// p holds open (/proc/PID/fd).
func liveScratch(t *testing.T, p *serveProcess, dirs []string) string {
	t.Helper()
	fds, err := filepath.Glob("/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/fd/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		target, _ := os.Readlink(fd)
		for _, d := range dirs {
			if target == filepath.Join(d, ".lock") {
				return d
			}
		}
	}
	t.Fatalf("no scratch directory held by the live serve among %v", dirs)
	return ""
}

// openSession opens an interactive session (no command, no pty) on the SSH
// endpoint at addr and returns once its shell has answered a line. The
// session ends at cleanup.
func (c *sshClient) openSession(t *testing.T, addr string) (io.WriteCloser, io.Reader) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	session := c.command(ctx, t, addr, "")
	stdin, err := session.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := session.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := session.Start(); err != nil {
		t.Fatal(err)
	}
	// A failing test must not wait on a session that is still open.
	t.Cleanup(func() { stdin.Close(); cancel(); _ = session.Wait() })
	if _, err := io.WriteString(stdin, "echo in-session\n"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len("in-session"))
	if _, err := io.ReadFull(stdout, buf); err != nil || string(buf) != "in-session" {
		t.Fatalf("session: %q, %v", buf, err)
	}
	return stdin, stdout
}
