package rpc

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"time"
)

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
