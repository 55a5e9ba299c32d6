package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"quintupleo/internal/testtool"
)

// TestEveryListenerOpensOnlyWhenReady starts the real binary on first start
// (a fresh state directory: the SSH host keys, RSA 3072 among them, are yet
// to be generated) with both a libvirt TCP port and an SSH port, as a
// deployment's health check would: poll the TCP port, and use SSH as soon as
// TCP accepts. serve used to open the TCP port before generating the host
// keys and opening SSH, so that login was refused on every first start.
func TestEveryListenerOpensOnlyWhenReady(t *testing.T) {
	testtool.Require(t, "ssh")
	var client sshClient
	var keys serveConfig
	withSSH(t, &client)(nil, &keys)
	// The client must know the ports before serve says anything; they are
	// picked free just before (the best a fixed-port client can have).
	tcpAddr, sshAddr := testtool.FreeAddr(t), testtool.FreeAddr(t)
	p, _ := launchServeProcess(t, testtool.BuildQuintupleo(t), "serve", "--demo", "--state-dir", t.TempDir(),
		"--listen-tcp", tcpAddr, "--listen-ssh", sshAddr, "--ssh-authorized-keys", keys.sshAuthKeys)

	waitAccepts(t, tcpAddr)
	ctx, cancel := context.WithTimeout(t.Context(), promptly)
	defer cancel()
	p.mustListAll(t, ctx, "virsh over ssh once TCP accepts", client.command(ctx, t, sshAddr, "virsh list --all"), time.Now())

	// The log says ready once, after every listener, naming each address.
	waitFor(t, promptly, "the ready line", func() bool { return strings.Contains(p.logText(), "msg=ready") })
	log := p.logText()
	if n := strings.Count(log, "msg=ready"); n != 1 {
		t.Errorf("ready logged %d times, want once", n)
	}
	ready := strings.Index(log, "msg=ready")
	for _, l := range []string{`msg="libvirt TCP listener" addr=` + tcpAddr, `msg="SSH endpoint" addr=` + sshAddr} {
		if i := strings.Index(log, l); i < 0 || i > ready {
			t.Errorf("%s is not logged before ready", l)
		}
	}
	line, _, _ := strings.Cut(log[ready:], "\n")
	for _, want := range []string{"libvirt_tcp=" + tcpAddr, "ssh=" + sshAddr} {
		if !strings.Contains(line, want) {
			t.Errorf("ready line %q does not say %s", line, want)
		}
	}
}

// waitAccepts polls addr, as a client waiting for a service does, until a
// TCP connection to it succeeds.
func waitAccepts(t *testing.T, addr string) {
	t.Helper()
	waitFor(t, 60*time.Second, addr+" to accept", func() bool {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
}

// TestPortConflictFailsStartUpWithNothingServed takes the SSH port before
// serve starts: start-up fails naming it, and the libvirt TCP port, bound
// just before, is closed again instead of served by a half-started stack.
func TestPortConflictFailsStartUpWithNothingServed(t *testing.T) {
	var client sshClient
	cfg := serveConfig{cloudFlags: cloudFlags{demo: true, demoNodes: 1, cloudTimeout: time.Second},
		refresh: time.Second, actionTimeout: time.Second, refreshTimeout: time.Second, bootFlags: bootFlags{bootStrategy: "metadata"}}
	withSSH(t, &client)(nil, &cfg)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg.listenTCP, cfg.listenSSH = testtool.FreeAddr(t), taken.Addr().String()

	_, err = newStack(t.Context(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), "ssh listener") || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("start-up with the SSH port taken: %v", err)
	}
	if c, err := net.Dial("tcp", cfg.listenTCP); err == nil {
		c.Close()
		t.Errorf("the libvirt TCP port %s still accepts after the failed start-up", cfg.listenTCP)
	}
}
