package rpc_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"quintupleo/rpc"
)

var (
	pingPacket = []byte{0, 0, 0, 0x1c, 0x6b, 0x65, 0x65, 0x70, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0}
	pongPacket = []byte{0, 0, 0, 0x1c, 0x6b, 0x65, 0x65, 0x70, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0}
)

// startKeepalive asks for the keepalive feature, as every virsh does first.
func startKeepalive(t *testing.T, c net.Conn) {
	exchange(t, c, "SUPPORTS_FEATURE(10)",
		fixture(t, "00000020 20008086 00000001 0000003c 00000000 00000001 00000000 0000000a"),
		fixture(t, "00000020 20008086 00000001 0000003c 00000001 00000001 00000000 00000001"))
}

func TestKeepaliveDropsDeadPeer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := rpc.NewServer(drivers(newFakeDomains()), rpc.WithKeepalive(5*time.Second, 5))
		defer srv.Close()
		cli, s := net.Pipe()
		done := make(chan error, 1)
		go func() { done <- srv.ServeConn(t.Context(), s, rpc.Policy{}) }()

		start := time.Now()
		startKeepalive(t, cli)
		// Silence: a PING after each 5 s interval, five of them…
		for i := range 5 {
			if got := readPacket(t, cli); !bytes.Equal(got, pingPacket) {
				t.Fatalf("packet %d: %x, want PING", i, got)
			}
			if d := time.Since(start); d != time.Duration(i+1)*5*time.Second {
				t.Errorf("PING %d at %v", i, d)
			}
		}
		// …then the peer is dropped.
		if n, err := io.ReadAll(cli); err != nil || len(n) != 0 {
			t.Errorf("after 5 unanswered PINGs: %x %v, want EOF", n, err)
		}
		if err := <-done; !errors.Is(err, rpc.ErrKeepaliveTimeout) {
			t.Errorf("ServeConn = %v, want ErrKeepaliveTimeout", err)
		}
	})
}

func TestKeepaliveAnsweredPeerStays(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := rpc.NewServer(drivers(newFakeDomains()), rpc.WithKeepalive(5*time.Second, 2))
		defer srv.Close()
		cli, s := net.Pipe()
		done := make(chan error, 1)
		go func() { done <- srv.ServeConn(t.Context(), s, rpc.Policy{}) }()

		startKeepalive(t, cli)
		for i := range 10 {
			if got := readPacket(t, cli); !bytes.Equal(got, pingPacket) {
				t.Fatalf("packet %d: %x, want PING", i, got)
			}
			if _, err := cli.Write(pongPacket); err != nil {
				t.Fatal(err)
			}
		}
		// Still served after 50 s of answered PINGs; our PING is answered too.
		exchange(t, cli, "PING", pingPacket, pongPacket)
		cli.Close()
		if err := <-done; err != nil {
			t.Errorf("ServeConn = %v", err)
		}
	})
}

func TestNoKeepaliveWithoutFeature(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := rpc.NewServer(drivers(newFakeDomains()), rpc.WithKeepalive(5*time.Second, 1))
		defer srv.Close()
		cli, s := net.Pipe()
		done := make(chan error, 1)
		go func() { done <- srv.ServeConn(t.Context(), s, rpc.Policy{}) }()

		// A client that never asked for keepalive is not PINGed or dropped.
		<-time.After(time.Minute) // fake time inside the bubble
		synctest.Wait()
		exchange(t, cli, "AUTH_LIST",
			fixture(t, "0000001c 20008086 00000001 00000042 00000000 00000000 00000000"),
			fixture(t, "00000024 20008086 00000001 00000042 00000001 00000000 00000000 00000001 00000000"))
		cli.Close()
		<-done
	})
}
