package main

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

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
