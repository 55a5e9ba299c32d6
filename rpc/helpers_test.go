package rpc_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"

	"quintupleo/internal/testtool"
	"quintupleo/rpc"
)

// testLogger logs through t, so failures show the server's view.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// newServer returns a server over d, closed at cleanup; it checks that no
// goroutine of the server outlives it.
func newServer(t *testing.T, d rpc.Drivers, opts ...rpc.Option) *rpc.Server {
	t.Helper()
	testtool.CheckGoroutines(t, "quintupleo/rpc")
	srv := rpc.NewServer(d, append([]rpc.Option{rpc.WithLogger(testLogger(t))}, opts...)...)
	t.Cleanup(func() { srv.Close() })
	return srv
}

// pipe serves one end of a net.Pipe with ServeConn (read-only if asked)
// and returns the other end. The serving goroutine is waited for at cleanup.
func pipe(t *testing.T, srv *rpc.Server, readOnly bool) net.Conn {
	t.Helper()
	cli, s := net.Pipe()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.ServeConn(t.Context(), s, rpc.Policy{ReadOnly: readOnly}); err != nil && !errors.Is(err, rpc.ErrServerClosed) && !errors.Is(err, context.Canceled) {
			t.Logf("ServeConn: %v", err)
		}
	}()
	t.Cleanup(func() {
		cli.Close()
		wg.Wait()
	})
	return cli
}

// goLibvirt connects the real go-libvirt client through ServeConn.
func goLibvirt(t *testing.T, srv *rpc.Server, readOnly bool) *libvirt.Libvirt {
	t.Helper()
	l := libvirt.NewWithDialer(dialers.NewAlreadyConnected(pipe(t, srv, readOnly)))
	if err := l.ConnectToURI(libvirt.QEMUSystem); err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { l.Disconnect() })
	return l
}

// tcpServer serves srv on a loopback :0 listener (optionally recording what
// clients send) and returns its port.
func tcpServer(t *testing.T, srv *rpc.Server, rec *recorder) string {
	t.Helper()
	return tcpServerPolicy(t, srv, rec, rpc.Policy{})
}

// tcpServerPolicy is tcpServer with the listener under policy p.
func tcpServerPolicy(t *testing.T, srv *rpc.Server, rec *recorder, p rpc.Policy) string {
	t.Helper()
	ln, err := rpc.ListenTCP("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	var l net.Listener = ln
	if rec != nil {
		l = &recordingListener{Listener: ln, rec: rec}
	}
	return serveOn(t, srv, l, p)
}

// serveOn serves srv on ln under p until cleanup and returns ln's port.
func serveOn(t *testing.T, srv *rpc.Server, ln net.Listener, p rpc.Policy) string {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln, p) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, rpc.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// recorder keeps every byte clients send, to decode the procedure sequence.
type recorder struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

type recordingListener struct {
	net.Listener
	rec *recorder
}

func (l *recordingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &recordingConn{Conn: c, rec: l.rec}, nil
}

type recordingConn struct {
	net.Conn
	rec *recorder
}

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.rec.mu.Lock()
	c.rec.buf.Write(p[:n])
	c.rec.mu.Unlock()
	return n, err
}

// calls returns the REMOTE procedure numbers of the CALLs recorded so far
// (keepalive messages left out), and resets the recorder.
func (r *recorder) calls(t *testing.T) []uint32 {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []uint32
	b := r.buf.Bytes()
	for len(b) > 0 {
		if len(b) < 28 {
			t.Fatalf("recorded stream ends inside a header")
		}
		n := binary.BigEndian.Uint32(b)
		prog, proc, typ := binary.BigEndian.Uint32(b[4:]), binary.BigEndian.Uint32(b[12:]), binary.BigEndian.Uint32(b[16:])
		if prog == rpc.RemoteProgram && typ == rpc.TypeCall {
			out = append(out, proc)
		}
		b = b[n:]
	}
	r.buf.Reset()
	return out
}
