package main

import (
	"errors"
	"time"

	"github.com/spf13/pflag"

	"quintupleo/rpc"
)

// rpcLimitFlags are the per-connection limits of the libvirt fronts, named
// and defaulted as libvirtd's libvirtd.conf settings where libvirtd has
// them (docs/security.md, "Threat model").
type rpcLimitFlags struct {
	keepaliveInterval time.Duration
	keepaliveCount    int
	maxClientRequests int
	maxEventCallbacks int
	handshakeTimeout  time.Duration
}

func (f *rpcLimitFlags) register(fs *pflag.FlagSet) {
	fs.DurationVar(&f.keepaliveInterval, "keepalive-interval", 5*time.Second, "PING a libvirt client silent this long (libvirtd's keepalive_interval); 0 disables sending PINGs")
	fs.IntVar(&f.keepaliveCount, "keepalive-count", 5, "close a libvirt client that left this many PINGs in a row unanswered (libvirtd's keepalive_count)")
	fs.IntVar(&f.maxClientRequests, "max-client-requests", 5, "calls one libvirt connection may have in flight; further packets wait unread (libvirtd's max_client_requests)")
	fs.IntVar(&f.maxEventCallbacks, "max-event-callbacks", rpc.DefaultMaxEventCallbacks, "event callbacks one libvirt connection may hold (libvirtd has no bound)")
	fs.DurationVar(&f.handshakeTimeout, "tls-handshake-timeout", rpc.DefaultHandshakeTimeout, "close a libvirt TLS connection whose handshake has not completed within this")
}

func (f *rpcLimitFlags) validate() error {
	if f.keepaliveInterval < 0 || f.keepaliveCount < 1 || f.maxClientRequests < 1 || f.maxEventCallbacks < 1 {
		return errors.New("--keepalive-interval must not be negative; --keepalive-count, --max-client-requests and --max-event-callbacks must be at least 1")
	}
	if f.handshakeTimeout <= 0 {
		return errors.New("--tls-handshake-timeout must be positive")
	}
	return nil
}

// options are the rpc options of the flags. A zero rpcLimitFlags (a
// serveConfig not made by flags) keeps rpc's defaults, which are the flags'.
func (f *rpcLimitFlags) options() []rpc.Option {
	opts := []rpc.Option{rpc.WithMaxCallsPerConn(f.maxClientRequests), rpc.WithMaxEventCallbacks(f.maxEventCallbacks),
		rpc.WithHandshakeTimeout(f.handshakeTimeout)}
	if f.keepaliveCount > 0 {
		opts = append(opts, rpc.WithKeepalive(f.keepaliveInterval, f.keepaliveCount))
	}
	return opts
}
