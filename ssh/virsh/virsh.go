// Package virsh is the virsh command offered over SSH: a libvirt client
// (go-libvirt) on a connection obtained from Env.Dial, printing what real
// virsh 9.0 prints, byte for byte, for the sub-commands it offers. It owns
// the command table, virsh's option parsing and the output formats; it knows
// nothing about SSH or OpenStack, and libvirt semantics (states, errors,
// XML) come from the server unchanged.
package virsh

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

	"github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"
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

// Version is the libvirt version this virsh claims to be built against.
const Version = "9.0.0"

// defaultURI is what virsh on a libvirt host connects to without -c.
const defaultURI = "qemu:///system"

// vsh is one invocation's state (virsh's vshControl).
type vsh struct {
	ctx      context.Context
	env      Env
	uri      string
	readOnly bool
	quiet    bool
	l        *libvirt.Libvirt
	conn     net.Conn
}

// errFailed reports a command failure whose messages were already printed.
var errFailed = errors.New("virsh: command failed")

// Run runs `virsh args...` and returns its exit status.
func Run(ctx context.Context, env Env, args []string) int {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	v := &vsh{ctx: ctx, env: env, uri: defaultURI}
	if u := env.Getenv("VIRSH_DEFAULT_CONNECT_URI"); u != "" {
		v.uri = u
	} else if u := env.Getenv("LIBVIRT_DEFAULT_URI"); u != "" {
		v.uri = u
	}
	rest, status, done := v.globalOptions(args)
	if done {
		return status
	}
	if len(rest) == 0 {
		v.errorf("interactive virsh is not available here; give a command, e.g. virsh list --all")
		return 1
	}
	name := rest[0]
	def := cmp.Or(commandTable[name], storageCommands[name])
	if def == nil {
		v.errorf("unknown command: '%s'", name)
		return 1
	}
	c, err := def.parse(rest[1:])
	if err != nil {
		v.errorf("%v", err)
		return 1
	}
	if err := v.connect(); err != nil {
		v.errorf("failed to connect to the hypervisor")
		v.libvirtError(err)
		return 1
	}
	defer v.disconnect()
	if err = def.checkExclusive(c); err != nil {
		v.errorf("%v", err)
		err = errFailed
	} else {
		err = def.run(v, c)
	}
	v.extra("\n")
	if err != nil {
		if !errors.Is(err, errFailed) {
			v.libvirtError(err)
		}
		return 1
	}
	return 0
}

// globalOptions parses virsh's options before the command name.
func (v *vsh) globalOptions(args []string) (rest []string, status int, done bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		value := func(opt string) (string, bool) {
			if k, val, ok := strings.Cut(a, "="); ok && strings.HasPrefix(k, "--") {
				return val, true
			}
			if len(a) > 2 && a[0] == '-' && a[1] != '-' {
				return a[2:], true
			}
			if i+1 >= len(args) {
				v.errorf("option requires an argument -- '%s'", opt)
				return "", false
			}
			i++
			return args[i], true
		}
		switch {
		case a == "--":
			return args[i+1:], 0, false
		case a == "-c" || a == "--connect" || strings.HasPrefix(a, "--connect=") || strings.HasPrefix(a, "-c") && len(a) > 2:
			u, ok := value("c")
			if !ok {
				return nil, 1, true
			}
			v.uri = u
		case a == "-r" || a == "--readonly":
			v.readOnly = true
		case a == "-q" || a == "--quiet":
			v.quiet = true
		case a == "-t" || a == "--timing":
		case a == "-k" || a == "-K" || a == "-d" || a == "-e" || strings.HasPrefix(a, "--keepalive-") || a == "--debug" || a == "--escape" ||
			strings.HasPrefix(a, "--debug=") || strings.HasPrefix(a, "--escape=") || len(a) > 2 && (a[:2] == "-k" || a[:2] == "-K" || a[:2] == "-d" || a[:2] == "-e"):
			if _, ok := value(a[1:2]); !ok {
				return nil, 1, true
			}
		case a == "-v" || a == "--version" || a == "-V":
			fmt.Fprintln(v.env.Stdout, Version)
			return nil, 0, true
		case a == "-h" || a == "--help":
			fmt.Fprintln(v.env.Stdout, "virsh [options]... [<command_string>]\nvirsh [options]... <command> [args...]")
			return nil, 0, true
		case a == "-l" || a == "--log" || strings.HasPrefix(a, "--log="):
			v.errorf("option %s is not permitted here", a)
			return nil, 1, true
		case len(a) > 1 && a[0] == '-' && a[1] != '-' && strings.Trim(a[1:], "rqt") == "":
			// combined flags such as -rq
			v.readOnly = v.readOnly || strings.Contains(a, "r")
			v.quiet = v.quiet || strings.Contains(a, "q")
		case strings.HasPrefix(a, "-"):
			v.errorf("unsupported option '%s'. See --help.", a)
			return nil, 1, true
		default:
			return args[i:], 0, false
		}
	}
	return nil, 0, false
}

func (v *vsh) connect() error {
	if v.env.Dial == nil {
		return errors.New("no connection driver available")
	}
	if !acceptedURI(v.uri) {
		return fmt.Errorf("no connection driver available for %s", v.uri)
	}
	conn, err := v.env.Dial(v.ctx, v.readOnly)
	if err != nil {
		return fmt.Errorf("Failed to connect socket: %w", err)
	}
	v.conn = conn
	stop := context.AfterFunc(v.ctx, func() { _ = conn.Close() })
	l := libvirt.NewWithDialer(dialers.NewAlreadyConnected(conn))
	if err := l.ConnectToURI(libvirt.ConnectURI(v.uri)); err != nil {
		stop()
		_ = conn.Close()
		return err
	}
	v.l = l
	return nil
}

func (v *vsh) disconnect() {
	if v.l != nil {
		_ = v.l.Disconnect()
	}
	if v.conn != nil {
		_ = v.conn.Close()
	}
}

// acceptedURI: what virsh on the "host" may connect to. Remote transports
// (qemu+ssh://… from inside the SSH session) are not offered.
func acceptedURI(u string) bool {
	switch u {
	case "qemu:///system", "qemu:///session", "qemu:///system?", "":
		return true
	}
	return false
}

// errorf prints virsh's "error: …" line to stderr.
func (v *vsh) errorf(format string, a ...any) {
	fmt.Fprintf(v.env.Stderr, "error: "+format+"\n", a...)
}

// libvirtError prints the libvirt error like virsh's vshReportError.
func (v *vsh) libvirtError(err error) {
	var le libvirt.Error
	switch {
	case errors.As(err, &le):
		v.errorf("%s", le.Message)
	case v.ctx.Err() != nil:
		v.errorf("operation aborted: %v", context.Cause(v.ctx))
	default:
		v.errorf("%v", err)
	}
}

// printf prints to stdout.
func (v *vsh) printf(format string, a ...any) {
	fmt.Fprintf(v.env.Stdout, format, a...)
}

// extra prints informational output that -q suppresses (vshPrintExtra).
func (v *vsh) extra(format string, a ...any) {
	if !v.quiet {
		fmt.Fprintf(v.env.Stdout, format, a...)
	}
}

var randReader = rand.Reader
