package rpc_test

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"quintupleo/rpc"
)

// dialTCP connects to the server's loopback port; the connection is closed
// at cleanup.
func dialTCP(t *testing.T, port string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedByServer reports whether the server closed c within wait (a read
// ends in EOF or a reset) rather than leaving it open (the read times out).
func closedByServer(t *testing.T, c net.Conn, wait time.Duration) bool {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(wait))
	defer c.SetReadDeadline(time.Time{})
	var b [1]byte
	_, err := c.Read(b[:])
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	if err == nil {
		t.Fatal("unexpected data from the server")
	}
	return true
}

// settle gives the accept loop time to take what was dialled.
func settle() { time.Sleep(100 * time.Millisecond) }

// A full pre-open cap closes the oldest connection that has not opened,
// never an opened one, so a flood of idle connections cannot lock out a
// client that opens promptly.
func TestPreOpenCapEvictsOldestUnopened(t *testing.T) {
	srv := newServer(t, drivers(newFakeDomains()), rpc.WithMaxAnonymousClients(3))
	port := tcpServer(t, srv, nil)

	opened := dialTCP(t, port)
	openRaw(t, opened, false)
	idle := []net.Conn{dialTCP(t, port), dialTCP(t, port), dialTCP(t, port)}
	settle()
	fresh := dialTCP(t, port)
	if !closedByServer(t, idle[0], 2*time.Second) {
		t.Error("the oldest unopened connection was not closed for the new one")
	}
	for i, c := range idle[1:] {
		if closedByServer(t, c, 100*time.Millisecond) {
			t.Errorf("unopened connection %d closed; only the oldest should be", i+1)
		}
	}
	openRaw(t, fresh, false)
	exchange(t, opened, "PING on the opened connection", pingPacket, pongPacket)
}

// At max clients an unopened connection makes room; when every slot holds
// an opened one, a new client waits (in the backlog) until one leaves.
func TestMaxClientsWaitsForOpenedOnes(t *testing.T) {
	srv := newServer(t, drivers(newFakeDomains()), rpc.WithMaxClients(2))
	port := tcpServer(t, srv, nil)

	a := dialTCP(t, port)
	openRaw(t, a, false)
	idle := dialTCP(t, port)
	settle()
	b := dialTCP(t, port)
	if !closedByServer(t, idle, 2*time.Second) {
		t.Fatal("the unopened connection was not closed to admit a new one at max clients")
	}
	openRaw(t, b, false)

	waiting := dialTCP(t, port)
	if _, err := waiting.Write(pingPacket); err != nil {
		t.Fatal(err)
	}
	if closedByServer(t, waiting, 300*time.Millisecond) {
		t.Fatal("a client over max clients was closed instead of waiting")
	}
	a.Close()
	if got := readPacket(t, waiting); string(got) != string(pongPacket) {
		t.Errorf("the waiting client's PING got %x once a slot freed, want PONG", got)
	}
}

// A connection that does not complete CONNECT_OPEN within the open timeout
// is closed; an opened one is not.
func TestOpenTimeout(t *testing.T) {
	srv := newServer(t, drivers(newFakeDomains()), rpc.WithOpenTimeout(200*time.Millisecond))
	port := tcpServer(t, srv, nil)
	opened := dialTCP(t, port)
	openRaw(t, opened, false)
	idle := dialTCP(t, port)
	start := time.Now()
	if !closedByServer(t, idle, 3*time.Second) {
		t.Fatal("an idle connection outlived the open timeout")
	}
	if took := time.Since(start); took < 150*time.Millisecond {
		t.Errorf("idle connection closed after %v, before the 200ms open timeout", took)
	}
	exchange(t, opened, "PING on the opened connection after the timeout", pingPacket, pongPacket)
}
