package rpc

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"quintupleo/internal/acceptloop"
	"quintupleo/internal/limit"
)

// ErrServerClosed is returned by Serve and ServeConn after
// Shutdown or Close.
var ErrServerClosed = errors.New("rpc: server closed")

// Option configures a Server.
type Option func(*Server)

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithKeepalive sets the keepalive interval and the number of unanswered
// PINGs after which a peer is dropped (libvirtd's keepalive_interval and
// keepalive_count; default 5 s and 5). An interval ≤ 0 disables sending
// PINGs; PINGs from clients are always answered.
func WithKeepalive(interval time.Duration, count int) Option {
	return func(s *Server) { s.kaInterval, s.kaCount = interval, count }
}

// WithMaxCallsPerConn bounds the calls one connection may have in flight
// (libvirtd's max_client_requests; default 5). When the bound is reached the
// connection's further packets wait unread.
func WithMaxCallsPerConn(n int) Option {
	return func(s *Server) {
		if n > 0 {
			s.maxCalls = n
		}
	}
}

// WithMaxEventCallbacks bounds the event callbacks (domain and network,
// every registration procedure) one connection may hold at once (default
// DefaultMaxEventCallbacks; n ≤ 0 keeps it). libvirtd has no such bound:
// each registration costs the server memory for as long as the connection
// lasts, so without one a single client grows the process without end.
func WithMaxEventCallbacks(n int) Option {
	return func(s *Server) {
		if n > 0 {
			s.maxCallbacks = n
		}
	}
}

// DefaultMaxEventCallbacks is ten times what `virsh event --all` holds (one
// callback per domain event ID, 24 in libvirt 9.0), and a few hundred
// bytes per callback for each of --max-clients connections.
const DefaultMaxEventCallbacks = 256

// WithMaxClients bounds the connections accepted by Serve at once, over all listeners (libvirtd's max_clients). n ≤ 0 means
// DefaultMaxClients(): libvirtd's 5000, or less when the open-file limit
// would not leave room for the rest of the process. Connections handed to
// ServeConn (SSH channels, pipes) are not counted: their owner bounds them.
func WithMaxClients(n int) Option { return func(s *Server) { s.maxClients = n } }

// WithMaxAnonymousClients bounds the accepted connections that have not
// completed CONNECT_OPEN (cf. libvirtd's max_anonymous_clients; default
// DefaultMaxAnonymousClients). When it is reached, the oldest of them is
// closed to admit the new one (see admission).
func WithMaxAnonymousClients(n int) Option { return func(s *Server) { s.maxPreOpen = n } }

// WithHandshakeTimeout bounds a Policy's Authorize (a TLS handshake) for one
// connection (default DefaultHandshakeTimeout; d ≤ 0 keeps it). A client
// that stalls its handshake is refused then, whatever the open timeout.
func WithHandshakeTimeout(d time.Duration) Option {
	return func(s *Server) {
		if d > 0 {
			s.handshakeTimeout = d
		}
	}
}

// WithOpenTimeout closes an accepted connection that has not completed
// CONNECT_OPEN within d of being accepted; d ≤ 0 disables it (default
// DefaultOpenTimeout).
func WithOpenTimeout(d time.Duration) Option { return func(s *Server) { s.openTimeout = d } }

// Server serves the libvirt remote protocol over any number of connections.
// Its methods are safe for concurrent use.
type Server struct {
	drivers    Drivers
	log        *slog.Logger
	obs        Observer
	kaInterval time.Duration
	kaCount    int
	maxCalls   int
	// maxCallbacks bounds a connection's event registrations.
	maxCallbacks int

	// Limits of the connections Serve accepts (WithMaxClients,
	// WithMaxAnonymousClients, WithOpenTimeout) and their bookkeeping.
	maxClients, maxPreOpen int
	openTimeout            time.Duration
	handshakeTimeout       time.Duration
	adm                    *admission

	// lists caches encoded CONNECT_LIST_ALL_DOMAINS replies (listcache.go).
	lists listCache

	// nextCallbackID numbers event callbacks across all connections, as
	// libvirtd does.
	nextCallbackID atomic.Int32

	// base is cancelled by Close; connections accepted by Serve derive from it.
	base       context.Context
	cancelBase context.CancelFunc

	mu sync.Mutex // guards the fields below
	// listeners being served.
	listeners map[net.Listener]struct{}
	// conns being served, by Serve or by ServeConn callers.
	conns map[*conn]struct{}
	// shutdown is set by Shutdown/Close: no new listeners or connections.
	shutdown bool
	// drained is closed when shutdown is set and conns is empty.
	drained chan struct{}

	// wg counts goroutines the server started (one per accepted connection)
	// and ServeConn/Serve calls in progress.
	wg sync.WaitGroup
}

// NewServer returns a Server answering from d. It starts no goroutine.
func NewServer(d Drivers, opts ...Option) *Server {
	s := &Server{
		drivers:          d,
		log:              slog.New(slog.NewTextHandler(io.Discard, nil)),
		obs:              nopObserver{},
		kaInterval:       5 * time.Second,
		kaCount:          5,
		maxCalls:         5,
		maxCallbacks:     DefaultMaxEventCallbacks,
		maxPreOpen:       DefaultMaxAnonymousClients,
		openTimeout:      DefaultOpenTimeout,
		handshakeTimeout: DefaultHandshakeTimeout,
		listeners:        map[net.Listener]struct{}{},
		conns:            map[*conn]struct{}{},
		drained:          make(chan struct{}),
	}
	for _, o := range opts {
		o(s)
	}
	s.applyLimits()
	// The server is the lifetime owner of the connections it accepts.
	s.base, s.cancelBase = context.WithCancel(context.Background())
	return s
}

// applyLimits resolves the connection limits' defaults and logs them, so
// an operator sees what a small open-file limit made of them.
func (s *Server) applyLimits() {
	auto, nofile := DefaultMaxClients()
	if s.maxClients <= 0 {
		s.maxClients = auto
	} else if nofile != 0 && s.maxClients > fdBudget(nofile) {
		s.log.Warn("rpc: max clients leaves little of the open-file limit to SSH and the cloud",
			"max_clients", s.maxClients, "open_file_limit", nofile, "default_for_this_limit", auto)
	}
	if s.maxPreOpen <= 0 {
		s.maxPreOpen = DefaultMaxAnonymousClients
	}
	s.adm = newAdmission(s.maxClients, s.maxPreOpen, s.obs)
	s.log.Info("rpc: connection limits", "max_clients", s.maxClients, "max_anonymous_clients", s.adm.maxPreOpen,
		"open_timeout", s.openTimeout, "open_file_limit", nofile)
}

// Policy is what the connections of one listener (Serve), or one
// connection (ServeConn), may do: one rule for every libvirt front, read-write
// or read-only per listener and, through Authorize, per client identity (a
// TLS client certificate's DN; an SSH key's fingerprint is the next).
type Policy struct {
	// ReadOnly makes every connection read-only whatever flags it opens
	// with, as libvirtd's libvirt-sock-ro.
	ReadOnly bool
	// Authorize, when set, runs once per connection before its first packet
	// is read, under the handshake deadline (WithHandshakeTimeout): it
	// authenticates the peer (ListenTLS's connections complete their
	// handshake here) and says whether this identity is read-only. An error
	// refuses the client: the connection is closed and the error logged.
	Authorize func(ctx context.Context, nc net.Conn) (readOnly bool, err error)
}

// Serve accepts connections on ln and serves each in its own goroutine, under
// policy p, until ln fails or the server is shut down (then it returns
// ErrServerClosed). Temporary accept errors back off from 5 ms to 1 s, as
// net/http does.
func (s *Server) Serve(ln net.Listener, p Policy) error { return s.serve(ln, p) }

// serve is the accept loop. It accepts only when admission has room (so
// the caps also bound the descriptors a flood can take), and when accept
// fails for want of a descriptor it first frees one held by a connection
// that has not opened, then backs off: it never spins.
func (s *Server) serve(ln net.Listener, p Policy) error {
	if !s.trackListener(ln, true) {
		ln.Close()
		return ErrServerClosed
	}
	defer s.trackListener(ln, false)

	return acceptloop.Loop{
		Name: "rpc",
		Log:  s.log,
		Closed: func() error {
			if s.isShutdown() {
				return ErrServerClosed
			}
			return nil
		},
		Ready: func() error { return s.adm.wait(s.base) },
		FreeDescriptor: func() bool {
			v := s.adm.evictOldest()
			if v != nil {
				s.evict([]*conn{v}, "out of file descriptors")
			}
			return v != nil
		},
		Handle: func(nc net.Conn) error {
			if !s.addWG() {
				nc.Close()
				return ErrServerClosed
			}
			s.admitAndServe(nc, p)
			return nil
		},
	}.Run(s.base, ln)
}

// admitAndServe counts nc in (closing whatever connections that evicts, or
// waiting for a slot) and serves it on its own goroutine, under the open
// deadline. The caller has done s.wg.Add for it.
func (s *Server) admitAndServe(nc net.Conn, p Policy) {
	c := newConn(s.base, s, nc, p.ReadOnly)
	victims, err := s.adm.admit(s.base, c)
	s.evict(victims, "too many connections that have not opened")
	if err != nil {
		nc.Close()
		s.wg.Done()
		return
	}
	go func() {
		defer s.wg.Done()
		defer s.adm.release(c)
		if s.openTimeout > 0 {
			t := time.AfterFunc(s.openTimeout, func() {
				if !c.isOpen() {
					c.log.Info("rpc: closing a connection that did not open in time", "open_timeout", s.openTimeout)
					s.obs.Limited(limit.OpenTimeout, limit.Closed)
					c.close(ErrOpenTimeout)
				}
			})
			defer t.Stop()
		}
		if err := s.run(c, p.Authorize); err != nil && !errors.Is(err, ErrServerClosed) {
			s.log.Debug("rpc: connection ended", "remote", nc.RemoteAddr(), "err", err)
		}
	}()
}

// evict closes connections admission gave up, and says so in the log at
// most every evictionLogEvery.
func (s *Server) evict(victims []*conn, why string) {
	for _, v := range victims {
		v.close(errEvicted)
	}
	if n := s.adm.evictionsToLog(time.Now()); n > 0 {
		total, preOpen := s.adm.counts()
		s.log.Warn("rpc: closed connections that had not completed CONNECT_OPEN, oldest first, to admit new ones",
			"closed", n, "why", why, "connections", total, "not_opened", preOpen,
			"max_clients", s.maxClients, "max_anonymous_clients", s.adm.maxPreOpen)
	}
}

// ServeConn serves one already-established connection (an SSH channel, an
// in-process pipe) under policy p until the peer goes away, ctx is
// cancelled, or the server is closed. It closes c before returning. A clean
// end of the peer's stream returns nil.
func (s *Server) ServeConn(ctx context.Context, c net.Conn, p Policy) error {
	if !s.addWG() {
		c.Close()
		return ErrServerClosed
	}
	defer s.wg.Done()
	return s.run(newConn(ctx, s, c, p.ReadOnly), p.Authorize)
}

// run authorizes c, then serves it until it ends.
func (s *Server) run(c *conn, authorize func(context.Context, net.Conn) (bool, error)) error {
	if !s.trackConn(c, true) {
		c.nc.Close()
		return ErrServerClosed
	}
	defer s.trackConn(c, false)
	if err := c.authorize(authorize); err != nil {
		c.close(err)
		return err
	}
	return c.serve()
}

// Shutdown stops accepting, lets connections finish the calls in flight
// (each closes once it has none), and waits for them until ctx is done; then
// it closes whatever remains, as Close does, and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	conns := s.beginShutdown()
	for _, c := range conns {
		c.drain()
	}
	select {
	case <-s.drained:
		s.cancelBase()
		s.wg.Wait()
		return nil
	case <-ctx.Done():
		s.Close()
		return ctx.Err()
	}
}

// Close closes every listener and connection at once and returns after all
// the server's goroutines have exited.
func (s *Server) Close() error {
	conns := s.beginShutdown()
	s.cancelBase()
	for _, c := range conns {
		c.close(ErrServerClosed)
	}
	s.wg.Wait()
	return nil
}

// beginShutdown marks the server shut down, closes its listeners and
// returns the connections still open.
func (s *Server) beginShutdown() []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.shutdown {
		s.shutdown = true
		s.adm.shutdown()
		if len(s.conns) == 0 {
			close(s.drained)
		}
	}
	for ln := range s.listeners {
		ln.Close()
		delete(s.listeners, ln)
	}
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	return conns
}

func (s *Server) isShutdown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shutdown
}

// addWG counts one more goroutine unless the server is shut down.
func (s *Server) addWG() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown {
		return false
	}
	s.wg.Add(1)
	return true
}

func (s *Server) trackListener(ln net.Listener, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !add {
		delete(s.listeners, ln)
		return true
	}
	if s.shutdown {
		return false
	}
	s.listeners[ln] = struct{}{}
	return true
}

func (s *Server) trackConn(c *conn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !add {
		delete(s.conns, c)
		if s.shutdown && len(s.conns) == 0 {
			select {
			case <-s.drained:
			default:
				close(s.drained)
			}
		}
		return true
	}
	if s.shutdown {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}
