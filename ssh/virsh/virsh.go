// Package virsh is the virsh command offered over SSH: a libvirt client
// (go-libvirt) on a connection obtained from Env.Dial, printing what real
// virsh 9.0 prints. It owns the command table and output formats; it knows
// nothing about SSH or OpenStack.
package virsh

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
)

// Env is what one virsh invocation gets from the shell.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(name string) string
	// Dial opens a libvirt RPC connection (read-only for `virsh -r`).
	Dial func(ctx context.Context, readOnly bool) (net.Conn, error)
	// Scratch is the session's scratch dir: temp files of `virsh edit`, and
	// the only place `virsh define FILE` may read from.
	Scratch *os.Root
	// RunEditor runs `$EDITOR file` through the confined shell, allowing the
	// editor to rewrite file (scratch-relative) only; it returns the status.
	RunEditor func(ctx context.Context, editor, file string) int
}

// Run runs `virsh args...` and returns its exit status.
func Run(ctx context.Context, env Env, args []string) int {
	if env.Dial == nil {
		fmt.Fprintln(env.Stderr, "error: failed to connect to the hypervisor")
		fmt.Fprintln(env.Stderr, "error: no connection driver available")
		return 1
	}
	fmt.Fprintln(env.Stderr, "error: virsh over SSH is not available yet")
	return 1
}
