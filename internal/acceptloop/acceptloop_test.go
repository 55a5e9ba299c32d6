package acceptloop

import (
	"context"
	"errors"
	"net"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

// fakeListener hands out what accepts holds, one per Accept, then fails
// with err forever; Close makes Accept fail with net.ErrClosed.
type fakeListener struct {
	mu      sync.Mutex
	accepts []error // nil: a connection
	err     error
	closed  bool
	calls   int
}

func (l *fakeListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	switch {
	case l.closed:
		return nil, net.ErrClosed
	case len(l.accepts) > 0:
		err := l.accepts[0]
		l.accepts = l.accepts[1:]
		if err == nil {
			a, b := net.Pipe()
			b.Close()
			return a, nil
		}
		return nil, err
	}
	return nil, l.err
}

func (l *fakeListener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	return nil
}

func (l *fakeListener) Addr() net.Addr { return &net.TCPAddr{} }

func emfile() error { return &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE} }

var errClosed = errors.New("server closed")

// TestBackoffEndsWithContext: a listener failing with a temporary error is
// retried with a growing delay (capped at 1 s), and cancelling ctx ends the
// wait at once, not when the delay is over.
func TestBackoffEndsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ln := &fakeListener{err: emfile()}
		ctx, cancel := context.WithCancel(t.Context())
		var stopped bool
		done := make(chan error, 1)
		go func() {
			done <- Loop{
				Closed: func() error {
					if stopped {
						return errClosed
					}
					return nil
				},
				Handle: func(c net.Conn) error { return c.Close() },
			}.Run(ctx, ln)
		}()
		// 5+10+...+640 ms, then 1 s each: about 11 accepts in 5 s.
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if n := ln.calls; n < 8 || n > 14 {
			t.Errorf("%d accepts in 5 s of back-off", n)
		}
		start := time.Now()
		stopped = true
		cancel()
		if err := <-done; !errors.Is(err, errClosed) {
			t.Errorf("Run returned %v, want the server's closed error", err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("Run returned %v after ctx ended, want at once", d)
		}
	})
}

// TestFreeDescriptorRetriesAtOnce: when accept runs out of descriptors and
// the server frees one, the next Accept follows without back-off; when it
// cannot, the loop backs off. Connections reach Handle; a permanent error
// ends the loop.
func TestFreeDescriptorRetriesAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		permanent := errors.New("permanent")
		ln := &fakeListener{accepts: []error{nil, emfile(), nil, emfile(), nil}, err: permanent}
		frees, handled := 0, 0
		start := time.Now()
		err := Loop{
			FreeDescriptor: func() bool { frees++; return frees == 1 },
			Handle:         func(c net.Conn) error { handled++; return c.Close() },
		}.Run(t.Context(), ln)
		if !errors.Is(err, permanent) {
			t.Errorf("Run returned %v, want the permanent accept error", err)
		}
		if frees != 2 || handled != 3 {
			t.Errorf("FreeDescriptor called %d times, Handle %d; want 2 and 3", frees, handled)
		}
		// Only the second EMFILE, with nothing to free, backed off (5 ms).
		if d := time.Since(start); d != minDelay {
			t.Errorf("took %v, want one back-off of %v", d, minDelay)
		}
	})
}

// TestReadyAndHandleEndTheLoop: their errors are returned as they are.
func TestReadyAndHandleEndTheLoop(t *testing.T) {
	errReady, errHandle := errors.New("ready"), errors.New("handle")
	ln := &fakeListener{accepts: []error{nil}}
	if err := (Loop{Ready: func() error { return errReady }, Handle: func(net.Conn) error { return nil }}).Run(t.Context(), ln); err != errReady {
		t.Errorf("Run = %v, want Ready's error", err)
	}
	if err := (Loop{Handle: func(c net.Conn) error { c.Close(); return errHandle }}).Run(t.Context(), ln); err != errHandle {
		t.Errorf("Run = %v, want Handle's error", err)
	}
}

// TestFDBudget: a quarter of the limit, at least 64 descriptors, stays
// free (docs/limits.md's figures for 256 and the usual limits).
func TestFDBudget(t *testing.T) {
	for _, tt := range []struct {
		nofile uint64
		want   int
	}{{256, 192}, {100, 36}, {1024, 768}, {65536, 49152}} {
		if got := FDBudget(tt.nofile); got != tt.want {
			t.Errorf("FDBudget(%d) = %d, want %d", tt.nofile, got, tt.want)
		}
	}
	if n, nofile := FDCap(512); nofile != 0 && n != min(512, FDBudget(nofile)) || n < 1 {
		t.Errorf("FDCap(512) = %d at an open-file limit of %d", n, nofile)
	}
}
