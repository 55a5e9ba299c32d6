package ssh

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"quintupleo/internal/acceptloop"
	"quintupleo/internal/limit"
	"quintupleo/internal/lograte"
	"quintupleo/internal/penalty"
	"quintupleo/ssh/budget"
)

// Dialer opens a fresh libvirt RPC connection for one virsh invocation or one
// qemu+ssh bridge. cmd fills it with one end of a net.Pipe whose other end is
// handed to rpc.Server.ServeConn (or ServeConnReadOnly when readOnly is set).
// The returned conn is closed by the caller.
type Dialer func(ctx context.Context, readOnly bool) (net.Conn, error)

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("ssh: server closed")

// Config configures a Server. Zero limits take the defaults documented on
// each field.
type Config struct {
	// HostKeyFile holds the host private keys (OpenSSH PEM blocks, one after
	// the other). When it does not exist, an ed25519 and an RSA-3072 key are
	// generated and written there (mode 0600) on first start.
	HostKeyFile string
	// AuthorizedKeysFile is an OpenSSH authorized_keys file, re-read on every
	// authentication attempt. Any user name is accepted with a listed key.
	AuthorizedKeysFile string
	// PasswordCallback enables password authentication when non-nil (off by
	// default). It reports whether user/password is acceptable.
	PasswordCallback func(user string, password []byte) bool
	// Dialer gives virsh and the qemu+ssh bridge their libvirt connection.
	Dialer Dialer
	// ScratchDir is where the server's scratch directory, holding one per
	// session, is created (default os.TempDir()). Each session's is removed
	// when it ends, the server's when it stops, and those of servers that
	// died without removing theirs at the next start (scratch.go).
	ScratchDir string
	// Hostname is shown in the interactive prompt (default "quintupleo").
	Hostname string
	// Logger receives auth and session logs (default: discard).
	Logger *slog.Logger

	MaxAuthTries int // default 6
	// MaxConns bounds the open connections, authenticated or not (default
	// DefaultMaxConns, lowered at a small open-file limit as rpc's
	// max clients are: acceptloop.FDCap).
	MaxConns int
	// MaxStartups bounds the connections that have not authenticated yet
	// (sshd's MaxStartups; default DefaultMaxStartups, at most MaxConns).
	// When it or MaxConns is full, or accept runs out of descriptors, the
	// oldest of them is closed to admit the new one.
	MaxStartups int

	MaxSessions        int           // concurrent sessions, all conns; default 256
	MaxSessionsPerConn int           // concurrent sessions on one conn; default 16
	MaxCommandBytes    int           // exec command line length; default 64 KiB
	MaxOutputBytes     int64         // stdout+stderr per command; default 64 MiB
	CommandTimeout     time.Duration // per exec/shell line; default 30 min
	// HandshakeTimeout is the time from accept to authenticated (sshd's
	// LoginGraceTime; default 30 s): then the connection is closed.
	HandshakeTimeout time.Duration
	// AuthFailPenalty is what a connection that failed to authenticate
	// adds to its source address's penalty, NoAuthPenalty one that ended
	// without trying, GracePenalty one whose login deadline passed
	// (penalty.go; OpenSSH's PerSourcePenalties authfail, noauth and
	// grace-exceeded; defaults DefaultAuthFailPenalty, DefaultNoAuthPenalty,
	// DefaultGracePenalty; < 0 disables that one). PenaltyMin is the
	// penalty past which the address is locked out, PenaltyMax the longest
	// (defaults DefaultPenaltyMin and DefaultPenaltyMax).
	AuthFailPenalty, NoAuthPenalty, GracePenalty time.Duration
	PenaltyMin, PenaltyMax                       time.Duration
	// SessionMemory is what one session's command lines may hold at once:
	// its tools' buffers and values, its shell variables and expansions
	// (default 64 MiB; docs/ssh.md gives the reasoning).
	SessionMemory int64
	// MemoryTotal is what all sessions together may hold (default 512 MiB).
	MemoryTotal int64
	// Observer is told of every session and command (metrics; default:
	// nobody).
	Observer Observer
}

// Observer is told what the SSH endpoint serves, when a limit acts and the
// level of its connections, for the operator's metrics (cmd wires one; ssh
// imports no metrics library). Its methods must be quick and safe for
// concurrent use.
type Observer interface {
	// Session is one session channel that ran something (exec, shell or
	// the qemu+ssh bridge), ended with the exit status it sent.
	Session(status uint32, took time.Duration)
	// Command is one command line: an exec request's, or one line of an
	// interactive shell.
	Command(status uint32, took time.Duration)
	// Limited is one act of a limit (limit.Events lists the pairs).
	Limited(l limit.Name, o limit.Outcome)
	// Connections is the level after a change: the open connections, and
	// how many of them have not authenticated.
	Connections(f limit.Front, open, unauthenticated int)
}

type nopObserver struct{}

func (nopObserver) Session(uint32, time.Duration)     {}
func (nopObserver) Command(uint32, time.Duration)     {}
func (nopObserver) Limited(limit.Name, limit.Outcome) {}
func (nopObserver) Connections(limit.Front, int, int) {}

// Defaults of the connection limits (docs/limits.md, section SSH).
const (
	// DefaultMaxConns is the connection cap at a generous open-file limit.
	DefaultMaxConns = 512
	// DefaultMaxStartups is sshd's MaxStartups "full" figure: the number of
	// newer unauthenticated connections a flood must open to push out a
	// client that is logging in.
	DefaultMaxStartups = 100
)

func (c *Config) setDefaults() {
	if c.MaxAuthTries == 0 {
		c.MaxAuthTries = 6
	}
	if c.MaxConns == 0 {
		c.MaxConns, _ = acceptloop.FDCap(DefaultMaxConns)
	}
	if c.MaxStartups == 0 {
		c.MaxStartups = DefaultMaxStartups
	}
	c.MaxStartups = min(c.MaxStartups, c.MaxConns)
	if c.MaxSessions == 0 {
		c.MaxSessions = 256
	}
	if c.MaxSessionsPerConn == 0 {
		c.MaxSessionsPerConn = 16
	}
	if c.MaxCommandBytes == 0 {
		c.MaxCommandBytes = 64 << 10
	}
	if c.MaxOutputBytes == 0 {
		c.MaxOutputBytes = 64 << 20
	}
	if c.CommandTimeout == 0 {
		c.CommandTimeout = 30 * time.Minute
	}
	if c.HandshakeTimeout == 0 {
		c.HandshakeTimeout = 30 * time.Second
	}
	for _, d := range []struct {
		p   *time.Duration
		def time.Duration
	}{{&c.AuthFailPenalty, DefaultAuthFailPenalty}, {&c.NoAuthPenalty, DefaultNoAuthPenalty}, {&c.GracePenalty, DefaultGracePenalty}} {
		if *d.p == 0 {
			*d.p = d.def
		}
	}
	if c.PenaltyMin == 0 {
		c.PenaltyMin = DefaultPenaltyMin
	}
	if c.PenaltyMax == 0 {
		c.PenaltyMax = DefaultPenaltyMax
	}
	if c.SessionMemory == 0 {
		c.SessionMemory = 64 << 20
	}
	if c.MemoryTotal == 0 {
		c.MemoryTotal = 512 << 20
	}
	if c.ScratchDir == "" {
		c.ScratchDir = os.TempDir()
	}
	if c.Hostname == "" {
		c.Hostname = "quintupleo"
	}
	if c.Observer == nil {
		c.Observer = nopObserver{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Algorithms offered, chosen so that old paramiko (1.x/2.x) and OpenSSH
// clients connect; docs/ssh.md explains each legacy entry.
var (
	kexAlgorithms = []string{
		gossh.KeyExchangeMLKEM768X25519,
		gossh.KeyExchangeCurve25519,
		"curve25519-sha256@libssh.org",
		gossh.KeyExchangeECDHP256,
		gossh.KeyExchangeECDHP384,
		gossh.KeyExchangeECDHP521,
		gossh.KeyExchangeDH14SHA256,
		gossh.KeyExchangeDH16SHA512,
		gossh.KeyExchangeDHGEXSHA256,
		gossh.InsecureKeyExchangeDH14SHA1,  // paramiko < 2.9 / old OpenSSH
		gossh.InsecureKeyExchangeDHGEXSHA1, // paramiko 1.x before group14
	}
	cipherAlgorithms = []string{
		gossh.CipherAES128GCM,
		gossh.CipherAES256GCM,
		gossh.CipherChaCha20Poly1305,
		gossh.CipherAES128CTR, // paramiko 1.x
		gossh.CipherAES192CTR,
		gossh.CipherAES256CTR,
	}
	macAlgorithms = []string{
		gossh.HMACSHA256ETM,
		gossh.HMACSHA512ETM,
		gossh.HMACSHA256,
		gossh.HMACSHA512,
		gossh.HMACSHA1, // paramiko 1.x
	}
	publicKeyAuthAlgorithms = []string{
		gossh.KeyAlgoED25519,
		gossh.KeyAlgoSKED25519,
		gossh.KeyAlgoSKECDSA256,
		gossh.KeyAlgoECDSA256,
		gossh.KeyAlgoECDSA384,
		gossh.KeyAlgoECDSA521,
		gossh.KeyAlgoRSASHA256,
		gossh.KeyAlgoRSASHA512,
		gossh.KeyAlgoRSA, // SHA-1 RSA signatures: paramiko < 2.9
	}
)

// extFingerprint is the Permissions.Extensions key holding the SHA256
// fingerprint of the key the client proved it holds.
const extFingerprint = "quintupleo-pubkey-fp"

// Server is an SSH server. Create it with NewServer, run it with Serve, stop
// it with Shutdown or Close.
type Server struct {
	cfg    Config
	config *gossh.ServerConfig
	log    *slog.Logger

	// mu guards: listeners, conns, preAuth, evicted, lastEvictLog,
	// shutdown, sessions.
	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*serverConn]struct{}
	// preAuth holds the conns not yet authenticated, oldest first (each
	// conn's pending is its element).
	preAuth list.List
	// evicted counts the unauthenticated conns closed since lastEvictLog.
	evicted      int
	lastEvictLog time.Time
	shutdown     bool
	sessions     int
	idle         chan struct{} // closed and replaced when sessions drops to 0 during shutdown

	// base is the parent of every connection's context; Close and Shutdown
	// cancel it once they close the connections.
	base       context.Context
	cancelBase context.CancelFunc

	memory  *budget.Budget // every session's budget is inside this one
	scratch *scratchRoot   // holds every session's scratch directory (scratch.go)
	// penalties locks out addresses whose connections ended before they
	// logged in (nil: disabled).
	penalties *penalty.Table
	// refusedLog spaces the warnings about penalised addresses.
	refusedLog lograte.Limiter

	wg sync.WaitGroup // every goroutine the server starts
}

// NewServer loads (or creates) the host keys and builds the SSH
// configuration once.
func NewServer(cfg Config) (*Server, error) {
	cfg.setDefaults()
	if cfg.HostKeyFile == "" {
		return nil, errors.New("ssh: Config.HostKeyFile is required")
	}
	if cfg.AuthorizedKeysFile == "" && cfg.PasswordCallback == nil {
		return nil, errors.New("ssh: Config.AuthorizedKeysFile is required")
	}
	if cfg.AuthorizedKeysFile != "" {
		// Re-read on every attempt, but a missing file is a configuration
		// error worth failing at start for.
		if _, err := os.ReadFile(cfg.AuthorizedKeysFile); err != nil {
			return nil, fmt.Errorf("ssh: authorized keys: %w", err)
		}
	}
	signers, err := loadOrCreateHostKeys(cfg.HostKeyFile)
	if err != nil {
		return nil, err
	}
	s := &Server{
		refusedLog: lograte.Limiter{Every: evictionLogEvery},
		cfg:        cfg,
		log:        cfg.Logger,
		listeners:  map[net.Listener]struct{}{},
		conns:      map[*serverConn]struct{}{},
		idle:       make(chan struct{}),
		memory:     budget.New(cfg.MemoryTotal, "for all SSH sessions", nil),
	}
	if max(cfg.AuthFailPenalty, cfg.NoAuthPenalty, cfg.GracePenalty) > 0 {
		s.penalties = penalty.New(cfg.PenaltyMin, cfg.PenaltyMax)
	}
	if s.scratch, err = openScratchRoot(cfg.ScratchDir, cfg.Logger); err != nil {
		return nil, err
	}
	s.base, s.cancelBase = context.WithCancel(context.Background())
	_, nofile := acceptloop.FDCap(cfg.MaxConns)
	s.log.Info("ssh: connection limits", "max_conns", cfg.MaxConns, "max_startups", cfg.MaxStartups,
		"handshake_timeout", cfg.HandshakeTimeout, "open_file_limit", nofile)
	sc := &gossh.ServerConfig{
		Config: gossh.Config{
			KeyExchanges: kexAlgorithms,
			Ciphers:      cipherAlgorithms,
			MACs:         macAlgorithms,
		},
		PublicKeyAuthAlgorithms: publicKeyAuthAlgorithms,
		MaxAuthTries:            cfg.MaxAuthTries,
		ServerVersion:           "SSH-2.0-quintupleo",
		PublicKeyCallback:       s.publicKeyCallback,
		AuthLogCallback:         s.logAuth,
	}
	if cfg.PasswordCallback != nil {
		pw := cfg.PasswordCallback
		sc.PasswordCallback = func(md gossh.ConnMetadata, password []byte) (*gossh.Permissions, error) {
			if pw(md.User(), password) {
				return &gossh.Permissions{Extensions: map[string]string{extFingerprint: "password:" + md.User()}}, nil
			}
			return nil, errors.New("password rejected")
		}
	}
	for _, k := range signers {
		sc.AddHostKey(k)
	}
	s.config = sc
	return s, nil
}

// publicKeyCallback accepts any user with a key from the authorized_keys
// file. It may run for keys the client never proves it holds, so the
// identity is only recorded in the returned Permissions, which x/crypto
// attaches to the conn only after the signature has verified.
func (s *Server) publicKeyCallback(md gossh.ConnMetadata, key gossh.PublicKey) (*gossh.Permissions, error) {
	data, err := os.ReadFile(s.cfg.AuthorizedKeysFile)
	if err != nil {
		s.log.Error("ssh: reading authorized_keys", "err", err)
		return nil, fmt.Errorf("ssh: authorized keys unavailable: %w", err)
	}
	want := key.Marshal()
	for len(data) > 0 {
		pk, _, options, rest, err := gossh.ParseAuthorizedKey(data)
		if err != nil {
			break // no more parsable keys
		}
		data = rest
		if string(pk.Marshal()) != string(want) {
			continue
		}
		if len(options) > 0 {
			s.log.Warn("ssh: authorized_keys options are ignored", "key", gossh.FingerprintSHA256(pk), "options", options)
		}
		return &gossh.Permissions{Extensions: map[string]string{extFingerprint: gossh.FingerprintSHA256(pk)}}, nil
	}
	return nil, errors.New("public key not authorized")
}

// Serve accepts connections on ln until Shutdown or Close, then returns
// ErrServerClosed. Temporary accept errors back off (5 ms doubling to 1 s,
// cut short by Close); when accept runs out of descriptors, the oldest
// unauthenticated connection is closed first (acceptloop).
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		_ = ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		_ = ln.Close()
	}()

	err := acceptloop.Loop{
		Name: "ssh",
		Log:  s.log,
		Closed: func() error {
			if s.isShutdown() {
				return ErrServerClosed
			}
			return nil
		},
		FreeDescriptor: s.freeDescriptor,
		Handle: func(c net.Conn) error {
			if s.refusePenalised(c) {
				return nil
			}
			switch s.trackConn(c) {
			case errTooManyConns:
				s.cfg.Observer.Limited(limit.SSHMaxConns, limit.Refused)
				s.log.Warn("ssh: connection refused: too many connections", "remote", c.RemoteAddr().String(), "max", s.cfg.MaxConns)
				_ = c.Close()
			case ErrServerClosed:
				_ = c.Close()
				return ErrServerClosed
			}
			return nil
		},
	}.Run(s.base, ln)
	if errors.Is(err, ErrServerClosed) {
		return err
	}
	return fmt.Errorf("ssh: accept: %w", err)
}

func (s *Server) isShutdown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shutdown
}

var errTooManyConns = errors.New("ssh: too many connections")

// evictionLogEvery spaces the warnings about evicted connections: under a
// flood there is one per accepted connection.
const evictionLogEvery = 10 * time.Second

// trackConn registers c and starts its goroutine, unless shutting down or
// at the connection limit. A full MaxConns or MaxStartups first closes the
// oldest unauthenticated connections (sshd's MaxStartups, oldest instead of
// random: a client logs in within a second, so the oldest is the likeliest
// idle, and a flood cannot lock out a client that logs in promptly). Only
// when every slot holds an authenticated connection is c refused.
func (s *Server) trackConn(c net.Conn) error {
	sc := &serverConn{srv: s, nc: c}
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		return ErrServerClosed
	}
	var victims []*serverConn
	for len(s.conns) >= s.cfg.MaxConns || s.preAuth.Len() >= s.cfg.MaxStartups {
		// The unauthenticated cap is the one to blame when both are full.
		why := limit.SSHMaxConns
		if s.preAuth.Len() >= s.cfg.MaxStartups {
			why = limit.SSHMaxStartups
		}
		v := s.popOldestPreAuthLocked(why)
		if v == nil {
			break
		}
		victims = append(victims, v)
	}
	full := len(s.conns) >= s.cfg.MaxConns
	if !full {
		s.conns[sc] = struct{}{}
		sc.pending = s.preAuth.PushBack(sc)
		s.reportLocked()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.untrackConn(sc)
			sc.serve()
		}()
	}
	s.mu.Unlock()
	s.evict(victims, "too many connections that have not authenticated")
	if full {
		return errTooManyConns
	}
	return nil
}

// freeDescriptor closes the oldest unauthenticated connection, for an
// accept that failed for want of a descriptor; it reports whether there
// was one.
func (s *Server) freeDescriptor() bool {
	s.mu.Lock()
	v := s.popOldestPreAuthLocked(limit.SSHOpenFiles)
	s.mu.Unlock()
	if v == nil {
		return false
	}
	s.evict([]*serverConn{v}, "out of file descriptors")
	return true
}

// popOldestPreAuthLocked takes the oldest unauthenticated connection out of
// the books (nil if none), an eviction for the limit why; the caller closes
// it with evict.
func (s *Server) popOldestPreAuthLocked(why limit.Name) *serverConn {
	e := s.preAuth.Front()
	if e == nil {
		return nil
	}
	v := s.preAuth.Remove(e).(*serverConn)
	v.pending = nil
	delete(s.conns, v)
	s.evicted++
	s.cfg.Observer.Limited(why, limit.Evicted)
	s.reportLocked()
	return v
}

// reportLocked tells the observer the connection counts after a change;
// s.mu is held, so the levels arrive in the order they were reached.
func (s *Server) reportLocked() {
	s.cfg.Observer.Connections(limit.SSH, len(s.conns), s.preAuth.Len())
}

// evict closes connections trackConn or freeDescriptor gave up (their
// goroutines then end and are waited for as usual), and says so in the
// log at most every evictionLogEvery.
func (s *Server) evict(victims []*serverConn, why string) {
	for _, v := range victims {
		_ = v.nc.Close()
	}
	s.mu.Lock()
	n, now := s.evicted, time.Now()
	if n == 0 || now.Sub(s.lastEvictLog) < evictionLogEvery {
		s.mu.Unlock()
		return
	}
	s.evicted, s.lastEvictLog = 0, now
	total, preAuth := len(s.conns), s.preAuth.Len()
	s.mu.Unlock()
	s.log.Warn("ssh: closed connections that had not authenticated, oldest first, to admit new ones",
		"closed", n, "why", why, "connections", total, "not_authenticated", preAuth,
		"max_conns", s.cfg.MaxConns, "max_startups", s.cfg.MaxStartups)
}

// authenticated takes sc out of the unauthenticated set: eviction no
// longer applies to it.
func (s *Server) authenticated(sc *serverConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sc.pending != nil {
		s.preAuth.Remove(sc.pending)
		sc.pending = nil
		s.reportLocked()
	}
}

func (s *Server) untrackConn(sc *serverConn) {
	s.mu.Lock()
	if _, ok := s.conns[sc]; ok { // not if evicted: that was reported
		delete(s.conns, sc)
		if sc.pending != nil {
			s.preAuth.Remove(sc.pending)
			sc.pending = nil
		}
		s.reportLocked()
	}
	s.mu.Unlock()
	_ = sc.nc.Close()
}

// acquireSession counts a new session unless the server is shutting down or
// at its limit.
func (s *Server) acquireSession() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown {
		return ErrServerClosed
	}
	if s.sessions >= s.cfg.MaxSessions {
		s.cfg.Observer.Limited(limit.SSHMaxSessions, limit.Refused)
		return errTooManySessions
	}
	s.sessions++
	return nil
}

func (s *Server) releaseSession() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions--
	if s.sessions == 0 && s.shutdown {
		close(s.idle)
		s.idle = make(chan struct{})
	}
}

var errTooManySessions = errors.New("ssh: too many sessions")

// Shutdown stops accepting connections and new sessions, waits for running
// sessions to end until ctx is done, then closes every connection and waits
// for all server goroutines. It returns ctx's error if sessions were cut.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shutdown = true
	for ln := range s.listeners {
		_ = ln.Close()
	}
	busy := s.sessions > 0
	idle := s.idle
	s.mu.Unlock()

	var err error
	if busy {
		select {
		case <-idle:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	s.closeConns()
	s.cancelBase()
	s.wg.Wait()
	return errors.Join(err, s.scratch.Close())
}

// Close closes listeners and every connection at once and waits for the
// server's goroutines to exit.
func (s *Server) Close() error {
	s.mu.Lock()
	s.shutdown = true
	for ln := range s.listeners {
		_ = ln.Close()
	}
	s.mu.Unlock()
	s.closeConns()
	s.cancelBase()
	s.wg.Wait()
	return s.scratch.Close()
}

func (s *Server) closeConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sc := range s.conns {
		_ = sc.nc.Close()
	}
}

// serverConn is one TCP connection.
type serverConn struct {
	srv *Server
	nc  net.Conn
	// pending is sc's element in srv.preAuth until it authenticates (nil
	// after, or once evicted); guarded by srv.mu.
	pending *list.Element
}

// logAuth logs a failed authentication attempt ("none" is every client's
// first probe, not worth a line).
func (s *Server) logAuth(md gossh.ConnMetadata, method string, err error) {
	if err != nil && method != "none" {
		s.log.Info("ssh auth failed", "user", md.User(), "remote", md.RemoteAddr().String(), "method", method, "err", err)
	}
}

func (c *serverConn) serve() {
	s := c.srv
	_ = c.nc.SetDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	// A connection stops being evictable the moment its authentication
	// succeeds (after the signature is verified), not when NewServerConn
	// returns: the client may already be opening a session by then, and a
	// newcomer at the cap must not push out a connection that is in. The
	// config is copied per connection for that callback only.
	cfg := *s.config
	// An authentication attempt failed, or one succeeded (AuthLogCallback
	// runs on this goroutine).
	failed, authed := false, false
	cfg.AuthLogCallback = func(md gossh.ConnMetadata, method string, err error) {
		s.logAuth(md, method, err)
		if err == nil {
			authed = true
			s.authenticated(c)
		} else if method != "none" {
			failed = true
		}
	}
	conn, chans, reqs, err := gossh.NewServerConn(c.nc, &cfg)
	if err != nil {
		s.log.Debug("ssh: handshake failed", "remote", c.nc.RemoteAddr().String(), "err", err)
		if l, ok := handshakeLimit(err); ok {
			s.cfg.Observer.Limited(l, limit.Closed)
		}
		if !authed {
			s.penalise(c.nc, err, failed)
		}
		return
	}
	_ = c.nc.SetDeadline(time.Time{})
	s.authenticated(c)
	defer conn.Close()
	identity := conn.Permissions.Extensions[extFingerprint]
	log := s.log.With("user", conn.User(), "key", identity, "remote", conn.RemoteAddr().String())
	log.Info("ssh: connection authenticated")

	ctx, cancel := context.WithCancel(s.base)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		_ = conn.Close()
		wg.Wait()
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		gossh.DiscardRequests(reqs)
	}()

	perConn := make(chan struct{}, s.cfg.MaxSessionsPerConn)
	for nch := range chans {
		if nch.ChannelType() != "session" {
			_ = nch.Reject(gossh.UnknownChannelType, "unknown channel type")
			continue
		}
		select {
		case perConn <- struct{}{}:
		default:
			s.cfg.Observer.Limited(limit.SSHMaxSessionsPerConn, limit.Refused)
			_ = nch.Reject(gossh.ResourceShortage, "too many sessions on this connection")
			continue
		}
		if err := s.acquireSession(); err != nil {
			<-perConn
			_ = nch.Reject(gossh.ResourceShortage, err.Error())
			continue
		}
		ch, chReqs, err := nch.Accept()
		if err != nil {
			<-perConn
			s.releaseSession()
			continue
		}
		var once sync.Once
		sess := &session{
			srv:  s,
			ch:   ch,
			reqs: chReqs,
			user: conn.User(),
			who:  fmt.Sprintf("ssh %s@%s key %s", conn.User(), conn.RemoteAddr(), identity),
			log:  log,
			env:  map[string]string{},
			// release frees the session's slots; finish calls it before
			// CLOSE so that a client opening its next session right after
			// this one ended is never refused for a slot still counted.
			release: func() {
				once.Do(func() {
					<-perConn
					s.releaseSession()
				})
			},
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer sess.release()
			sess.serve(ctx)
		}()
	}
}

// handshakeLimit is the limit that ended a failed handshake, if one did:
// the login deadline (the connection's deadline passed: an evicted
// connection fails with "use of closed network connection" instead), or
// MaxAuthTries (x/crypto disconnects with "too many authentication
// failures"; it has no error type for it, and TestLimitMetricsSSH pins the
// words).
func handshakeLimit(err error) (limit.Name, bool) {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return limit.SSHLoginGrace, true
	}
	var ae *gossh.ServerAuthError
	if errors.As(err, &ae) && len(ae.Errors) > 0 &&
		strings.Contains(ae.Errors[len(ae.Errors)-1].Error(), "too many authentication failures") {
		return limit.SSHMaxAuthTries, true
	}
	return "", false
}
