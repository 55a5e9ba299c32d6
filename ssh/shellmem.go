package ssh

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"

	"quintupleo/ssh/budget"
)

// How the confined shell keeps its variables and expansions inside the
// session's memory budget.
//
// mvdan.cc/sh v3.14.1 offers no hook inside expansion: the interpreter keeps
// assigned variables in its own overlay environment (a WriteEnviron given
// through interp.Env only sees the initial variables), builds every word in
// a strings.Builder, and reports an expansion error without stopping the
// command. `x=$x$x` is allocated before anything outside could refuse it.
// But a word is expanded part by part, left to right, and a command
// substitution part runs a command, which goes through the CallHandler
// with the variables as they are at that moment (HandlerCtx.Env).
//
// So before running a line, every word that expands a variable or a command
// substitution gets a first part $(<guard> N): an empty command
// substitution whose command is a guard. When the word is about to be
// expanded, the guard computes from the current values what the word can
// grow to (its literals, each variable it references, field splitting's
// per-field overhead when unquoted, the regexp a pattern compiles to) and
// reserves it, replacing what the previous expansion of the same word had
// reserved: a word's earlier result is dead, or held by a variable that its
// next result replaces, so each word holds one expansion at a time. When the
// budget cannot afford it, the guard fails, which fails the word before any
// other part of it is expanded, and stops the line.
//
// What command substitutions capture is not known in advance: the
// interpreter writes it into the expanding runner's strings.Builder. The
// guard records which builder its word's substitutions write into; every
// tool and builtin that writes into a strings.Builder (only capture buffers
// are) charges what it writes to that word first. echo and printf are
// routed through an exec handler that reserves their output (printf's
// widths included) before calling the builtin.
//
// Variables kept between the lines of an interactive shell are counted after
// each line. Globbing is off (noglob): a pattern compiled from a large
// unquoted expansion would be many times its size, and nothing outside the
// scratch directory can match anyway.

const (
	// guardName is the command a guard's substitution runs. Command lines
	// with NUL bytes are refused, so a client cannot call it.
	guardName = "\x00guard"
	// builtinMark routes echo and printf through builtinHandler.
	builtinMark = "\x00builtin"

	// fieldCost is what one field of an unquoted expansion costs beyond its
	// bytes: the interpreter's field parts and the argument string header.
	fieldCost = 64
	// patternCost is what a byte of a pattern (case, ${x#…}) costs once
	// translated and compiled to a regexp.
	patternCost = 128
	// varCost is what a variable costs beyond its name and value.
	varCost = 64
)

// guardedWord is a word of a running line and what its last expansion
// holds.
type guardedWord struct {
	word    *syntax.Word
	pattern bool
	charged int64
	target  *strings.Builder // where its command substitutions write
}

// shellMem is one shell's (session's) memory accounting.
type shellMem struct {
	budget *budget.Budget

	mu      sync.Mutex
	hold    *budget.Hold // carry + words + stray
	carry   int64        // variables kept from earlier lines
	words   map[int]*guardedWord
	total   int64 // Σ charged of words
	targets map[*strings.Builder]*guardedWord
	stray   int64 // captured where no guard claimed the buffer
	next    int
	running int // lines (and nested lines) running
}

func newShellMem(b *budget.Budget) *shellMem {
	return &shellMem{
		budget:  b,
		hold:    budget.NewHold(b),
		words:   map[int]*guardedWord{},
		targets: map[*strings.Builder]*guardedWord{},
	}
}

// sync reserves what is charged now; the caller holds mu.
func (m *shellMem) sync() error {
	return m.hold.Set(budget.Add(budget.Add(m.carry, m.total), m.stray))
}

// close gives everything back (the shell is done).
func (m *shellMem) close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hold.Release()
}

// guard inserts the guards into a parsed line and registers its words; the
// returned func unregisters them when the line has run.
func (m *shellMem) guard(file *syntax.File) func() {
	patterns := map[*syntax.Word]bool{}
	var ids []int
	depth := 0 // enclosing words, up to the nearest command substitution
	var saved []int
	syntax.Walk(file, func(n syntax.Node) bool {
		if n == nil {
			depth, saved = saved[len(saved)-1], saved[:len(saved)-1]
			return true
		}
		saved = append(saved, depth)
		switch n := n.(type) {
		case *syntax.CaseItem:
			for _, w := range n.Patterns {
				patterns[w] = true
			}
		case *syntax.CmdSubst:
			catShortcut(n)
			depth = 0
		case *syntax.Word:
			if depth == 0 && needsGuard(n) {
				ids = append(ids, m.insertGuard(n, patterns[n]))
			}
			depth++
		}
		return true
	})
	m.mu.Lock()
	m.running++
	m.mu.Unlock()
	return func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		for _, id := range ids {
			g := m.words[id]
			m.total -= g.charged
			if g.target != nil && m.targets[g.target] == g {
				delete(m.targets, g.target)
			}
			delete(m.words, id)
		}
		if m.running--; m.running == 0 {
			m.stray = 0
		}
		_ = m.sync() // shrinking never fails
	}
}

// catShortcut turns $(<file) into $(cat <file): the interpreter copies the
// file into the capture buffer itself for the first form, past any handler.
func catShortcut(cs *syntax.CmdSubst) {
	if len(cs.Stmts) != 1 {
		return
	}
	st := cs.Stmts[0]
	if st.Cmd == nil && len(st.Redirs) == 1 && st.Redirs[0].Op == syntax.RdrIn {
		st.Cmd = &syntax.CallExpr{Args: []*syntax.Word{litWord("cat")}}
	}
}

func litWord(s string) *syntax.Word {
	return &syntax.Word{Parts: []syntax.WordPart{&syntax.Lit{Value: s}}}
}

// needsGuard reports whether expanding w reads a variable or runs a command
// substitution; special parameters ($? $# …) are a few bytes.
func needsGuard(w *syntax.Word) bool {
	found := false
	syntax.Walk(w, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.CmdSubst:
			found = true
		case *syntax.ParamExp:
			if n.Param != nil && syntax.ValidName(n.Param.Value) {
				found = true
			}
		}
		return !found
	})
	return found
}

func (m *shellMem) insertGuard(w *syntax.Word, pattern bool) int {
	m.mu.Lock()
	m.next++
	id := m.next
	m.words[id] = &guardedWord{word: w, pattern: pattern}
	m.mu.Unlock()
	g := &syntax.CmdSubst{Stmts: []*syntax.Stmt{{Cmd: &syntax.CallExpr{
		Args: []*syntax.Word{litWord(guardName), litWord(strconv.Itoa(id))},
	}}}}
	// Tilde expansion looks at the word's first part: keep a ~ first.
	at := 0
	if lit, ok := w.Parts[0].(*syntax.Lit); ok && strings.HasPrefix(lit.Value, "~") {
		at = 1
	}
	w.Parts = append(w.Parts[:at], append([]syntax.WordPart{g}, w.Parts[at:]...)...)
	return id
}

// expand is the guard of word id, about to be expanded with the variables
// in env, its command substitutions writing into target.
func (m *shellMem) expand(id int, env expand.Environ, target io.Writer) error {
	m.mu.Lock()
	g := m.words[id]
	m.mu.Unlock()
	if g == nil {
		return nil
	}
	// The values are read without mu: env belongs to the calling runner.
	n := partsBound(g.word.Parts, env, false)
	if g.pattern {
		n = budget.Mul(n, patternCost)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	oldCharged, oldTarget := g.charged, g.target
	m.total += n - g.charged
	g.charged = n
	if err := m.sync(); err != nil {
		m.total -= n - oldCharged
		g.charged = oldCharged
		return err
	}
	if sb, ok := target.(*strings.Builder); ok && sb != oldTarget {
		if oldTarget != nil && m.targets[oldTarget] == g {
			delete(m.targets, oldTarget)
		}
		g.target = sb
		m.targets[sb] = g
	}
	return nil
}

// capture charges n bytes written into the capture buffer sb to the word
// whose command substitution it belongs to.
func (m *shellMem) capture(sb *strings.Builder, n int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	g := m.targets[sb]
	if g == nil {
		m.stray += n
		if err := m.sync(); err != nil {
			m.stray -= n
			return err
		}
		return nil
	}
	g.charged += n
	m.total += n
	if err := m.sync(); err != nil {
		g.charged -= n
		m.total -= n
		return err
	}
	return nil
}

// keepVars counts the variables an interactive shell keeps for its next
// lines.
func (m *shellMem) keepVars(vars map[string]expand.Variable) error {
	n := int64(0)
	for name, v := range vars {
		n = budget.Add(n, int64(len(name)+len(v.String())+varCost))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.carry
	m.carry = n
	if err := m.sync(); err != nil {
		m.carry = old
		return err
	}
	return nil
}

// partsBound is the most the parts can expand to with env's values, plus
// field splitting's overhead when unquoted. Command substitutions count 0:
// what they capture is charged as it is written.
func partsBound(parts []syntax.WordPart, env expand.Environ, quoted bool) int64 {
	n := int64(0)
	for _, p := range parts {
		n = budget.Add(n, partBound(p, env, quoted))
	}
	return n
}

func partBound(p syntax.WordPart, env expand.Environ, quoted bool) int64 {
	switch p := p.(type) {
	case *syntax.Lit:
		return int64(len(p.Value))
	case *syntax.SglQuoted:
		return int64(len(p.Value))
	case *syntax.DblQuoted:
		return partsBound(p.Parts, env, true)
	case *syntax.ParamExp:
		return paramBound(p, env, quoted)
	case *syntax.ArithmExp:
		// a number, after expanding the words inside
		n := int64(24)
		syntax.Walk(p.X, func(node syntax.Node) bool {
			if w, ok := node.(*syntax.Word); ok {
				n = budget.Add(n, partsBound(w.Parts, env, true))
				return false
			}
			return true
		})
		return n
	}
	return 0
}

func paramBound(p *syntax.ParamExp, env expand.Environ, quoted bool) int64 {
	if p.Length {
		return 24
	}
	v := ""
	if p.Param != nil && syntax.ValidName(p.Param.Value) {
		v = env.Get(p.Param.Value).String()
	}
	n := int64(len(v)) + 24 // 24: a special parameter's digits
	if !quoted {
		n = budget.Add(n, budget.Mul(fieldCost, int64(ifsCount(v))+1))
	}
	if p.Exp != nil && p.Exp.Word != nil {
		w := partsBound(p.Exp.Word.Parts, env, quoted)
		switch p.Exp.Op {
		case syntax.RemSmallSuffix, syntax.RemLargeSuffix, syntax.RemSmallPrefix, syntax.RemLargePrefix:
			w = budget.Mul(w, patternCost)
		}
		n = budget.Add(n, w)
	}
	return n
}

// ifsCount counts the bytes field splitting splits at (IFS is fixed: no
// line may assign it).
func ifsCount(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' || s[i] == '\t' || s[i] == '\n' {
			n++
		}
	}
	return n
}

// lineStop stops a running line (and the lines it nests) when the budget
// refuses something the shell itself would allocate.
type lineStop struct {
	cancel   context.CancelCauseFunc
	reported atomic.Bool // the message is already on stderr
}

type lineStopKey struct{}

func stopLine(ctx context.Context, err error, reported bool) {
	if ls, ok := ctx.Value(lineStopKey{}).(*lineStop); ok {
		if reported {
			ls.reported.Store(true)
		}
		ls.cancel(err)
	}
}

// captureWriter charges what a tool writes into a command substitution's
// buffer before writing it; a refusal stops the line.
type captureWriter struct {
	ctx context.Context
	sb  *strings.Builder
	mem *shellMem
}

func (w *captureWriter) Write(p []byte) (int, error) {
	n := budget.Add(int64(len(p)), budget.Mul(fieldCost, int64(ifsCount(string(p)))))
	if err := w.mem.capture(w.sb, n); err != nil {
		stopLine(w.ctx, err, false)
		return 0, err
	}
	return w.sb.Write(p)
}

// output is what a handler writes to instead of w: w itself, unless w is a
// command substitution's buffer.
func (sh *shell) output(ctx context.Context, w io.Writer) io.Writer {
	if sb, ok := w.(*strings.Builder); ok {
		return &captureWriter{ctx: ctx, sb: sb, mem: sh.mem}
	}
	return w
}

// builtinHandler runs echo and printf (routed here by the CallHandler) once
// their output is reserved: printf "%999999999d" would otherwise allocate a
// gigabyte inside the interpreter, and into a command substitution's buffer
// a loop of echo grows it without any tool involved.
func (sh *shell) builtinHandler(next interp.ExecHandlerFunc) interp.ExecHandlerFunc {
	return func(ctx context.Context, args []string) error {
		if args[0] != builtinMark {
			return next(ctx, args)
		}
		args = args[1:]
		hc := interp.HandlerCtx(ctx)
		n := echoBound(args[1:])
		if args[0] == "printf" {
			n = printfBound(args[1:])
		}
		fields := n/2 + 1 // printf pads with spaces
		if args[0] == "echo" {
			fields = int64(len(args))
			for _, a := range args[1:] {
				fields += int64(ifsCount(a))
			}
		}
		h := budget.NewHold(sh.mem.budget)
		defer h.Release()
		err := h.Set(n)
		sb, capturing := hc.Stdout.(*strings.Builder)
		if capturing && err == nil {
			err = sh.mem.capture(sb, budget.Add(n, budget.Mul(fieldCost, fields)))
		}
		if err != nil {
			// Into a command substitution, the line cannot go on without
			// the output it expects (x=$(echo $x$x) in a loop would loop
			// on an empty x); elsewhere the command just fails.
			if capturing {
				stopLine(ctx, err, true)
			}
			fmt.Fprintf(hc.Stderr, "sh: 1: %s: %v\n", args[0], err)
			return interp.ExitStatus(1)
		}
		return hc.Builtin(ctx, args)
	}
}

// echoBound is the most echo ARGS writes (escapes only shorten).
func echoBound(args []string) int64 {
	n := int64(1)
	for _, a := range args {
		n = budget.Add(n, int64(len(a))+1)
	}
	return n
}

// printfBound is the most printf FORMAT ARGS writes, read the way
// expand.Format reads the format: each conversion takes at most its width
// (flags and digits, no '*' or precision there) plus its argument plus a
// number's digits; the format is repeated while arguments remain.
func printfBound(args []string) int64 {
	if len(args) == 0 {
		return 0
	}
	format, rest := args[0], args[1:]
	per := int64(len(format))
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		width := int64(0)
		for i+1 < len(format) && strings.IndexByte("+- 0123456789", format[i+1]) >= 0 {
			i++
			if c := format[i]; c >= '0' && c <= '9' {
				width = budget.Add(budget.Mul(width, 10), int64(c-'0'))
			}
		}
		per = budget.Add(per, budget.Add(width, 24))
	}
	cycles := int64(max(len(rest), 1))
	n := budget.Mul(per, cycles)
	for _, a := range rest {
		n = budget.Add(n, int64(len(a)))
	}
	return n
}
