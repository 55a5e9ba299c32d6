package stack

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"quintupleo/nodes"
	"quintupleo/redfish"
	"quintupleo/rpc"
)

// RedfishConfig is the Redfish front end: where it listens, how (HTTPS with
// the TLS listener's certificate options, or plain HTTP), and who may log in.
type RedfishConfig struct {
	Addr string // host:port
	// PlainHTTP serves HTTP instead of HTTPS: on a loopback address only,
	// unless InsecureAnyHTTP (passwords and tokens would cross the network
	// in clear).
	PlainHTTP, InsecureAnyHTTP bool
	// TLS are the HTTPS certificate, key and CA (the CA the certificate
	// must verify against, as for the libvirt TLS listener; no client
	// certificate is asked for: Redfish clients log in with a password).
	// Empty fields: libvirt's default paths.
	TLS rpc.TLSFiles
	// AuthFile and ReadOnlyAuthFile are htpasswd files with bcrypt entries
	// (redfish.LoadAccounts).
	AuthFile, ReadOnlyAuthFile string
	SessionTimeout             time.Duration
	// Conns are the connection limits (redfish.ConnConfig; its Logger and
	// Observer are filled from these).
	Conns redfish.ConnConfig
	// MaxSessions, MaxSessionsPerAccount and AuthFailPenalty are
	// redfish.Config's.
	MaxSessions, MaxSessionsPerAccount int
	AuthFailPenalty                    time.Duration
	Logger                             *slog.Logger
	// Observe, when set, wraps the handler (metrics.Metrics.Redfish).
	Observe func(http.Handler) http.Handler
	// Observer is told when a limit refuses a request (redfish.Config's).
	Observer redfish.Observer
}

// AddRedfish builds the Redfish server over inv and act and registers its
// listener and its shutdown (requests in flight, then the actions they
// started, within the stack's shutdown timeout).
func AddRedfish(st *Stack, inv *nodes.Inventory, act *nodes.Executor, cfg RedfishConfig) (*Listener, error) {
	accounts, err := redfish.LoadAccounts(cfg.AuthFile, cfg.ReadOnlyAuthFile)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = st.log
	}
	rf, err := redfish.New(inv, act, redfish.Config{Accounts: accounts, SessionTimeout: cfg.SessionTimeout, Logger: log,
		MaxSessions: cfg.MaxSessions, MaxSessionsPerAccount: cfg.MaxSessionsPerAccount, AuthFailPenalty: cfg.AuthFailPenalty,
		Observer: cfg.Observer})
	if err != nil {
		return nil, err
	}
	listen, scheme, err := redfishListen(st, cfg)
	if err != nil {
		return nil, err
	}
	var handler http.Handler = rf
	if cfg.Observe != nil {
		handler = cfg.Observe(rf)
	}
	conns := cfg.Conns
	conns.Logger, conns.Observer = log, cfg.Observer
	conns.IdleTimeout = cmp.Or(conns.IdleTimeout, redfish.DefaultIdleTimeout)
	conns.ReadTimeout = cmp.Or(conns.ReadTimeout, redfish.DefaultReadTimeout)
	limiter := redfish.NewConnLimit(conns)
	// IdleTimeout is set even though net/http would take ReadTimeout for
	// it: keep-alive connections wait for the next request that long.
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: conns.HeaderTimeout(), ReadTimeout: conns.ReadTimeout,
		IdleTimeout: conns.IdleTimeout, ConnState: limiter.ConnState,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	l := st.Listen(ListenSpec{What: "Redfish listener", Key: "redfish", Attrs: []any{"scheme", scheme}, Listen: listen,
		Serve: func(ln net.Listener) error {
			if err := srv.Serve(limiter.Listener(ln)); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		}})
	st.OnShutdown("redfish", func(ctx context.Context) error {
		err := srv.Shutdown(ctx)
		return errors.Join(err, rf.Shutdown(ctx))
	})
	return l, nil
}

// redfishListen is how the Redfish listener binds: plain TCP under the
// loopback rule of the libvirt TCP listener, or TLS with the certificates of
// cfg.TLS, re-read on SIGHUP like the libvirt TLS listener's.
func redfishListen(st *Stack, cfg RedfishConfig) (func() (net.Listener, error), string, error) {
	if cfg.PlainHTTP {
		return func() (net.Listener, error) {
			ln, err := rpc.ListenTCP(cfg.Addr, cfg.InsecureAnyHTTP)
			if err != nil {
				return nil, fmt.Errorf("redfish plain HTTP (passwords in clear; use HTTPS or force it): %w", err)
			}
			return ln, nil
		}, "http", nil
	}
	creds, err := rpc.LoadTLSCredentials(withTLSDefaults(cfg.TLS))
	if err != nil {
		return nil, "", fmt.Errorf("redfish HTTPS: %w", err)
	}
	reloadOnHUP(st, "Redfish TLS", creds)
	tlsCfg := withoutClientCerts(creds.ServerConfig(rpc.TLSAccess{}))
	tlsCfg.NextProtos = []string{"http/1.1"}
	return func() (net.Listener, error) { return rpc.ListenTLS(cfg.Addr, tlsCfg) }, "https", nil
}

// withoutClientCerts is the libvirt TLS listener's server config (its
// certificates, current after every reload, TLS 1.2 or later) asking for no
// client certificate: Redfish clients authenticate with a password.
func withoutClientCerts(cfg *tls.Config) *tls.Config {
	inner := cfg.GetConfigForClient
	return &tls.Config{MinVersion: cfg.MinVersion, GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		c, err := inner(hello)
		if err != nil {
			return nil, err
		}
		c.ClientAuth, c.ClientCAs, c.VerifyConnection = tls.NoClientCert, nil, nil
		c.NextProtos = []string{"http/1.1"}
		return c, nil
	}}
}
