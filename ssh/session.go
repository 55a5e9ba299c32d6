package ssh

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/term"
	"mvdan.cc/sh/v3/syntax"

	"quintupleo/internal/actionlog"
	"quintupleo/internal/limit"
	"quintupleo/ssh/budget"
)

var (
	errClientGone   = errors.New("client closed the session")
	errOutputLimit  = errors.New("output limit exceeded")
	errCommandLimit = errors.New("command timed out")
)

// session is one "session" channel.
type session struct {
	srv  *Server
	ch   gossh.Channel
	reqs <-chan *gossh.Request
	user string
	who  string // the client, for the logs of the rpc calls its virsh makes (actionlog)
	log  *slog.Logger
	bg   sync.WaitGroup // stdin copiers; they end when the channel closes
	// release frees the session's slots (idempotent).
	release func()

	// mem notes the memory budgets that refused during a command line.
	mem memRefusals

	// mu guards: env, pty, width, height, started.
	mu      sync.Mutex
	env     map[string]string
	pty     bool
	term    string
	width   int
	height  int
	started bool
}

// maxEnv bounds the environment variables one session may set.
const maxEnv = 64

// acceptedEnv reports whether an "env" request for name is honoured, like
// sshd's default AcceptEnv LANG LC_*.
func acceptedEnv(name string) bool {
	return name == "LANG" || strings.HasPrefix(name, "LC_")
}

// serve answers the channel's requests until the channel closes, then
// cancels whatever still runs and waits for it.
func (s *session) serve(parent context.Context) {
	ctx, cancel := context.WithCancelCause(actionlog.WithClient(parent, s.who))
	var wg sync.WaitGroup
	defer func() {
		cancel(errClientGone)
		wg.Wait()
		s.bg.Wait()
	}()
	start := func(run func(ctx context.Context) uint32) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			began := time.Now()
			status := run(ctx)
			s.srv.cfg.Observer.Session(status, time.Since(began))
			s.finish(status)
		}()
	}
	for req := range s.reqs {
		switch req.Type {
		case "env":
			var kv struct{ Name, Value string }
			ok := gossh.Unmarshal(req.Payload, &kv) == nil && acceptedEnv(kv.Name) && len(kv.Value) < 4096
			if ok {
				s.mu.Lock()
				// Past maxEnv names the request is refused, as sshd
				// refuses past its own cap, not acknowledged and dropped.
				if _, set := s.env[kv.Name]; set || len(s.env) < maxEnv {
					s.env[kv.Name] = kv.Value
				} else {
					ok = false
					s.srv.cfg.Observer.Limited(limit.SSHEnv, limit.Refused)
				}
				s.mu.Unlock()
			}
			_ = req.Reply(ok, nil)
		case "pty-req":
			var p struct {
				Term          string
				Width, Height uint32
				PxW, PxH      uint32
				Modes         string
			}
			ok := gossh.Unmarshal(req.Payload, &p) == nil
			if ok {
				s.mu.Lock()
				s.pty, s.term, s.width, s.height = true, p.Term, int(p.Width), int(p.Height)
				s.mu.Unlock()
			}
			_ = req.Reply(ok, nil)
		case "window-change":
			var w struct{ Width, Height, PxW, PxH uint32 }
			ok := gossh.Unmarshal(req.Payload, &w) == nil
			if ok {
				s.mu.Lock()
				s.width, s.height = int(w.Width), int(w.Height)
				s.mu.Unlock()
			}
			_ = req.Reply(ok, nil)
		case "exec":
			var e struct{ Command string }
			if gossh.Unmarshal(req.Payload, &e) != nil || !s.markStarted() {
				_ = req.Reply(false, nil)
				continue
			}
			_ = req.Reply(true, nil)
			cmd := e.Command
			start(func(ctx context.Context) uint32 { return s.exec(ctx, cmd) })
		case "shell":
			if !s.markStarted() {
				_ = req.Reply(false, nil)
				continue
			}
			_ = req.Reply(true, nil)
			start(s.interactive)
		default: // subsystem (sftp …), x11-req, auth-agent-req, signal, …
			_ = req.Reply(false, nil)
		}
	}
}

func (s *session) markStarted() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return false
	}
	s.started = true
	return true
}

// finish ends the channel in the order RFC 4254 §6.10 clients rely on:
// exit-status, then EOF, then CLOSE.
func (s *session) finish(status uint32) {
	_, _ = s.ch.SendRequest("exit-status", false, gossh.Marshal(struct{ Status uint32 }{status}))
	_ = s.ch.CloseWrite()
	s.release()
	_ = s.ch.Close()
}

func (s *session) envSnapshot() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]string, len(s.env))
	for k, v := range s.env {
		m[k] = v
	}
	return m
}

// exec runs one command line and returns its exit status.
func (s *session) exec(ctx context.Context, cmd string) (status uint32) {
	began := time.Now()
	defer func() {
		took := time.Since(began)
		s.srv.cfg.Observer.Command(status, took)
		// The one line of the action: who is on s.log, the cloud calls
		// and the node on the lines of the rpc calls it made.
		s.log.Info("ssh: exec", "cmd", cmd, "status", status, "duration", took)
	}()
	if len(cmd) > s.srv.cfg.MaxCommandBytes {
		s.srv.cfg.Observer.Limited(limit.SSHCommandSize, limit.Refused)
		fmt.Fprintf(s.ch.Stderr(), "sh: command line too long (%d bytes, limit %d)\n", len(cmd), s.srv.cfg.MaxCommandBytes)
		return 126
	}
	if readOnly, ok := matchProxyCommand(cmd); ok {
		return s.bridge(ctx, readOnly)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, s.srv.cfg.CommandTimeout, errCommandLimit)
	defer cancel()
	ctx, cancelOut := context.WithCancelCause(ctx)
	defer cancelOut(nil)

	sh, err := s.newShell()
	if err != nil {
		s.log.Error("ssh: creating shell", "err", err)
		fmt.Fprintln(s.ch.Stderr(), "sh: internal error")
		return 126
	}
	defer sh.Close()

	stdin, stopStdin, err := s.stdinPipe()
	if err != nil {
		fmt.Fprintln(s.ch.Stderr(), "sh: internal error")
		return 126
	}
	defer stopStdin()

	lim := &outputLimit{max: s.srv.cfg.MaxOutputBytes}
	lim.reset(func() { cancelOut(errOutputLimit) })
	stdout := &limitedWriter{w: s.ch, lim: lim}
	stderr := &limitedWriter{w: s.ch.Stderr(), lim: lim}
	run, _ := sh.Run(ctx, cmd, stdin, stdout, stderr)
	status = uint32(run)
	s.reportLineLimits(ctx)
	if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
		switch {
		case errors.Is(cause, errOutputLimit):
			fmt.Fprintf(s.ch.Stderr(), "sh: output limit of %d bytes exceeded; command stopped\n", lim.max)
		case errors.Is(cause, errCommandLimit):
			fmt.Fprintf(s.ch.Stderr(), "sh: command timed out after %s\n", s.srv.cfg.CommandTimeout)
		}
		if status == 0 {
			status = 1
		}
	}
	return status
}

func (s *session) newShell() (*shell, error) {
	return newShell(shellConfig{
		scratchParent: s.srv.scratch.dir,
		env:           s.envSnapshot(),
		user:          s.user,
		dialer:        s.srv.cfg.Dialer,
		maxInput:      s.srv.cfg.MaxOutputBytes,
		budget:        budget.New(s.srv.cfg.SessionMemory, "for this session", s.srv.memory).Watch(s.mem.refused(s.srv.memory)),
	})
}

// reportLineLimits tells the observer which limits stopped the command line
// that ran under ctx (ended now): each at most once per line, however many
// of its reservations or writes they refused.
func (s *session) reportLineLimits(ctx context.Context) {
	obs := s.srv.cfg.Observer
	if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
		switch {
		case errors.Is(cause, errOutputLimit):
			obs.Limited(limit.SSHOutputSize, limit.Stopped)
		case errors.Is(cause, errCommandLimit):
			obs.Limited(limit.SSHCommandTimeout, limit.Stopped)
		}
	}
	if s.mem.session.Swap(false) {
		obs.Limited(limit.SSHMemorySession, limit.Refused)
	}
	if s.mem.total.Swap(false) {
		obs.Limited(limit.SSHMemoryTotal, limit.Refused)
	}
}

// memRefusals are the memory budgets that refused a reservation since the
// last command line was reported.
type memRefusals struct{ session, total atomic.Bool }

// refused is the session budget's Watch: total is the server-wide budget.
func (m *memRefusals) refused(total *budget.Budget) func(by *budget.Budget) {
	return func(by *budget.Budget) {
		if by == total {
			m.total.Store(true)
		} else {
			m.session.Store(true)
		}
	}
}

// stdinPipe copies the channel's input into an OS pipe (the interpreter's
// stdin must be an *os.File). The copier is owned here: stop closes the read
// end, which unblocks a copier stuck on a full pipe, and waits for it once
// the channel's reader has finished.
func (s *session) stdinPipe() (*os.File, func(), error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		_, _ = io.Copy(pw, s.ch)
		_ = pw.Close()
	}()
	// Closing the read end unblocks a copier stuck on a full pipe; the
	// copier itself ends when the channel closes (after finish), and serve
	// waits for it through s.bg.
	return pr, func() { _ = pr.Close() }, nil
}

// interactive runs a confined shell reading commands from the channel until
// exit or EOF: with a pty, a line editor with a prompt (PS2 "> " while a
// command is incomplete); without one, the script on stdin, each complete
// command run as soon as it is read, like sh. Variables persist across
// commands; limits apply per command.
func (s *session) interactive(ctx context.Context) uint32 {
	s.mu.Lock()
	pty := s.pty
	s.mu.Unlock()
	sh, err := s.newShell()
	if err != nil {
		fmt.Fprintln(s.ch.Stderr(), "sh: internal error")
		return 126
	}
	defer sh.Close()

	var (
		readLine  func() (string, error)
		setPrompt = func(string) {}
		out, eout io.Writer
	)
	ps1 := fmt.Sprintf("%s@%s:~$ ", s.user, s.srv.cfg.Hostname)
	if pty {
		t := term.NewTerminal(s.ch, ps1)
		readLine = t.ReadLine
		setPrompt = t.SetPrompt
		out, eout = t, t
		fmt.Fprintf(t, "quintupleo: a confined shell; commands: virsh, %s\n", strings.Join(allowedSummary(), ", "))
	} else {
		br := bufio.NewReaderSize(s.ch, 4096)
		readLine = func() (string, error) {
			line, err := readBoundedLine(br, s.srv.cfg.MaxCommandBytes)
			if err == io.EOF && line != "" {
				return line, nil
			}
			return line, err
		}
		out, eout = s.ch, s.ch.Stderr()
	}
	lim := &outputLimit{max: s.srv.cfg.MaxOutputBytes}
	stdout, stderr := &limitedWriter{w: out, lim: lim}, &limitedWriter{w: eout, lim: lim}
	r, err := sh.runner(nil, stdout, stderr, runOpts{})
	if err != nil {
		fmt.Fprintln(eout, "sh: internal error")
		return 126
	}
	src := &lineSource{read: readLine, max: s.srv.cfg.MaxCommandBytes}
	var status uint8
	done := false
	for !done && ctx.Err() == nil && !src.eof {
		p := syntax.NewParser(syntax.Variant(syntax.LangPOSIX))
		for stmts, err := range p.InteractiveSeq(src) {
			if err != nil {
				if !src.eof && ctx.Err() == nil {
					if src.tooLong {
						s.srv.cfg.Observer.Limited(limit.SSHCommandSize, limit.Refused)
						fmt.Fprintln(eout, "sh: command line too long")
						status = 126
					} else {
						fmt.Fprintf(eout, "sh: 1: Syntax error: %s\n", syntaxMessage(err))
						status = 2
					}
				}
				src.buf = nil // drop the rest of the bad line
				src.reset()
				setPrompt(ps1)
				break
			}
			if p.Incomplete() {
				setPrompt("> ")
				continue
			}
			setPrompt(ps1)
			src.reset()
			if len(stmts) == 0 {
				continue
			}
			lctx, cancel := context.WithTimeoutCause(ctx, s.srv.cfg.CommandTimeout, errCommandLimit)
			lctx, cancelOut := context.WithCancelCause(lctx)
			lim.reset(func() { cancelOut(errOutputLimit) })
			var exited bool
			began := time.Now()
			status, exited = sh.runParsed(lctx, r, &syntax.File{Stmts: stmts}, stderr)
			s.srv.cfg.Observer.Command(uint32(status), time.Since(began))
			if err := sh.mem.keepVars(r.Vars); err != nil {
				// what the line left in variables does not fit: start
				// the next line without them rather than without memory
				fmt.Fprintf(stderr, "sh: %v; shell variables cleared\n", err)
				r.Reset()
				_ = sh.mem.keepVars(nil)
			}
			s.reportLineLimits(lctx)
			cancelOut(nil)
			cancel()
			if exited || ctx.Err() != nil {
				done = true
				break
			}
		}
	}
	return uint32(status)
}

// lineSource feeds the parser one line at a time and bounds how long one
// command may grow.
type lineSource struct {
	read    func() (string, error)
	max     int
	buf     []byte
	n       int // bytes of the current command so far
	eof     bool
	tooLong bool
}

func (l *lineSource) reset() { l.n, l.tooLong = 0, false }

func (l *lineSource) Read(p []byte) (int, error) {
	if len(l.buf) == 0 {
		if l.eof {
			return 0, io.EOF
		}
		line, err := l.read()
		if err != nil {
			l.eof = true
			return 0, io.EOF
		}
		if l.n += len(line) + 1; l.n > l.max {
			l.tooLong = true
			l.n = 0
			return 0, errors.New("command too long")
		}
		l.buf = append([]byte(line), '\n')
	}
	n := copy(p, l.buf)
	l.buf = l.buf[n:]
	return n, nil
}

// readBoundedLine reads one line (without its newline) of at most max bytes.
func readBoundedLine(br *bufio.Reader, max int) (string, error) {
	var sb strings.Builder
	for {
		frag, err := br.ReadSlice('\n')
		if sb.Len()+len(frag) <= max+1 {
			sb.Write(frag)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return strings.TrimSuffix(sb.String(), "\n"), err
	}
}

// outputLimit counts the bytes of one command's stdout and stderr together.
type outputLimit struct {
	max int64
	n   atomic.Int64
	// mu guards: once, exceeded (replaced per command by reset).
	mu       sync.Mutex
	once     *sync.Once
	exceeded func()
}

// reset starts counting a new command, calling exceeded when it goes over.
func (l *outputLimit) reset(exceeded func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n.Store(0)
	l.once, l.exceeded = new(sync.Once), exceeded
}

func (l *outputLimit) trip() {
	l.mu.Lock()
	once, f := l.once, l.exceeded
	l.mu.Unlock()
	if once != nil && f != nil {
		once.Do(f)
	}
}

type limitedWriter struct {
	w   io.Writer
	lim *outputLimit
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if n := l.lim.n.Add(int64(len(p))); n > l.lim.max {
		l.lim.trip()
		return 0, errOutputLimit
	}
	return l.w.Write(p)
}
