package rpc_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"

	"quintupleo/rpc"
)

// A slow driver call blocks neither other connections nor PING/PONG on its
// own connection.
func TestSlowCallBlocksNobody(t *testing.T) {
	b := newFakeDomains()
	block, started := make(chan struct{}), make(chan struct{})
	b.block, b.started = block, started
	srv := newServer(t, drivers(b))

	c := pipe(t, srv, false)
	openRaw(t, c, false)
	// DOMAIN_CREATE node-1 (serial 2) hangs in the Domains driver.
	if _, err := c.Write(fixture(t, "0000003c 20008086 00000001 00000009 00000000 00000002 00000000",
		`00000006 "node-1" 0000 22222222222233334444555555555555 ffffffff`)); err != nil {
		t.Fatal(err)
	}
	<-started
	// Same connection: PING is answered and another call completes.
	exchange(t, c, "PING", pingPacket, pongPacket)
	exchange(t, c, "AUTH_LIST",
		fixture(t, "0000001c 20008086 00000001 00000042 00000000 00000003 00000000"),
		fixture(t, "00000024 20008086 00000001 00000042 00000001 00000003 00000000 00000001 00000000"))
	// Another connection is served.
	if _, err := goLibvirt(t, srv, false).ConnectGetType(); err != nil {
		t.Fatal(err)
	}
	close(block)
	if got, want := readPacket(t, c), fixture(t, "0000001c 20008086 00000001 00000009 00000001 00000002 00000000"); !bytes.Equal(got, want) {
		t.Errorf("DOMAIN_CREATE reply %x, want %x", got, want)
	}
}

// Shutdown lets a call in flight finish, then returns.
func TestShutdownWaitsForCallsInFlight(t *testing.T) {
	b := newFakeDomains()
	block, started := make(chan struct{}), make(chan struct{})
	b.block, b.started = block, started
	srv := newServer(t, drivers(b))
	c := pipe(t, srv, false)
	openRaw(t, c, false)
	if _, err := c.Write(fixture(t, "0000003c 20008086 00000001 00000009 00000000 00000002 00000000",
		`00000006 "node-1" 0000 22222222222233334444555555555555 ffffffff`)); err != nil {
		t.Fatal(err)
	}
	<-started
	idle := pipe(t, srv, false) // an idle connection is closed at once

	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(t.Context()) }()
	if _, err := idle.Read(make([]byte, 1)); err == nil {
		t.Errorf("idle connection still open during Shutdown")
	}
	close(block)
	if got := readPacket(t, c); got[27] != 0 {
		t.Errorf("in-flight call failed: %x", got)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown = %v", err)
	}
	late, _ := net.Pipe()
	if err := srv.ServeConn(t.Context(), late, rpc.Policy{}); !errors.Is(err, rpc.ErrServerClosed) {
		t.Errorf("ServeConn after Shutdown = %v", err)
	}
}

// Shutdown whose ctx ends first closes everything, cancelling the call.
func TestShutdownDeadlineForcesClose(t *testing.T) {
	b := newFakeDomains()
	block, started := make(chan struct{}), make(chan struct{})
	b.block, b.started = block, started
	defer close(block)
	srv := newServer(t, drivers(b))
	c := pipe(t, srv, false)
	openRaw(t, c, false)
	c.Write(fixture(t, "0000003c 20008086 00000001 00000009 00000000 00000002 00000000",
		`00000006 "node-1" 0000 22222222222233334444555555555555 ffffffff`))
	<-started
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := srv.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Shutdown = %v, want context.Canceled", err)
	}
}

func TestListenTCPRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{":0", "0.0.0.0:0", "[::]:0", "192.0.2.1:0", "example.com:0"} {
		if ln, err := rpc.ListenTCP(addr, false); err == nil {
			ln.Close()
			t.Errorf("ListenTCP(%q) allowed", addr)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "localhost:0"} {
		ln, err := rpc.ListenTCP(addr, false)
		if err != nil {
			t.Errorf("ListenTCP(%q): %v", addr, err)
			continue
		}
		ln.Close()
	}
	ln, err := rpc.ListenTCP("0.0.0.0:0", true)
	if err != nil {
		t.Fatalf("ListenTCP with allowNonLoopback: %v", err)
	}
	ln.Close()
}

func TestListenUnix(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "libvirt-sock")

	ln, err := rpc.ListenUnix(path, 0o660)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o660 {
		t.Errorf("mode %v, %v", fi.Mode(), err)
	}
	// A live socket is not stolen.
	if ln2, err := rpc.ListenUnix(path, 0o660); err == nil {
		ln2.Close()
		t.Errorf("second listener on a live socket")
	}
	// Serve read-only on it, as the -ro socket: changes are refused.
	srv := newServer(t, drivers(newFakeDomains()))
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln, rpc.Policy{ReadOnly: true}) }()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	openRaw(t, c, false) // asks read-write; the listener forces read-only
	if _, err := c.Write(fixture(t, "0000003c 20008086 00000001 00000009 00000000 00000002 00000000",
		`00000006 "node-1" 0000 22222222222233334444555555555555 ffffffff`)); err != nil {
		t.Fatal(err)
	}
	if got := readPacket(t, c); got[27] != 1 || !bytes.Contains(got, []byte("read only access prevents virDomainCreate")) {
		t.Errorf("create on the read-only socket: %x", got)
	}
	srv.Close()
	if err := <-done; !errors.Is(err, rpc.ErrServerClosed) {
		t.Errorf("Serve read-only = %v", err)
	}

	// A stale socket file (no listener) is replaced; other files are not.
	ln3, err := rpc.ListenUnix(path, 0o666)
	if err != nil {
		t.Fatalf("stale socket: %v", err)
	}
	ln3.Close()
	plain := filepath.Join(dir, "plain")
	os.WriteFile(plain, nil, 0o600)
	if ln4, err := rpc.ListenUnix(plain, 0o666); err == nil {
		ln4.Close()
		t.Errorf("ListenUnix replaced a regular file")
	}
}
