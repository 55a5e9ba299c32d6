package main

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/spf13/pflag"

	"quintupleo/internal/stack"
	"quintupleo/nodes"
	"quintupleo/redfish"
	"quintupleo/rpc"
)

// redfishFlags are serve's flags of the Redfish front end
// (docs/redfish.md). HTTPS takes its certificate from --tls-cert, --tls-key
// and --tls-ca, the libvirt TLS listener's options.
type redfishFlags struct {
	listen                 string
	plainHTTP, insecureAny bool
	authFile, readOnlyFile string
	sessionTimeout         time.Duration
	observe                func(http.Handler) http.Handler // not a flag: the metrics' wrapper, set by newStack
	limits                 redfish.Observer                // not a flag: the metrics' limit counter, set by newStack
}

func (f *redfishFlags) flags(fs *pflag.FlagSet) {
	fs.StringVar(&f.listen, "listen-redfish", "", "Redfish endpoint (host:port; HTTPS with --tls-cert/--tls-key/--tls-ca) serving every node as a System; empty to disable")
	fs.BoolVar(&f.plainHTTP, "redfish-http", false, "serve Redfish over plain HTTP instead of HTTPS (loopback addresses only, unless --redfish-insecure-http-any)")
	fs.BoolVar(&f.insecureAny, "redfish-insecure-http-any", false, "allow --redfish-http on a non-loopback address (passwords and session tokens cross the network in clear)")
	fs.StringVar(&f.authFile, "redfish-auth-file", "", "htpasswd file with bcrypt entries (htpasswd -B) of the Redfish accounts; required with --listen-redfish")
	fs.StringVar(&f.readOnlyFile, "redfish-read-only-auth-file", "", "htpasswd file of read-only Redfish accounts (GET only; a user in both files is read-only)")
	fs.DurationVar(&f.sessionTimeout, "redfish-session-timeout", redfish.DefaultSessionTimeout, "Redfish sessions idle for longer end")
}

func (f *redfishFlags) validate() error {
	if f.sessionTimeout <= 0 {
		return errors.New("--redfish-session-timeout must be positive")
	}
	if f.listen != "" && f.authFile == "" {
		return errors.New("--listen-redfish needs --redfish-auth-file (Redfish clients log in with a password)")
	}
	return nil
}

// add builds the Redfish front end if one was asked for.
func (f *redfishFlags) add(st *stack.Stack, inv *nodes.Inventory, act *nodes.Executor, tls tlsFlags, log *slog.Logger) (*stack.Listener, error) {
	if f.listen == "" {
		return nil, nil
	}
	return stack.AddRedfish(st, inv, act, stack.RedfishConfig{Addr: f.listen, PlainHTTP: f.plainHTTP, InsecureAnyHTTP: f.insecureAny,
		TLS:      rpc.TLSFiles{Cert: tls.cert, Key: tls.key, CA: tls.ca},
		AuthFile: f.authFile, ReadOnlyAuthFile: f.readOnlyFile, SessionTimeout: f.sessionTimeout, Logger: log,
		Observe: f.observe, Observer: f.limits})
}
