// Package acceptloop is the one accept loop of quintupleo's listeners (the
// libvirt RPC server's and the SSH endpoint's) and the descriptor budget the
// connections they accept live in. Temporary accept errors back off from
// 5 ms to 1 s, as net/http's Server.Serve does, and the back-off ends at
// once when the server closes; when accept fails for want of a descriptor,
// the server is first asked to free one (it closes a connection that has
// not yet authenticated or opened), so a flood of idle connections cannot
// stop a listener for good.
package acceptloop

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"syscall"
	"time"
)

// Loop is what one server brings to the accept loop. Handle is required;
// the other hooks may be nil.
type Loop struct {
	// Name prefixes the log messages ("rpc", "ssh").
	Name string
	Log  *slog.Logger
	// Closed returns the server's "closed" error once it is shutting down
	// (nil before). An accept error is then the listener being closed, and
	// Run returns that error.
	Closed func() error
	// Ready, before each Accept, blocks until the server could take one
	// more connection; an error ends the loop and is returned.
	Ready func() error
	// FreeDescriptor is called when Accept fails with EMFILE or ENFILE. It
	// reports whether it closed a connection to free a descriptor; if so,
	// Accept is retried at once instead of backing off.
	FreeDescriptor func() bool
	// Handle takes each accepted connection; an error ends the loop and is
	// returned (Handle then owns the connection's closing).
	Handle func(net.Conn) error
}

// Back-off bounds of net/http's accept loop.
const (
	minDelay = 5 * time.Millisecond
	maxDelay = time.Second
)

// Run accepts from ln until an error that is not temporary (returned as
// Accept gave it), the server closes (Closed's error), or ctx ends while
// backing off (Closed's error if set, else ctx's). It does not close ln.
func (l Loop) Run(ctx context.Context, ln net.Listener) error {
	var delay time.Duration
	for {
		if l.Ready != nil {
			if err := l.Ready(); err != nil {
				return err
			}
		}
		nc, err := ln.Accept()
		if err == nil {
			delay = 0
			if err := l.Handle(nc); err != nil {
				return err
			}
			continue
		}
		if cerr := l.closed(); cerr != nil {
			return cerr
		}
		if IsFDExhausted(err) && l.FreeDescriptor != nil && l.FreeDescriptor() {
			continue
		}
		if !isTemporary(err) {
			return err
		}
		delay = min(max(2*delay, minDelay), maxDelay)
		if l.Log != nil {
			l.Log.Warn(l.Name+": accept failed; retrying", "err", err, "delay", delay)
		}
		if err := sleep(ctx, delay); err != nil {
			if cerr := l.closed(); cerr != nil {
				return cerr
			}
			return err
		}
	}
}

func (l Loop) closed() error {
	if l.Closed == nil {
		return nil
	}
	return l.Closed()
}

// sleep waits d or until ctx ends (then it returns ctx's error).
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// isTemporary reports an accept error worth retrying: a timeout, or one the
// runtime calls temporary (EMFILE, ENFILE, ECONNABORTED, ...).
func isTemporary(err error) bool {
	var t interface {
		Temporary() bool
		Timeout() bool
	}
	return errors.As(err, &t) && (t.Temporary() || t.Timeout())
}

// IsFDExhausted reports an accept that failed for want of a descriptor.
func IsFDExhausted(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}
