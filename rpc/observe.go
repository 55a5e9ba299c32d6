package rpc

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"quintupleo/internal/actionlog"
	"quintupleo/internal/limit"
	"quintupleo/virt"
)

// Observer is told of every call the server answered, every time a limit
// acted and the level of the listeners' connections, for the operator's
// metrics (cmd wires one; rpc imports no metrics library). Its methods
// must be quick and safe for concurrent use.
type Observer interface {
	// Call is one CALL answered: the procedure's name (REMOTE_PROC_
	// suffix, or its number when the protocol has none), the libvirt error
	// code the client was told (0, VIR_ERR_OK, on success) and how long
	// the answer took.
	Call(proc string, code int, took time.Duration)
	// Limited is one act of a limit (limit.Events lists the pairs).
	Limited(l limit.Name, o limit.Outcome)
	// Connections is the level after a change of the connections accepted
	// from listeners (in-process ones are the SSH side's to bound): how
	// many, and how many of them have not completed CONNECT_OPEN.
	Connections(f limit.Front, open, unauthenticated int)
}

// WithObserver sets the Observer (default: nobody).
func WithObserver(o Observer) Option { return func(s *Server) { s.obs = o } }

type nopObserver struct{}

func (nopObserver) Call(string, int, time.Duration)   {}
func (nopObserver) Limited(limit.Name, limit.Outcome) {}
func (nopObserver) Connections(limit.Front, int, int) {}

// callNote is what a call's handler tells the call's log line: the cloud
// requests it cost and the domain its arguments named.
type callNote struct {
	calls *actionlog.Counter
	dom   []any // slog attributes (argDomain)
}

type callNoteKey struct{}

// withCallNote returns ctx carrying a fresh note for one call.
func withCallNote(ctx context.Context) (context.Context, *callNote) {
	ctx, calls := actionlog.WithCounter(ctx)
	n := &callNote{calls: calls}
	return context.WithValue(ctx, callNoteKey{}, n), n
}

// noteDomain records the domain args name on the call's note, if any.
func noteDomain(ctx context.Context, args any) {
	if n, ok := ctx.Value(callNoteKey{}).(*callNote); ok {
		n.dom = argDomain(args)
	}
}

// resultCode is the libvirt error code a client is told for err (0 for
// nil), as toRemoteError makes it.
func resultCode(err error) int {
	if err == nil {
		return 0
	}
	return int(toRemoteError(err).Code)
}

// logCall is the one line of a call, and its observation. A call that
// changes something (a procedure a read-only connection may not make) is
// a client action, logged at info with who (the connection's logger), what,
// which domain, the cloud requests it cost, how long it took and its
// result; queries are logged at debug; failures as logFailure says.
func (c *conn) logCall(p procedure, name string, serial int32, note *callNote, err error, took time.Duration) {
	c.srv.obs.Call(name, resultCode(err), took)
	if l, ok := refusingLimit(err); ok {
		c.srv.obs.Limited(l, limit.Refused)
	}
	if err != nil {
		c.logFailure(name, err, took, "cloud_calls", note.calls.N())
		return
	}
	level := slog.LevelDebug
	if !p.readOnly {
		level = slog.LevelInfo
	}
	attrs := append([]any{"proc", name, "serial", serial}, note.dom...)
	attrs = append(attrs, "cloud_calls", note.calls.N(), "duration", took, "result", "ok")
	c.log.Log(c.ctx, level, "rpc: call", attrs...)
}

// clientAttrs are the attributes naming a connection's client beyond its
// address: who an in-process connection was made for (the SSH session's
// user, address and key, actionlog).
func clientAttrs(ctx context.Context) []any {
	if who := actionlog.Client(ctx); who != "" {
		return []any{"client", who}
	}
	return nil
}

// refusingLimit is the limit that refused a call, if one did: the error's
// cause says so (the XML guard's *virt.XMLLimitError, the decoder's
// string cap, the event-callback cap). Classifying the answer here, where
// every call of every front ends, keeps the observer out of virt and the
// drivers that call the XML guard.
func refusingLimit(err error) (limit.Name, bool) {
	if err == nil {
		return "", false
	}
	var xe *virt.XMLLimitError
	switch {
	case errors.As(err, &xe):
		switch xe.Bound {
		case virt.XMLBoundSize:
			return limit.XMLSize, true
		case virt.XMLBoundDepth:
			return limit.XMLDepth, true
		case virt.XMLBoundEntity:
			return limit.XMLEntities, true
		}
	case errors.Is(err, errStringTooLong):
		return limit.StringSize, true
	case errors.Is(err, errCallbackCap):
		return limit.EventCallbacks, true
	}
	return "", false
}
