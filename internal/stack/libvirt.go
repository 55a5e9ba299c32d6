package stack

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"sync"

	"quintupleo/rpc"
)

// LibvirtConfig is the libvirt front end: where it listens, and the RPC
// server's options. An empty address leaves that listener out.
type LibvirtConfig struct {
	TCP            string // host:port of the plain-TCP listener (qemu+tcp://)
	InsecureAnyTCP bool   // allow TCP on a non-loopback address
	Unix           string // path of the read-write unix socket
	ReadOnlyUnix   string // path of the read-only unix socket
	Options        []rpc.Option
}

// Libvirt is the libvirt front end of a stack: the RPC server, its
// listeners (nil when not configured) and in-process connections.
type Libvirt struct {
	Server                  *rpc.Server
	TCP, Unix, ReadOnlyUnix *Listener

	log   *slog.Logger
	pipes sync.WaitGroup // in-process connections (Dial)
}

// Unix sockets' modes: the read-write one for the service's group, the
// read-only one for everyone, as libvirtd's unix_sock_rw_perms and
// unix_sock_ro_perms default.
const (
	unixMode   fs.FileMode = 0o660
	unixROMode fs.FileMode = 0o666
)

// AddLibvirt builds the RPC server over drivers and registers its
// listeners and its shutdown.
func AddLibvirt(st *Stack, drivers rpc.Drivers, cfg LibvirtConfig) *Libvirt {
	lv := &Libvirt{Server: rpc.NewServer(drivers, cfg.Options...), log: st.log}
	if cfg.TCP != "" {
		lv.TCP = st.Listen(ListenSpec{What: "libvirt TCP listener", Key: "libvirt_tcp", Serve: lv.serve(rpc.Policy{}),
			Listen: func() (net.Listener, error) { return rpc.ListenTCP(cfg.TCP, cfg.InsecureAnyTCP) }})
	}
	if cfg.Unix != "" {
		lv.Unix = st.Listen(ListenSpec{What: "libvirt unix socket", Key: "libvirt_unix", AddrKey: "path", Serve: lv.serve(rpc.Policy{}),
			Listen: func() (net.Listener, error) { return rpc.ListenUnix(cfg.Unix, unixMode) }})
	}
	if cfg.ReadOnlyUnix != "" {
		lv.ReadOnlyUnix = st.Listen(ListenSpec{What: "libvirt read-only unix socket", Key: "libvirt_unix_ro", AddrKey: "path", Serve: lv.serve(rpc.Policy{ReadOnly: true}),
			Listen: func() (net.Listener, error) { return rpc.ListenUnix(cfg.ReadOnlyUnix, unixROMode) }})
	}
	st.OnShutdown("rpc", func(ctx context.Context) error {
		err := lv.Server.Shutdown(ctx)
		lv.pipes.Wait()
		return err
	})
	return lv
}

// serve is a ListenSpec's Serve for a libvirt listener under policy p.
func (lv *Libvirt) serve(p rpc.Policy) func(net.Listener) error {
	return func(ln net.Listener) error {
		if err := lv.Server.Serve(ln, p); !errors.Is(err, rpc.ErrServerClosed) {
			return err
		}
		return nil
	}
}

// Dial opens an in-process libvirt connection, for the SSH side's virsh and
// its qemu+ssh bridge (an ssh.Dialer): one end of a net.Pipe whose other end
// the server serves like a TCP client's.
//
// ctx bounds the dial only, as net.Dialer.DialContext's does: the served
// connection keeps ctx's values but not its cancellation, and lives until
// the caller closes its end (which the SSH side does when its command or
// session ends) or the stack shuts down — a TCP client's lifetime.
func (lv *Libvirt) Dial(ctx context.Context, readOnly bool) (net.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	client, server := net.Pipe()
	// The SSH side decides read-only per session today; an identity of its
	// own (a key's fingerprint) would become this Policy's Authorize.
	p := rpc.Policy{ReadOnly: readOnly}
	lv.pipes.Add(1)
	go func() {
		defer lv.pipes.Done()
		if err := lv.Server.ServeConn(context.WithoutCancel(ctx), server, p); err != nil && !errors.Is(err, rpc.ErrServerClosed) {
			lv.log.Debug("in-process libvirt connection ended", "err", err)
		}
	}()
	return client, nil
}
