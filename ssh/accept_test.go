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
