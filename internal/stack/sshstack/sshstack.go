// Package sshstack is the SSH endpoint's builder for a stack.Stack (see
// package stack). It is a package of its own because ssh's tests import
// stacktest, which imports stack: stack itself must not import ssh.
package sshstack

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"quintupleo/internal/stack"
	qssh "quintupleo/ssh"
)

// Endpoint is the SSH front end of a stack.
type Endpoint struct {
	Server *qssh.Server
	*stack.Listener
}

// Add builds the SSH server (generating its host keys on first start: the
// slow part, which is why nothing listens before every part is built) and
// registers its listener on addr and its shutdown. cfg.Dialer gives its
// virsh and qemu+ssh bridge their libvirt connections (stack.Libvirt.Dial).
func Add(st *stack.Stack, addr string, cfg qssh.Config) (*Endpoint, error) {
	if err := os.MkdirAll(filepath.Dir(cfg.HostKeyFile), 0o700); err != nil {
		return nil, fmt.Errorf("ssh host key directory: %w", err)
	}
	srv, err := qssh.NewServer(cfg)
	if err != nil {
		return nil, err
	}
	ep := &Endpoint{Server: srv}
	ep.Listener = st.Listen(stack.ListenSpec{
		What:  "SSH endpoint",
		Key:   "ssh",
		Attrs: []any{"host_key", cfg.HostKeyFile},
		Listen: func() (net.Listener, error) {
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return nil, fmt.Errorf("ssh listener: %w", err)
			}
			return ln, nil
		},
		Serve: func(ln net.Listener) error {
			if err := srv.Serve(ln); !errors.Is(err, qssh.ErrServerClosed) {
				return err
			}
			return nil
		},
	})
	st.OnShutdown("ssh", srv.Shutdown)
	return ep, nil
}
