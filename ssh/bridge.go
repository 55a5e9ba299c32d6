package ssh

import (
	"context"
	"fmt"
	"io"
	"net"
	"regexp"
	"sync"
)

// The remote command strings libvirt's qemu+ssh transport sends (libvirt
// virnetclient.c / virnetsocket.c, recorded in shared/reference/libvirt-rpc.md
// §5). They are recognised exactly, modulo the URI, the netcat program and
// the socket path libvirt substitutes; nothing else reaches the bridge.
var (
	// proxy=auto (the default): virt-ssh-helper if present, else nc -U.
	proxyAuto = regexp.MustCompile(`^sh -c 'which virt-ssh-helper 1>/dev/null 2>&1; if test \$\? = 0; then     virt-ssh-helper (-r )?'([a-z0-9+]+:///[a-z]+)'; else    if '([a-z/]*nc(at)?)' -q 2>&1 \| grep "requires an argument" >/dev/null 2>&1; then ARG=-q0;else ARG=;fi;'([a-z/]*nc(at)?)' \$ARG -U ([A-Za-z0-9_./-]+); fi'$`)
	// proxy=native.
	proxyNative = regexp.MustCompile(`^sh -c 'virt-ssh-helper (-r )?'([a-z0-9+]+:///[a-z]+)''$`)
	// proxy=netcat (also socket= / netcat= parameters).
	proxyNetcat = regexp.MustCompile(`^sh -c 'if '([a-z/]*nc(at)?)' -q 2>&1 \| grep "requires an argument" >/dev/null 2>&1; then ARG=-q0;else ARG=;fi;'([a-z/]*nc(at)?)' \$ARG -U ([A-Za-z0-9_./-]+)'$`)
)

// matchProxyCommand reports whether cmd is one of libvirt's qemu+ssh proxy
// commands, and whether it asks for a read-only connection (virsh -r: the
// helper's -r flag, or the -ro socket).
func matchProxyCommand(cmd string) (readOnly, ok bool) {
	if m := proxyAuto.FindStringSubmatch(cmd); m != nil {
		return m[1] != "" || isROSocket(m[7]), true
	}
	if m := proxyNative.FindStringSubmatch(cmd); m != nil {
		return m[1] != "", true
	}
	if m := proxyNetcat.FindStringSubmatch(cmd); m != nil {
		return isROSocket(m[5]), true
	}
	return false, false
}

var roSocket = regexp.MustCompile(`-ro$`)

func isROSocket(path string) bool { return roSocket.MatchString(path) }

// bridge copies bytes between the channel and a fresh RPC connection until
// either side ends. The exit status is 0 when the client closed the stream.
func (s *session) bridge(ctx context.Context, readOnly bool) uint32 {
	if s.srv.cfg.Dialer == nil {
		fmt.Fprintln(s.ch.Stderr(), "nc: unix connect failed: No such file or directory")
		return 1
	}
	conn, err := s.srv.cfg.Dialer(ctx, readOnly)
	if err != nil {
		s.log.Error("ssh: bridge dial", "err", err)
		fmt.Fprintln(s.ch.Stderr(), "nc: unix connect failed: Connection refused")
		return 1
	}
	s.log.Info("ssh: qemu+ssh bridge", "readOnly", readOnly)
	return pipeBoth(ctx, &s.bg, s.ch, conn)
}

// pipeBoth copies ch→conn and conn→ch. It returns when the server side has
// finished (conn→ch ends: server closed, or the client's EOF closed conn) or
// ctx ends. The ch→conn copier is tracked in bg: it ends when the channel
// closes, which finish does right after pipeBoth returns.
func pipeBoth(ctx context.Context, bg *sync.WaitGroup, ch io.ReadWriter, conn net.Conn) uint32 {
	bg.Add(1)
	go func() {
		defer bg.Done()
		_, _ = io.Copy(conn, ch)
		// Client EOF: half-close toward the server when possible, else close.
		if cw, ok := conn.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		} else {
			_ = conn.Close()
		}
	}()
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	_, _ = io.Copy(ch, conn)
	_ = conn.Close()
	return 0
}
