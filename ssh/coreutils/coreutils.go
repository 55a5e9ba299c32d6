// Package coreutils holds the confined text utilities a session's command lines
// may use (awk, sed, tr, head, tail, grep, cut, sort, wc, cat), implemented
// in-process in Go: no program is started, no PATH is consulted, and no file
// is read or written except, for `sed -i`, the one file the caller names as
// editable inside the session's scratch root. Each tool implements the subset
// of its GNU/POSIX behaviour that the clients in shared/reference use, and
// refuses the rest with a message and a non-zero status.
//
// The name follows mvdan.cc/sh's moreinterp/coreutils, which plays the
// same part (the usual tools run in-process by the interpreter's exec
// handler); these are confined and written for the clients' pipelines.
package coreutils

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"quintupleo/ssh/budget"
)

// Env is one invocation's I/O and confinement.
type Env struct {
	Stdin          io.Reader // may be nil (empty input)
	Stdout, Stderr io.Writer
	// Root is the session scratch dir; only sed -i uses it, and only for
	// Editable.
	Root *os.Root
	// Editable is the scratch-relative name of the one file `sed -i` may
	// rewrite ("" = none).
	Editable string
	// MaxInput bounds what a tool buffers from stdin (default 64 MiB).
	MaxInput int64
	// Budget is the session's memory budget: everything a tool holds
	// (buffered input, pattern and hold space, awk values, output it builds)
	// is reserved in it before it is allocated (nil: unlimited).
	Budget *budget.Budget

	mem meter // this invocation's reservation in Budget
}

// Command runs one utility; args[0] is its name. It returns the exit status.
type Command func(ctx context.Context, env *Env, args []string) int

// tools is every utility by each name a command line may call it, an alias
// (mawk for awk) naming its tool's canonical name; it is never modified.
var tools = map[string]struct {
	run     Command
	aliasOf string
}{
	"awk": {run: Awk}, "mawk": {Awk, "awk"}, "gawk": {Awk, "awk"},
	"grep": {run: Grep}, "egrep": {Grep, "grep"}, "fgrep": {Grep, "grep"},
	"sed":  {run: Sed},
	"tr":   {run: Tr},
	"head": {run: Head},
	"tail": {run: Tail},
	"cut":  {run: Cut},
	"sort": {run: Sort},
	"wc":   {run: Wc},
	"cat":  {run: Cat},
}

// Lookup returns the utility called name, or nil. The returned command
// gives back its memory reservation when it ends.
func Lookup(name string) Command {
	cmd := tools[name].run
	if cmd == nil {
		return nil
	}
	return func(ctx context.Context, e *Env, args []string) int {
		e.mem = meter{h: budget.NewHold(e.Budget)}
		defer e.mem.release()
		return cmd(ctx, e, args)
	}
}

// Names lists the utilities by their canonical names, sorted.
func Names() []string {
	var n []string
	for name, t := range tools {
		if t.aliasOf == "" {
			n = append(n, name)
		}
	}
	sort.Strings(n)
	return n
}

var errInputTooLarge = errors.New("input too large")

// input returns a reader of stdin whose reads stop when ctx is done.
func (e *Env) input(ctx context.Context) (io.Reader, func()) {
	if e.Stdin == nil {
		return eofReader{}, func() {}
	}
	if f, ok := e.Stdin.(*os.File); ok {
		stop := context.AfterFunc(ctx, func() { _ = f.SetReadDeadline(time.Unix(1, 0)) })
		return f, func() { stop() }
	}
	return e.Stdin, func() {}
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// readAll reads stdin up to MaxInput bytes. The buffer stays reserved in
// the budget (kept) until the tool ends; each growth is reserved, old and
// new buffer together, before it is allocated.
func (e *Env) readAll(ctx context.Context) ([]byte, error) {
	r, stop := e.input(ctx)
	defer stop()
	max := int64(maxInput(e))
	const first = 4096
	if err := e.mem.keep(first); err != nil {
		return nil, err
	}
	buf := make([]byte, 0, first)
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > max {
				return nil, errInputTooLarge
			}
			old := int64(cap(buf))
			grown := min(2*old, max+1)
			if err := e.mem.need(grown); err != nil {
				return nil, err
			}
			nb := make([]byte, len(buf), grown)
			copy(nb, buf)
			buf = nb
			e.mem.fixed += grown - old
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, err
		}
	}
	if int64(len(buf)) > max {
		return nil, errInputTooLarge
	}
	return buf, nil
}

// lines streams stdin line by line (newline kept) to fn until fn returns
// false. A line longer than the read buffer is gathered with each growth
// reserved first, so a stream without newlines ends in a budget error, not
// in an ever-growing line.
func (e *Env) lines(ctx context.Context, fn func(line []byte) bool) error {
	r, stop := e.input(ctx)
	defer stop()
	const bufSize = 4096
	if err := e.mem.keep(bufSize); err != nil {
		return err
	}
	br := bufio.NewReaderSize(r, bufSize)
	var long []byte
	for {
		frag, err := br.ReadSlice('\n')
		line := frag
		if err == bufio.ErrBufferFull || len(long) > 0 {
			if need := len(long) + len(frag); need > cap(long) {
				grown := max(2*cap(long), need)
				if rerr := e.mem.keepAtLeast(int64(cap(long) + grown)); rerr != nil {
					return rerr
				}
				long = append(make([]byte, 0, grown), long...)
			}
			long = append(long, frag...)
			if err == bufio.ErrBufferFull {
				continue
			}
			line = long
		}
		if len(line) > 0 && !fn(line) {
			return nil
		}
		long = long[:0]
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
	}
}

// meter is one tool invocation's reservation in the session's budget:
// fixed is what the tool keeps (buffered input, line buffers); need adds a
// transient on top before something is allocated.
type meter struct {
	h     *budget.Hold
	fixed int64
}

// need reserves fixed+n: what is kept plus n bytes about to be allocated.
func (m *meter) need(n int64) error {
	if m.h == nil { // a tool called directly, not through Lookup
		m.h = budget.NewHold(nil)
	}
	return m.h.Set(budget.Add(m.fixed, n))
}

// keep reserves n more bytes for as long as the tool runs.
func (m *meter) keep(n int64) error {
	if err := m.need(n); err != nil {
		return err
	}
	m.fixed = budget.Add(m.fixed, n)
	return nil
}

// keepAtLeast makes the kept reservation at least n (for a buffer reused
// at its largest size).
func (m *meter) keepAtLeast(n int64) error {
	if n <= m.fixed {
		return nil
	}
	return m.keep(n - m.fixed)
}

func (m *meter) release() {
	if m.h != nil {
		m.h.Release()
	}
	m.fixed = 0
}

// noFiles refuses file operands ("-" is stdin). It reports whether all
// operands are acceptable.
func noFiles(e *Env, tool string, operands []string) bool {
	for _, f := range operands {
		if f != "-" {
			fmt.Fprintf(e.Stderr, "%s: %s: reading files is not permitted in this confined shell\n", tool, f)
			return false
		}
	}
	return true
}

func errorf(e *Env, tool, format string, a ...any) {
	fmt.Fprintf(e.Stderr, tool+": "+format+"\n", a...)
}

func maxInput(e *Env) int {
	if e.MaxInput <= 0 {
		return 64 << 20
	}
	return int(e.MaxInput)
}
