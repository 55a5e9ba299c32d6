package rpc_test

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"quintupleo/rpc"
)

// call frames one REMOTE program CALL the way a client would.
func call(proc, serial uint32, body []byte) []byte {
	b := make([]byte, 28, 28+len(body))
	binary.BigEndian.PutUint32(b[0:], uint32(28+len(body)))
	binary.BigEndian.PutUint32(b[4:], rpc.RemoteProgram)
	binary.BigEndian.PutUint32(b[8:], rpc.RemoteVersion)
	binary.BigEndian.PutUint32(b[12:], proc)
	binary.BigEndian.PutUint32(b[16:], 0) // CALL
	binary.BigEndian.PutUint32(b[20:], serial)
	binary.BigEndian.PutUint32(b[24:], 0) // OK
	return append(b, body...)
}

// FuzzServeConn feeds arbitrary bytes to a server, after a valid open (so
// the fuzzer reaches the domain handlers too): it must answer or close,
// never panic or hang, and keep serving other connections.
func FuzzServeConn(f *testing.F) {
	open := append(call(66, 0, nil), call(1, 1, []byte{0, 0, 0, 1, 0, 0, 0, 15, 'q', 'e', 'm', 'u', ':', '/', '/', '/', 's', 'y', 's', 't', 'e', 'm', 0, 0, 0, 0, 0, 0})...)
	f.Add([]byte{})
	f.Add(call(273, 2, []byte{0, 0, 0, 1, 0, 0, 0, 3}))                        // LIST_ALL_DOMAINS
	f.Add(call(23, 2, []byte{0, 0, 0, 6, 'n', 'o', 'd', 'e', '-', '1', 0, 0})) // LOOKUP_BY_NAME
	f.Add(call(9999, 2, nil))                                                  // unknown procedure
	f.Add([]byte{0, 0, 0, 4})                                                  // length below the header
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})                                      // length beyond the cap
	f.Add(call(14, 2, []byte{0x7f, 0xff, 0xff, 0xff}))                         // GET_XML_DESC, forged string length

	srv := rpc.NewServer(drivers(newFakeDomains()), rpc.WithKeepalive(0, 0))
	f.Cleanup(func() { srv.Close() })

	f.Fuzz(func(t *testing.T, data []byte) {
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			srv.ServeConn(context.Background(), server, rpc.Policy{})
		}()
		// Drain replies so the server never blocks on a full pipe.
		go io.Copy(io.Discard, client)
		client.SetWriteDeadline(time.Now().Add(5 * time.Second))
		client.Write(open)
		client.Write(data)
		client.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("ServeConn did not return after the client closed (input %x)", data)
		}
	})
}
