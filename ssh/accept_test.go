package ssh

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"quintupleo/internal/testtool"
)

// emfileListener fails every Accept with EMFILE, as a listener does when
// the process has no descriptor left, until it is closed.
type emfileListener struct {
	mu     sync.Mutex
	closed bool
}

func (l *emfileListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, net.ErrClosed
	}
	return nil, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
}

func (l *emfileListener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	return nil
}

func (l *emfileListener) Addr() net.Addr { return &net.TCPAddr{} }

// TestCloseEndsAcceptBackoff: Serve backing off from a failing accept (the
// delay has grown to 1 s) returns as soon as Close does, not when the
// delay is over.
func TestCloseEndsAcceptBackoff(t *testing.T) {
	dir := t.TempDir()
	keys := testKeys(t)
	signer, _ := writeClientKey(t, dir, "id_ed25519", keys.ed)
	cfg := Config{
		HostKeyFile:        filepath.Join(dir, "host_key"),
		AuthorizedKeysFile: filepath.Join(dir, "authorized_keys"),
		ScratchDir:         t.TempDir(),
	}
	if err := os.WriteFile(cfg.HostKeyFile, keys.host, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg.AuthorizedKeysFile, gossh.MarshalAuthorizedKey(signer.PublicKey()), 0o600); err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		srv, err := NewServer(cfg)
		if err != nil {
			t.Fatal(err)
		}
		served := make(chan error, 1)
		go func() { served <- srv.Serve(&emfileListener{}) }()
		time.Sleep(5 * time.Second) // fake time: the back-off is at its 1 s cap
		synctest.Wait()
		start := time.Now()
		_ = srv.Close()
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("Serve returned %v after Close, want at once", d)
		}
	})
}

// TestMaxStartupsEvictsOldest: with MaxStartups unauthenticated
// connections open and idle, each new connection closes the oldest of
// them, so a client that logs in is served; the newest idle ones stay.
func TestMaxStartupsEvictsOldest(t *testing.T) {
	testtool.CheckGoroutines(t, "quintupleo/ssh")
	ts := newTestServer(t, func(c *Config) { c.MaxStartups = 3 })
	var idle []net.Conn
	for range 5 {
		c, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		idle = append(idle, c)
	}
	c := ts.dial(t, "stack", ts.signer, nil)
	if out, _, _ := run(t, c, "echo in", ""); out != "in\n" {
		t.Errorf("the client logging in after the idle connections: %q", out)
	}
	for i, conn := range idle {
		wantClosed := i < 3 // two pushed out by idle connections, one by the client
		if closed := readsToEOF(conn, time.Second); closed != wantClosed {
			t.Errorf("idle connection %d: closed by the server %v, want %v", i, closed, wantClosed)
		}
	}
}

// readsToEOF reports whether the peer closes c within d (what it sends
// before, the server's version line, is discarded).
func readsToEOF(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 256)
	for {
		if _, err := c.Read(buf); err != nil {
			var ne net.Error
			return !(errors.As(err, &ne) && ne.Timeout())
		}
	}
}
