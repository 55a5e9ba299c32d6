package rpc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/digitalocean/go-libvirt"

	"quintupleo/internal/limit"
)

// errPeerClosed is the cancellation cause when the peer goes away.
var errPeerClosed = errors.New("rpc: peer closed the connection")

// conn is one client connection: its reader loop, its calls in flight, its
// libvirt state (opened? read-only? event callbacks) and its keepalive.
type conn struct {
	srv    *Server
	nc     net.Conn
	log    *slog.Logger
	ctx    context.Context // cancelled when the connection ends
	cancel context.CancelCauseFunc
	sem    chan struct{} // one token per call in flight

	// lastRecv is when a packet last arrived (UnixNano), for keepalive.
	lastRecv atomic.Int64

	wmu  sync.Mutex // serialises writes to nc; guards wbuf
	wbuf []byte

	mu sync.Mutex // guards the fields below
	// forceRO: served on a read-only listener.
	forceRO bool
	// opened after a successful CONNECT_OPEN; uri is the name it opened.
	opened   bool
	readOnly bool
	uri      string
	// inflight counts calls being handled; draining closes the
	// connection once it drops to zero (Server.Shutdown).
	inflight int
	draining bool
	// keepalive is set once SUPPORTS_FEATURE(10) started it.
	keepalive bool
	// events: callback registrations and the Domains subscription feeding them.
	callbacks map[int32]eventCallback
	legacy    map[int32]bool // legacy REGISTER_ANY registrations, by event ID
	sub       *subscription
	netEvents netEvents // network event callbacks (h_network.go)

	// wg counts the goroutines this connection started (calls, keepalive,
	// event pump); serve waits for them.
	wg sync.WaitGroup
}

func newConn(ctx context.Context, s *Server, nc net.Conn, readOnly bool) *conn {
	cctx, cancel := context.WithCancelCause(ctx)
	c := &conn{
		srv:       s,
		nc:        nc,
		log:       s.log.With(append([]any{"remote", nc.RemoteAddr().String()}, clientAttrs(ctx)...)...),
		ctx:       cctx,
		cancel:    cancel,
		sem:       make(chan struct{}, s.maxCalls),
		forceRO:   readOnly,
		readOnly:  readOnly,
		callbacks: map[int32]eventCallback{},
		legacy:    map[int32]bool{},
	}
	c.lastRecv.Store(time.Now().UnixNano())
	return c
}

// serve runs the reader loop until the connection ends, then waits for
// every goroutine of the connection.
func (c *conn) serve() (err error) {
	// Closing nc when ctx ends unblocks the reader.
	stop := context.AfterFunc(c.ctx, func() { c.nc.Close() })
	defer func() {
		stop()
		c.close(errPeerClosed)
		c.wg.Wait()
		c.stopEvents()
	}()
	br := bufio.NewReader(c.nc)
	for {
		h, body, err := readFrame(br)
		if err != nil {
			if c.ctx.Err() != nil {
				return c.endCause()
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			var fe *FrameError
			if errors.As(err, &fe) && fe.Len > MaxMessageSize {
				c.srv.obs.Limited(limit.MessageSize, limit.Closed)
			}
			c.log.Warn("rpc: dropping connection", "err", err)
			return err
		}
		c.lastRecv.Store(time.Now().UnixNano())
		if !c.route(h, body) {
			return c.endCause()
		}
	}
}

// authorize runs a Policy's Authorize before the first packet is read,
// within the handshake deadline, and makes the connection read-only if the
// identity it found is. An error refuses the client.
func (c *conn) authorize(f func(context.Context, net.Conn) (bool, error)) error {
	if f == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.srv.handshakeTimeout)
	defer cancel()
	readOnly, err := f(ctx, c.nc)
	if err != nil {
		if l, ok := tlsRefusal(err); ok {
			c.srv.obs.Limited(l, limit.Refused)
		} else if errors.Is(err, context.DeadlineExceeded) && c.ctx.Err() == nil {
			c.srv.obs.Limited(limit.TLSHandshakeTimeout, limit.Closed)
		}
		c.log.Warn("rpc: client refused", "err", err)
		return fmt.Errorf("rpc: client refused: %w", err)
	}
	if dn := peerDN(c.nc); dn != "" {
		c.log = c.log.With("dn", dn) // before the first packet: no call reads it yet
	}
	if readOnly {
		c.mu.Lock()
		c.forceRO, c.readOnly = true, true
		c.mu.Unlock()
	}
	return nil
}

// endCause is what serve returns once the connection's ctx has ended: nil
// when the peer or the protocol ended it, else the reason (server closed,
// keepalive timeout, the caller's ctx).
func (c *conn) endCause() error {
	cause := context.Cause(c.ctx)
	if errors.Is(cause, errPeerClosed) {
		return nil
	}
	return cause
}

// route handles one packet. It returns false when the connection is ending.
func (c *conn) route(h Header, body []byte) bool {
	switch {
	case h.Program == KeepaliveProgram && h.Type == TypeMessage:
		switch h.Procedure {
		case ProcKeepalivePing:
			c.writeKeepalive(ProcKeepalivePong)
		case ProcKeepalivePong:
			// lastRecv was updated; nothing else to do.
		default:
			c.log.Warn("rpc: unknown keepalive procedure; ignored", "proc", h.Procedure)
		}
		return true
	case h.Type != TypeCall:
		// libvirtd drops these silently; we answer so the peer learns.
		c.replyError(h, errUnexpectedType(h.Type))
		return true
	case h.Program != RemoteProgram || h.Version != RemoteVersion:
		c.replyError(h, errCannotFindProgram(h.Program, h.Version))
		return true
	case h.Status != StatusOK:
		c.replyError(h, errUnexpectedStatus(h.Status))
		return true
	}

	// A CALL: run it on its own goroutine, at most maxCalls at a time, so a
	// slow driver call neither blocks PINGs nor other calls.
	select {
	case c.sem <- struct{}{}:
	default:
		// At the bound: nothing more is read from this connection until a
		// call ends.
		c.srv.obs.Limited(limit.MaxClientRequests, limit.Waited)
		select {
		case c.sem <- struct{}{}:
		case <-c.ctx.Done():
			return false
		}
	}
	c.mu.Lock()
	if c.draining {
		c.mu.Unlock()
		<-c.sem
		c.close(ErrServerClosed)
		return false
	}
	c.inflight++
	c.wg.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.wg.Done()
		closeAfter := c.dispatch(h, body)
		if h.Procedure == ProcConnectOpen {
			c.srv.adm.opened(c)
		}
		<-c.sem
		c.mu.Lock()
		c.inflight--
		idle := c.draining && c.inflight == 0
		c.mu.Unlock()
		if closeAfter || idle {
			c.close(errPeerClosed)
		}
	}()
	return true
}

// dispatch runs one CALL and writes its reply. It reports whether the
// connection should close afterwards.
func (c *conn) dispatch(h Header, body []byte) (closeAfter bool) {
	name := procNames[h.Procedure]
	if name == "" {
		name = fmt.Sprint(h.Procedure)
	}
	start := time.Now()
	ctx, note := withCallNote(c.ctx)
	p, err := c.admit(h.Procedure)
	defer func() { c.logCall(p, name, h.Serial, note, err, time.Since(start)) }()
	var ret any
	if err == nil {
		ret, err = p.call(ctx, c, body)
	}
	if err != nil {
		c.replyErrorNamed(h, name, err)
		return false
	}
	out, err := encode(ret)
	if err != nil {
		c.replyErrorNamed(h, name, err)
		return false
	}
	reply := h
	reply.Type, reply.Status = TypeReply, StatusOK
	if werr := c.write(reply, out); werr != nil {
		var fe *FrameError
		if errors.As(werr, &fe) {
			err = errRPC("reply too large", werr)
			c.replyErrorNamed(h, name, err)
		}
		return false
	}
	return p.closes
}

// admit finds the row of a CALL and decides whether it may run, in
// libvirtd's order: a procedure of the protocol ("unknown procedure"
// otherwise), an open connection, allowed on a read-only one, and a driver
// that has it — a procedure without a row, or whose family has no driver,
// is a function the connection's drivers lack (VIR_ERR_NO_SUPPORT). The
// read-only check comes before that one for every procedure, rows or not,
// as libvirt's public API checks it before it asks the driver: a read-only
// connection hears "read only access prevents virDomainSuspend", never that
// the function is missing (readonly.go).
func (c *conn) admit(proc uint32) (procedure, error) {
	api, inProtocol := procAPIs[proc]
	if !inProtocol {
		return procedure{}, errUnknownProcedure(proc)
	}
	p, implemented := procedures[proc]
	switch {
	case !p.preOpen && !c.isOpen():
		return procedure{}, errNotOpen()
	case !allowedReadOnly(p, implemented, api) && c.isReadOnly():
		return procedure{}, errReadOnly(api.name)
	case !implemented || !c.srv.drivers.wired(p.family):
		return procedure{}, errNoSupport(api)
	}
	return p, nil
}

// replyError answers a packet the dispatcher refused before any procedure
// ran (wrong program, type or status).
func (c *conn) replyError(h Header, err error) {
	name := fmt.Sprint(h.Procedure)
	c.logFailure(name, err, 0)
	c.replyErrorNamed(h, name, err)
}

// replyErrorNamed answers the call h with err. It never drops the answer:
// strings a client would refuse (over REMOTE_STRING_MAX, e.g. a huge name
// echoed back in "no domain with matching name") are cut, which also keeps
// the packet under VIR_NET_MESSAGE_MAX, so the caller hears back at once.
func (c *conn) replyErrorNamed(h Header, name string, err error) {
	re := toRemoteError(err)
	fitRemoteError(re)
	body, eerr := encode(re)
	if eerr != nil {
		c.log.Error("rpc: encoding an error reply", "err", eerr)
		c.close(eerr)
		return
	}
	reply := h
	reply.Type, reply.Status = TypeReply, StatusError
	if werr := c.write(reply, body); werr != nil {
		var fe *FrameError
		if errors.As(werr, &fe) {
			// Cannot happen (four strings of 4 MiB fit in 32 MiB); if it
			// ever does, the peer must not wait forever for its reply.
			c.log.Error("rpc: error reply does not fit a packet; closing", "proc", name, "err", werr)
			c.close(werr)
		}
	}
}

// writeKeepalive sends a PING or PONG.
func (c *conn) writeKeepalive(proc uint32) {
	c.write(Header{Program: KeepaliveProgram, Version: KeepaliveVersion, Procedure: proc, Type: TypeMessage}, nil)
}

// write sends one packet. A failed write ends the connection. An oversized
// packet is not sent and is reported as a *FrameError.
func (c *conn) write(h Header, body []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	buf, err := appendFrame(c.wbuf[:0], h, body)
	if err != nil {
		return err
	}
	if cap(buf) <= 64<<10 {
		c.wbuf = buf
	}
	if _, err := c.nc.Write(buf); err != nil {
		c.close(fmt.Errorf("rpc: write: %w", err))
		return err
	}
	return nil
}

// close ends the connection with cause; safe to call many times.
func (c *conn) close(cause error) {
	c.cancel(cause)
	c.nc.Close()
}

// drain makes the connection close as soon as no call is in flight.
func (c *conn) drain() {
	c.mu.Lock()
	c.draining = true
	idle := c.inflight == 0
	c.mu.Unlock()
	if idle {
		c.close(ErrServerClosed)
	}
}

func (c *conn) isOpen() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.opened
}

func (c *conn) isReadOnly() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.readOnly
}

// connectFlagRO is VIR_CONNECT_RO.
const connectFlagRO = uint32(libvirt.ConnectRo)
