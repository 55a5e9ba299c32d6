package main

import (
	"context"
	"io"
	"net"
	"path/filepath"
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
	tcpAddr, sshAddr, rfAddr := freePort(t), freePort(t), freePort(t)
	rw, ro := filepath.Join(dir, "rw.sock"), filepath.Join(dir, "ro.sock")
	p, _ := launchServeProcess(t, testtool.BuildQuintupleo(t), "serve", "--demo", "--state-dir", dir,
		"--listen-tcp", tcpAddr, "--listen-unix", rw, "--read-only-unix", ro,
		"--listen-redfish", rfAddr, "--redfish-http", "--redfish-auth-file", auth,
		"--listen-ssh", sshAddr, "--ssh-authorized-keys", keys.sshAuthKeys, "--ssh-host-key", keys.sshHostKey)
	waitFor(t, 60*time.Second, "ready", func() bool { return strings.Contains(p.logText(), "msg=ready") })

	// An interactive session, idle at its prompt: the SSH part drains it.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	session := client.command(ctx, t, sshAddr, "")
	stdin, err := session.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := session.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := session.Start(); err != nil {
		t.Fatal(err)
	}
	defer session.Wait()
	if _, err := io.WriteString(stdin, "echo in-session\n"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len("in-session"))
	if _, err := io.ReadFull(stdout, buf); err != nil || string(buf) != "in-session" {
		t.Fatalf("session: %q, %v", buf, err)
	}

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
