package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"quintupleo/internal/limit"
	"quintupleo/internal/testtool"
)

// sshFrom runs line over the real OpenSSH client with key, from the local
// address bind, and returns its output and exit status.
func sshFrom(t *testing.T, key, bind, addr, line string) (string, int) {
	t.Helper()
	_, port, _ := strings.Cut(addr, ":")
	ctx, cancel := context.WithTimeout(t.Context(), promptly)
	defer cancel()
	cmd := exec.CommandContext(ctx, testtool.Require(t, "ssh"), "-i", key, "-p", port, "-T", "-b", bind,
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
		"-o", "IdentitiesOnly=yes", "stack@127.0.0.1", line)
	out, errOut, code := testtool.Run(t, cmd)
	return out + errOut, code
}

// TestSSHFailedLoginsPenaliseTheSource logs in with a key that is not
// authorized, from 127.0.0.1, with the real OpenSSH client, as a key
// guesser does. Each failed login adds 5 s to the address's penalty
// (--ssh-auth-fail-penalty, OpenSSH's PerSourcePenalties authfail:5); at
// 15 s ahead (the fourth failure in quick succession) the address is
// refused at accept — the authorized key too, from
// there — until the penalty has run out, while a client from another
// address (127.0.0.2) logs in throughout. Before, the guesser could try
// without end, MaxStartups connections at a time.
func TestSSHFailedLoginsPenaliseTheSource(t *testing.T) {
	p, good := startDemoServe(t)
	var bad sshClient
	newSSHClient(t, &bad) // a key of its own, not in serve's authorized_keys
	const line = "virsh list --all --name"

	for i := range 4 {
		if out, code := sshFrom(t, bad.key, "127.0.0.1", p.sshAddr, line); code == 0 || !strings.Contains(out, "Permission denied (publickey)") {
			t.Fatalf("failed login %d: exit %d: %s", i+1, code, out)
		}
	}
	lockedAt := time.Now()
	out, code := sshFrom(t, good.key, "127.0.0.1", p.sshAddr, line)
	if code == 0 || strings.Contains(out, "node-0") {
		t.Errorf("the authorized key from the penalised address: exit %d: %s; want the connection refused", code, out)
	}
	if out, code := sshFrom(t, good.key, "127.0.0.2", p.sshAddr, line); code != 0 || !strings.Contains(out, "node-0") {
		t.Errorf("the authorized key from another address: exit %d: %s", code, out)
	}
	if !strings.Contains(p.logText(), "source address penalised for failed logins") {
		t.Error("no warning about the penalised address in the log")
	}
	// The penalty runs out about 20 s on; then the address is let in.
	for deadline := lockedAt.Add(30 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		out, code := sshFrom(t, good.key, "127.0.0.1", p.sshAddr, line)
		if code == 0 && strings.Contains(out, "node-0") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still refused 30 s after the last failed login: exit %d: %s", code, out)
		}
	}
	took := time.Since(lockedAt)
	t.Logf("127.0.0.1 let in again %v after its fourth failed login", took.Round(100*time.Millisecond))
	if took < 15*time.Second {
		t.Errorf("let in again after %v; the penalty is 20 s", took)
	}
}

// bannerProbe connects to addr from the local address from, reads the
// server's version line and closes, as a TCP health check or the first
// step of ssh-keyscan does. It reports whether a version line came: a
// penalised address is closed at accept without one.
func bannerProbe(t *testing.T, from, addr string) bool {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: promptly}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("probe from %s: %v", from, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(promptly))
	line, _ := bufio.NewReader(c).ReadString('\n')
	return strings.HasPrefix(line, "SSH-2.0-")
}

// TestSSHConnectionsThatNeverLogInPenaliseTheSource: OpenSSH 9.8's
// PerSourcePenalties noauth (--ssh-noauth-penalty, 1 s). A client that
// logs in with its key, runs virsh and disconnects — Ironic's ssh driver,
// hundreds of times a minute — is never penalised, however often: only a
// connection that ends before it authenticated adds to its address's
// penalty. One ssh-keyscan (a connection per host key type, each closed
// after the key exchange) costs its address a few seconds, below the 15 s
// threshold: the same address logs in right after. Banner probes from
// 127.0.0.2 in quick succession get that address refused at accept once
// more than 15 s of penalty is ahead (the 16th or a little later), while
// ssh from 127.0.0.1 is served throughout. Before, a connection that never
// tried to log in cost its address nothing.
func TestSSHConnectionsThatNeverLogInPenaliseTheSource(t *testing.T) {
	p, good := startDemoServe(t, "--listen-metrics", "127.0.0.1:0")
	base := logAddr(t, p, metricsListenerLog)
	const line = "virsh list --all --name"
	served := func(what string) {
		t.Helper()
		if out, code := sshFrom(t, good.key, "127.0.0.1", p.sshAddr, line); code != 0 || !strings.Contains(out, "node-0") {
			t.Fatalf("%s: ssh from 127.0.0.1: exit %d: %s", what, code, out)
		}
	}

	// The legitimate client, as Ironic: 25 logins in a row, each served.
	start := time.Now()
	for i := range 25 {
		served(fmt.Sprintf("login %d of 25", i+1))
	}
	t.Logf("25 logins running virsh from 127.0.0.1 in %v, none penalised", time.Since(start).Round(100*time.Millisecond))

	// ssh-keyscan from 127.0.0.1, then a login from there.
	_, port, _ := strings.Cut(p.sshAddr, ":")
	ctx, cancel := context.WithTimeout(t.Context(), promptly)
	defer cancel()
	keys, errOut, code := testtool.Run(t, exec.CommandContext(ctx, testtool.Require(t, "ssh-keyscan"), "-p", port, "127.0.0.1"))
	if code != 0 || !strings.Contains(keys, "ssh-ed25519") {
		t.Fatalf("ssh-keyscan: exit %d: %s%s", code, keys, errOut)
	}
	served("right after ssh-keyscan")

	// Banner probes from 127.0.0.2 until refused.
	probes := 0
	for deadline := time.Now().Add(30 * time.Second); bannerProbe(t, "127.0.0.2", p.sshAddr); probes++ {
		if time.Now().After(deadline) || probes > 200 {
			t.Fatalf("127.0.0.2 still served after %d banner probes", probes)
		}
	}
	t.Logf("127.0.0.2 refused after %d banner probes", probes)
	if probes < 16 {
		t.Errorf("refused after %d probes of 1 s each; the threshold is more than 15 s", probes)
	}
	// The warning is written after the connection is closed.
	waitFor(t, promptly, "the warning about the penalised address", func() bool {
		return strings.Contains(p.logText(), "source address penalised for connections that did not log in")
	})
	served("while 127.0.0.2 is refused")
	wantLimit(t, base, limit.SSHNoAuthPenalty, limit.Refused, 1)
	wantLimit(t, base, limit.SSHAuthPenalty, limit.Refused, 0)
	wantLimit(t, base, limit.SSHGracePenalty, limit.Refused, 0)
}
