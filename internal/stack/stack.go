package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"
)

// shutdownTimeout bounds the graceful part of Run's shutdown: calls in
// flight may finish within it, then whatever remains is closed.
const shutdownTimeout = 10 * time.Second

// partReserve is the part of shutdownTimeout each part keeps for those
// after it: the parts stop one after the other, and one waiting for a
// lingering client (an idle SSH shell) used to take the whole timeout,
// leaving the libvirt calls in flight after it an expired deadline.
const partReserve = time.Second

// Stack is one quintupleo being built, then run: what its builders
// registered, in the order they did.
type Stack struct {
	log       *slog.Logger
	loops     []loop
	listeners []*Listener
	shutdowns []shutdown
	// shutdownTimeout and partReserve are the constants'; tests shorten
	// them.
	shutdownTimeout, partReserve time.Duration
	closers                      []func() error
	bound                        bool
	closeOnce                    sync.Once
}

// loop is a background goroutine that runs until its ctx ends.
type loop struct {
	name string
	run  func(ctx context.Context) error
}

// shutdown is one part's graceful stop, bounded by its ctx.
type shutdown struct {
	name string
	stop func(ctx context.Context) error
}

// Listener is one listening socket a builder asked for: bound by Bind,
// served by Run.
type Listener struct {
	spec ListenSpec
	ln   net.Listener
}

// Addr is the bound address (the port the kernel chose for ":0"); nil
// before Bind.
func (l *Listener) Addr() net.Addr {
	if l.ln == nil {
		return nil
	}
	return l.ln.Addr()
}

// New returns an empty stack logging to log.
func New(log *slog.Logger) *Stack {
	return &Stack{log: log, shutdownTimeout: shutdownTimeout, partReserve: partReserve}
}

// Go registers a background loop that Run starts and that runs until Run's
// ctx ends (after every part has shut down).
func (st *Stack) Go(name string, run func(ctx context.Context) error) {
	st.loops = append(st.loops, loop{name, run})
}

// ListenSpec describes a listener for Listen.
type ListenSpec struct {
	What    string                       // log message of its line: "libvirt TCP listener"
	Key     string                       // attribute naming it in the ready line: "libvirt_tcp"
	AddrKey string                       // attribute of its address on its own line (default "addr")
	Attrs   []any                        // more attributes for its own line
	Listen  func() (net.Listener, error) // binds it (called by Bind)
	// Serve serves it until it is closed; it returns nil when the part was
	// shut down (its own "server closed" error mapped to nil).
	Serve func(net.Listener) error
}

// Listen registers a listener. Nothing is bound until Bind.
func (st *Stack) Listen(spec ListenSpec) *Listener {
	if spec.AddrKey == "" {
		spec.AddrKey = "addr"
	}
	l := &Listener{spec: spec}
	st.listeners = append(st.listeners, l)
	return l
}

// OnShutdown registers a part's graceful stop. Run calls them in the
// reverse order of registration, so a front end stops before what it uses.
func (st *Stack) OnShutdown(name string, stop func(ctx context.Context) error) {
	st.shutdowns = append(st.shutdowns, shutdown{name, stop})
}

// OnClose registers a resource Close releases, after everything else, in
// the reverse order of registration.
func (st *Stack) OnClose(close func() error) {
	st.closers = append(st.closers, close)
}

// Bind binds every registered listener, in order, once the whole stack is
// built. If one fails, those already bound are closed: nothing has served.
func (st *Stack) Bind() error {
	for _, l := range st.listeners {
		ln, err := l.spec.Listen()
		if err != nil {
			st.closeListeners()
			return err
		}
		l.ln = ln
	}
	for _, l := range st.listeners {
		st.log.Info(l.spec.What, append([]any{l.spec.AddrKey, l.ln.Addr().String()}, l.spec.Attrs...)...)
	}
	st.bound = true
	return nil
}

// Run serves until ctx ends or a part fails, then shuts every part down in
// reverse order (within shutdownTimeout), stops the loops, waits for every
// goroutine it started and closes the stack. Bind must have succeeded.
func (st *Stack) Run(ctx context.Context) error {
	defer st.Close()
	if !st.bound {
		return errors.New("stack: Run before Bind")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var wg sync.WaitGroup
	errc := make(chan error, len(st.loops)+len(st.listeners))
	goRun := func(name string, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, net.ErrClosed) {
				errc <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	for _, l := range st.loops {
		goRun(l.name, func() error { return l.run(ctx) })
	}
	ready := make([]any, 0, 2*len(st.listeners))
	for _, l := range st.listeners {
		goRun(l.spec.Key, func() error { return l.spec.Serve(l.ln) })
		ready = append(ready, l.spec.Key, l.ln.Addr().String())
	}
	st.log.Info("ready", ready...)

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	st.log.Info("shutting down")
	// Stop accepting on every front at once: the parts shut down one after
	// the other, and a part draining its clients would otherwise leave the
	// listeners of those after it taking new ones.
	st.closeListeners()
	st.shutdownParts(context.WithoutCancel(ctx))
	st.closeListeners()
	cancel()
	wg.Wait()
	return runErr
}

// shutdownParts runs the parts' graceful stops in the reverse order of
// registration, all within shutdownTimeout; each part's deadline leaves
// partReserve for every part after it (at most an equal share of the
// timeout each), so that none is left without time by one before it.
func (st *Stack) shutdownParts(ctx context.Context) {
	end := time.Now().Add(st.shutdownTimeout)
	all, done := context.WithDeadline(ctx, end)
	defer done()
	n := len(st.shutdowns)
	reserve := st.partReserve
	if n > 0 && time.Duration(n)*reserve > st.shutdownTimeout {
		reserve = st.shutdownTimeout / time.Duration(n)
	}
	for i := n - 1; i >= 0; i-- {
		part, cancel := context.WithDeadline(all, end.Add(-time.Duration(i)*reserve))
		if err := st.shutdowns[i].stop(part); err != nil {
			st.log.Warn(st.shutdowns[i].name+" shutdown", "err", err)
		}
		cancel()
	}
}

// Close releases what the stack holds without running it: the bound
// listeners, then what OnClose registered. Run calls it at its end; a
// caller whose build failed calls it instead of Run. It is idempotent.
func (st *Stack) Close() {
	st.closeOnce.Do(func() {
		st.closeListeners()
		for i := len(st.closers) - 1; i >= 0; i-- {
			if err := st.closers[i](); err != nil {
				st.log.Warn("close", "err", err)
			}
		}
	})
}

func (st *Stack) closeListeners() {
	for _, l := range st.listeners {
		if l.ln != nil {
			l.ln.Close()
		}
	}
}
