package rpc

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"time"

	"quintupleo/internal/acceptloop"
)

// Defaults of the limits on accepted connections (docs/limits.md).
const (
	// LibvirtdMaxClients is libvirtd's max_clients default, the cap
	// DefaultMaxClients starts from.
	LibvirtdMaxClients = 5000
	// DefaultMaxAnonymousClients is larger than libvirtd's 20 because a full
	// cap evicts rather than stalls: it is the number of newer connections
	// a flood must open before it pushes out a client that is opening, and
	// it leaves room for clients that connect in bursts (qbench dials 32 at
	// a time).
	DefaultMaxAnonymousClients = 200
	// DefaultOpenTimeout: libvirt clients open within milliseconds; ten
	// seconds covers a machine too loaded to schedule them.
	DefaultOpenTimeout = 10 * time.Second
	// DefaultHandshakeTimeout bounds a TLS handshake: a client that means
	// to connect completes it in milliseconds, and one that stalls holds a
	// descriptor and an unopened slot.
	DefaultHandshakeTimeout = 10 * time.Second
)

// DefaultMaxClients returns the connection cap to use when none is given
// and the open-file limit it was derived from (0 if unknown): libvirtd's
// 5000, lowered so that a quarter of RLIMIT_NOFILE, and at least 64
// descriptors, stay free for what else the process holds (acceptloop.FDCap,
// which the SSH endpoint's cap comes from too).
func DefaultMaxClients() (clients int, nofile uint64) { return acceptloop.FDCap(LibvirtdMaxClients) }

// fdBudget is what an open-file limit of nofile leaves to libvirt
// connections after the reserve.
func fdBudget(nofile uint64) int { return acceptloop.FDBudget(nofile) }

// ListenTCP listens on addr ("host:port"). Plain TCP has no authentication
// or encryption, so unless allowNonLoopback is set the host must be a
// loopback address or "localhost" (an empty host, meaning every interface,
// is refused too).
func ListenTCP(addr string, allowNonLoopback bool) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("rpc: listen tcp %q: %w", addr, err)
	}
	if !allowNonLoopback && !isLoopbackHost(host) {
		return nil, fmt.Errorf("rpc: listen tcp %q: refusing a non-loopback address for unauthenticated, unencrypted TCP", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("rpc: %w", err)
	}
	return ln, nil
}

// ListenTLS listens on addr ("host:port"; libvirt's port is 16514) for
// qemu+tls:// clients. Any address is allowed: unlike plain TCP, every client
// proves who it is with a certificate the CA signed. Accept returns
// connections whose handshake has not begun; serve them under the Policy of
// the TLSAccess the config was made with, which completes it under the
// handshake deadline, after admission has counted the connection.
func ListenTLS(addr string, cfg *tls.Config) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("rpc: %w", err)
	}
	return tls.NewListener(ln, cfg), nil
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ListenUnix listens on a unix socket at path with the given permissions
// (0660 for the read-write socket, 0666 for the read-only one, as libvirtd).
// A stale socket file left by a dead server is removed; a live one (someone
// accepts connections on it) or any other kind of file is an error.
func ListenUnix(path string, mode fs.FileMode) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("rpc: listen unix %s: exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("rpc: listen unix %s: already in use", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("rpc: removing stale socket: %w", err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("rpc: listen unix %s: %w", path, err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("rpc: %w", err)
	}
	if err := os.Chmod(path, mode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("rpc: chmod %s: %w", path, err)
	}
	return ln, nil
}
