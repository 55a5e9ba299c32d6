package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/spf13/pflag"

	"quintupleo/internal/penalty"
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
	// limits (docs/limits.md, Redfish)
	maxConns, maxSessions, maxSessionsPerAccount int
	idleTimeout, readTimeout, authFailPenalty    time.Duration
	observe                                      func(http.Handler) http.Handler // not a flag: the metrics' wrapper, set by newStack
	limits                                       redfish.Observer                // not a flag: the metrics' limit counter, set by newStack
}

func (f *redfishFlags) flags(fs *pflag.FlagSet) {
	fs.StringVar(&f.listen, "listen-redfish", "", "Redfish endpoint (host:port; HTTPS with --tls-cert/--tls-key/--tls-ca) serving every node as a System; empty to disable")
	fs.BoolVar(&f.plainHTTP, "redfish-http", false, "serve Redfish over plain HTTP instead of HTTPS (loopback addresses only, unless --redfish-insecure-http-any)")
	fs.BoolVar(&f.insecureAny, "redfish-insecure-http-any", false, "allow --redfish-http on a non-loopback address (passwords and session tokens cross the network in clear)")
	fs.StringVar(&f.authFile, "redfish-auth-file", "", "htpasswd file with bcrypt entries (htpasswd -B) of the Redfish accounts; required with --listen-redfish")
	fs.StringVar(&f.readOnlyFile, "redfish-read-only-auth-file", "", "htpasswd file of read-only Redfish accounts (GET only; a user in both files is read-only)")
	fs.DurationVar(&f.sessionTimeout, "redfish-session-timeout", redfish.DefaultSessionTimeout, "Redfish sessions idle for longer end")
	fs.IntVar(&f.maxConns, "redfish-max-conns", 0, fmt.Sprintf("Redfish connections at once; when full, the oldest idle one (else the oldest "+
		"without a request yet) is closed to admit a new one; 0: %d, or less if the open-file limit would not keep a quarter (at least 64) free", redfish.DefaultMaxConns))
	fs.DurationVar(&f.idleTimeout, "redfish-idle-timeout", redfish.DefaultIdleTimeout, "close a keep-alive Redfish connection idle this long")
	fs.DurationVar(&f.readTimeout, "redfish-read-timeout", redfish.DefaultReadTimeout, "deadline of reading one whole Redfish request, body included (the headers: at most 10s)")
	fs.IntVar(&f.maxSessions, "redfish-max-sessions", redfish.DefaultMaxSessions, "Redfish sessions of all accounts together; a login past it is refused (CreateLimitReachedForResource)")
	fs.IntVar(&f.maxSessionsPerAccount, "redfish-max-sessions-per-account", redfish.DefaultMaxSessionsPerAccount, "Redfish sessions one account may hold; a login past it is refused (CreateLimitReachedForResource)")
	fs.DurationVar(&f.authFailPenalty, "redfish-auth-fail-penalty", penalty.DefaultAuthFail, "penalty a wrong Redfish password adds to its source address; "+
		"an address more than 15s ahead is answered 503 without a password check until it has run out (as --ssh-auth-fail-penalty); 0 disables")
}

func (f *redfishFlags) validate() error {
	if f.sessionTimeout <= 0 {
		return errors.New("--redfish-session-timeout must be positive")
	}
	if f.maxConns < 0 || f.maxSessions < 1 || f.maxSessionsPerAccount < 1 || f.idleTimeout <= 0 || f.readTimeout <= 0 || f.authFailPenalty < 0 {
		return errors.New("--redfish-max-conns must not be negative, --redfish-max-sessions and --redfish-max-sessions-per-account must be at least 1, " +
			"--redfish-idle-timeout and --redfish-read-timeout must be positive, --redfish-auth-fail-penalty must not be negative")
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
		Conns:       redfish.ConnConfig{MaxConns: f.maxConns, IdleTimeout: f.idleTimeout, ReadTimeout: f.readTimeout},
		MaxSessions: f.maxSessions, MaxSessionsPerAccount: f.maxSessionsPerAccount, AuthFailPenalty: f.penalty(),
		Observe: f.observe, Observer: f.limits})
}

// penalty is redfish.Config's AuthFailPenalty: the flag's 0 (disabled) is
// the config's negative, and a serveConfig not made by flags keeps the
// default.
func (f *redfishFlags) penalty() time.Duration {
	if f.authFailPenalty == 0 && f.maxSessions != 0 {
		return -1
	}
	return f.authFailPenalty
}
