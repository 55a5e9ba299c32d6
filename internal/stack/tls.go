package stack

import (
	"context"
	"net"
	"os"
	"os/signal"
	"syscall"

	"quintupleo/rpc"
)

// TLSConfig is the libvirt TLS listener (qemu+tls://): where it listens,
// its certificates (empty: libvirt's default paths) and who may connect.
type TLSConfig struct {
	Addr   string // host:port; libvirt's port is 16514
	Files  rpc.TLSFiles
	Access rpc.TLSAccess
}

// AddTLS loads the TLS certificates and registers the TLS listener of lv.
// The certificates are read again on SIGHUP, as libvirtd does: new
// handshakes use the new ones, connections already made keep theirs, and
// files that do not load leave the old ones in use (and say why).
func AddTLS(st *Stack, lv *Libvirt, cfg TLSConfig) (*Listener, error) {
	cfg.Files = withTLSDefaults(cfg.Files)
	creds, err := rpc.LoadTLSCredentials(cfg.Files)
	if err != nil {
		return nil, err
	}
	tlsCfg := creds.ServerConfig(cfg.Access)
	l := st.Listen(ListenSpec{What: "libvirt TLS listener", Key: "libvirt_tls",
		Attrs:  []any{"cert", cfg.Files.Cert, "ca", cfg.Files.CA, "allowed_dn", cfg.Access.AllowedDN, "read_only_dn", cfg.Access.ReadOnlyDN},
		Serve:  lv.serve(cfg.Access.Policy(st.log.With("component", "rpc"))),
		Listen: func() (net.Listener, error) { return rpc.ListenTLS(cfg.Addr, tlsCfg) }})

	reloadOnHUP(st, "TLS", creds)
	return l, nil
}

// reloadOnHUP re-reads creds on every SIGHUP while the stack runs, as
// libvirtd does: new handshakes use the new certificates, connections made
// keep theirs, and files that do not load leave the old ones in use (and
// say why). what names the listener in the log.
func reloadOnHUP(st *Stack, what string, creds *rpc.TLSCredentials) {
	// Notified from now on, not from when Run starts the loop: a SIGHUP
	// in between must not kill the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	st.OnClose(func() error { signal.Stop(hup); return nil })
	files := creds.Files()
	st.Go(what+" reload", func(ctx context.Context) error {
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-hup:
				if err := creds.Reload(); err != nil {
					st.log.Error(what+" certificates not reloaded; the previous ones stay in use", "err", err)
					continue
				}
				st.log.Info(what+" certificates reloaded", "cert", files.Cert, "ca", files.CA)
			}
		}
	})
}

// withTLSDefaults fills in libvirt's default paths for the files not given.
func withTLSDefaults(f rpc.TLSFiles) rpc.TLSFiles {
	if f.Cert == "" {
		f.Cert = rpc.DefaultTLSCert
	}
	if f.Key == "" {
		f.Key = rpc.DefaultTLSKey
	}
	if f.CA == "" {
		f.CA = rpc.DefaultTLSCA
	}
	return f
}
