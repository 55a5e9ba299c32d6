package coreutils

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Sed is a GNU sed subset: -n -e -E/-r -i (only on Env.Editable), addresses
// (N, $, /re/I, \cREc, ranges, !), commands { } d D p P n N g G h H x = q Q
// a i c (GNU one-line forms too) s (flags g p N I) y b t T : # z. The commands
// that touch files or run programs (r R w W e, s///w, s///e) are refused.
func Sed(ctx context.Context, e *Env, args []string) int {
	var scripts []string
	var operands []string
	quiet, ere, inPlace := false, false, false
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			operands = append(operands, args[i+1:]...)
			i = len(args)
		case a == "-n" || a == "--quiet" || a == "--silent":
			quiet = true
		case a == "-E" || a == "-r" || a == "--regexp-extended":
			ere = true
		case a == "-i" || a == "--in-place":
			inPlace = true
		case strings.HasPrefix(a, "-i") || strings.HasPrefix(a, "--in-place="):
			errorf(e, "sed", "backup suffixes are not permitted in this confined shell")
			return 1
		case a == "-e" || a == "--expression":
			if i+1 >= len(args) {
				errorf(e, "sed", "option requires an argument -- 'e'")
				return 1
			}
			i++
			scripts = append(scripts, args[i])
		case strings.HasPrefix(a, "--expression="):
			scripts = append(scripts, strings.TrimPrefix(a, "--expression="))
		case strings.HasPrefix(a, "-e"):
			scripts = append(scripts, a[2:])
		case a == "-f" || strings.HasPrefix(a, "-f") || strings.HasPrefix(a, "--file"):
			errorf(e, "sed", "script files are not permitted in this confined shell")
			return 1
		case a == "-s" || a == "--separate" || a == "--posix" || a == "-u" || a == "--unbuffered":
		case len(a) > 1 && a[0] == '-' && !strings.HasPrefix(a, "--"):
			// combined short flags such as -ne or -ni
			ok := true
			for j := 1; j < len(a) && ok; j++ {
				switch a[j] {
				case 'n':
					quiet = true
				case 'E', 'r':
					ere = true
				case 'i':
					if j != len(a)-1 {
						errorf(e, "sed", "backup suffixes are not permitted in this confined shell")
						return 1
					}
					inPlace = true
				case 'e':
					rest := a[j+1:]
					if rest == "" {
						if i+1 >= len(args) {
							errorf(e, "sed", "option requires an argument -- 'e'")
							return 1
						}
						i++
						rest = args[i]
					}
					scripts = append(scripts, rest)
					ok = false
				default:
					errorf(e, "sed", "invalid option -- '%c'", a[j])
					return 1
				}
			}
		case len(a) > 1 && a[0] == '-':
			errorf(e, "sed", "unknown option -- '%s'", strings.TrimLeft(a, "-"))
			return 1
		default:
			operands = append(operands, a)
		}
	}
	if len(scripts) == 0 {
		if len(operands) == 0 {
			fmt.Fprintln(e.Stderr, "Usage: sed [OPTION]... {script-only-if-no-other-script} [input-file]...")
			return 1
		}
		scripts, operands = operands[:1], operands[1:]
	}
	prog, err := parseSed(strings.Join(scripts, "\n"), ere)
	if err != nil {
		errorf(e, "sed", "-e expression #1, %v", err)
		return 1
	}
	if inPlace {
		if len(operands) == 0 {
			errorf(e, "sed", "no input files")
			return 1
		}
		for _, f := range operands {
			if e.Editable == "" || e.Root == nil || filepath.Clean(f) != filepath.Clean(e.Editable) {
				errorf(e, "sed", "couldn't edit %s: in-place editing is only permitted on virsh edit's file", f)
				return 4
			}
			data, status := readEditable(e, f)
			if status != 0 {
				return status
			}
			var out bytes.Buffer
			status, err := prog.run(ctx, data, &out, quiet, maxInput(e), &e.mem)
			if err != nil {
				errorf(e, "sed", "%v", err)
				return 4
			}
			if err := e.Root.WriteFile(filepath.Clean(f), out.Bytes(), 0o600); err != nil {
				errorf(e, "sed", "couldn't write %s: %v", f, err)
				return 4
			}
			if status != 0 {
				return status
			}
		}
		return 0
	}
	if !noFiles(e, "sed", operands) {
		return 2
	}
	data, err := e.readAll(ctx)
	if err != nil {
		errorf(e, "sed", "%v", err)
		return 4
	}
	var out bytes.Buffer
	status, err := prog.run(ctx, data, &out, quiet, maxInput(e), &e.mem)
	_, _ = e.Stdout.Write(out.Bytes())
	if err != nil {
		errorf(e, "sed", "%v", err)
		return 4
	}
	return status
}

// readEditable reads virsh edit's file for sed -i, its size reserved in
// the budget before it is read.
func readEditable(e *Env, f string) ([]byte, int) {
	fi, err := e.Root.Stat(filepath.Clean(f))
	if err != nil {
		errorf(e, "sed", "can't read %s: No such file or directory", f)
		return nil, 2
	}
	if err := e.mem.keep(fi.Size()); err != nil {
		errorf(e, "sed", "%v", err)
		return nil, 4
	}
	data, err := e.Root.ReadFile(filepath.Clean(f))
	if err != nil {
		errorf(e, "sed", "can't read %s: No such file or directory", f)
		return nil, 2
	}
	return data, 0
}

type sedAddr struct {
	line  int
	last  bool
	re    *regexp.Regexp
	empty bool // "//": the last regex used
}

type sedCmd struct {
	a1, a2 *sedAddr
	negate bool
	name   byte
	// s
	re      *regexp.Regexp
	reEmpty bool
	repl    string
	global  bool
	nth     int
	print   bool
	// a i c
	text string
	// y
	ymap map[rune]rune
	// b t T :
	label string
	// { jump target (index of matching })
	end  int
	code int // q Q
	// range state
	active bool
}

type sedProg struct {
	cmds   []*sedCmd
	labels map[string]int
	lastRe *regexp.Regexp
	ms     matches
}

type sedParser struct {
	s   string
	i   int
	ere bool
}

func (p *sedParser) errf(format string, a ...any) error {
	return fmt.Errorf("char %d: "+format, append([]any{p.i}, a...)...)
}

func (p *sedParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *sedParser) skipSpace() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// delimited reads up to the unescaped delim; in a regex \delim means delim
// and \n means newline.
func (p *sedParser) delimited(delim byte, isRegex bool) (string, error) {
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == delim {
			p.i++
			return b.String(), nil
		}
		if c == '\\' && p.i+1 < len(p.s) {
			d := p.s[p.i+1]
			p.i += 2
			switch {
			case d == delim && delim != '&':
				b.WriteByte(d)
			case d == 'n' && isRegex:
				b.WriteByte('\n')
			default:
				b.WriteByte('\\')
				b.WriteByte(d)
			}
			continue
		}
		if c == '[' && isRegex {
			// copy a bracket expression verbatim: the delimiter is literal inside
			j := p.i + 1
			if j < len(p.s) && p.s[j] == '^' {
				j++
			}
			if j < len(p.s) && p.s[j] == ']' {
				j++
			}
			for j < len(p.s) && p.s[j] != ']' {
				j++
			}
			if j < len(p.s) {
				b.WriteString(p.s[p.i : j+1])
				p.i = j + 1
				continue
			}
		}
		b.WriteByte(c)
		p.i++
	}
	return "", p.errf("unterminated address regex")
}

func (p *sedParser) addr() (*sedAddr, error) {
	c := p.peek()
	switch {
	case c >= '0' && c <= '9':
		j := p.i
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
		}
		n, _ := strconv.Atoi(p.s[j:p.i])
		return &sedAddr{line: n}, nil
	case c == '$':
		p.i++
		return &sedAddr{last: true}, nil
	case c == '/' || c == '\\':
		p.i++
		delim := byte('/')
		if c == '\\' {
			delim = p.peek()
			p.i++
		}
		pat, err := p.delimited(delim, true)
		if err != nil {
			return nil, err
		}
		icase := false
		for p.peek() == 'I' || p.peek() == 'M' {
			if p.peek() == 'M' {
				return nil, p.errf("multiline addresses are not supported")
			}
			icase = true
			p.i++
		}
		if pat == "" {
			return &sedAddr{empty: true}, nil
		}
		re, err := compileRegex(pat, p.ere, icase)
		if err != nil {
			return nil, p.errf("%v", err)
		}
		return &sedAddr{re: re}, nil
	}
	return nil, nil
}

func parseSed(script string, ere bool) (*sedProg, error) {
	p := &sedParser{s: script, ere: ere}
	prog := &sedProg{labels: map[string]int{}}
	var open []int
	for {
		for p.i < len(p.s) && strings.IndexByte(" \t\n;", p.s[p.i]) >= 0 {
			p.i++
		}
		if p.i >= len(p.s) {
			break
		}
		if p.peek() == '#' {
			for p.i < len(p.s) && p.s[p.i] != '\n' {
				p.i++
			}
			continue
		}
		cmd := &sedCmd{}
		a1, err := p.addr()
		if err != nil {
			return nil, err
		}
		cmd.a1 = a1
		if a1 != nil && p.peek() == ',' {
			p.i++
			p.skipSpace()
			a2, err := p.addr()
			if err != nil {
				return nil, err
			}
			if a2 == nil {
				return nil, p.errf("unexpected `,'")
			}
			cmd.a2 = a2
		}
		p.skipSpace()
		for p.peek() == '!' {
			cmd.negate = true
			p.i++
			p.skipSpace()
		}
		if p.i >= len(p.s) {
			return nil, p.errf("missing command")
		}
		cmd.name = p.s[p.i]
		p.i++
		switch cmd.name {
		case '{':
			open = append(open, len(prog.cmds))
		case '}':
			if len(open) == 0 {
				return nil, p.errf("unexpected `}'")
			}
			prog.cmds[open[len(open)-1]].end = len(prog.cmds)
			open = open[:len(open)-1]
		case 'd', 'D', 'p', 'P', 'n', 'N', 'g', 'G', 'h', 'H', 'x', '=', 'z':
		case 'q', 'Q':
			p.skipSpace()
			j := p.i
			for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
				p.i++
			}
			cmd.code, _ = strconv.Atoi(p.s[j:p.i])
		case 'a', 'i', 'c':
			cmd.text = p.text()
		case ':':
			if cmd.a1 != nil {
				return nil, p.errf(": doesn't want any addresses")
			}
			p.skipSpace()
			cmd.label = p.labelName()
			if cmd.label == "" {
				return nil, p.errf("\":\" lacks a label")
			}
			prog.labels[cmd.label] = len(prog.cmds)
		case 'b', 't', 'T':
			p.skipSpace()
			cmd.label = p.labelName()
		case 's':
			if err := p.subst(cmd); err != nil {
				return nil, err
			}
		case 'y':
			if err := p.translit(cmd); err != nil {
				return nil, err
			}
		case 'r', 'R', 'w', 'W', 'e', 'F', 'v', 'l', 'L':
			return nil, p.errf("the `%c' command is not permitted in this confined shell", cmd.name)
		default:
			return nil, p.errf("unknown command: `%c'", cmd.name)
		}
		prog.cmds = append(prog.cmds, cmd)
		p.skipSpace()
		if p.i < len(p.s) && strings.IndexByte(";\n}#", p.s[p.i]) < 0 && strings.IndexByte("aic{", cmd.name) < 0 {
			return nil, p.errf("extra characters after command")
		}
	}
	if len(open) > 0 {
		return nil, p.errf("unmatched `{'")
	}
	for _, c := range prog.cmds {
		if (c.name == 'b' || c.name == 't' || c.name == 'T') && c.label != "" {
			if _, ok := prog.labels[c.label]; !ok {
				return nil, fmt.Errorf("can't find label for jump to `%s'", c.label)
			}
		}
	}
	return prog, nil
}

func (p *sedParser) labelName() string {
	j := p.i
	for p.i < len(p.s) && p.s[p.i] != '\n' && p.s[p.i] != ';' {
		p.i++
	}
	return strings.TrimSpace(p.s[j:p.i])
}

// text reads the text of a, i, c: the classic "a\<newline>text" form and the
// GNU one-line "a text" / "a\text" forms; lines ending in \ continue.
func (p *sedParser) text() string {
	p.skipSpace()
	if p.peek() == '\\' {
		// "a\" then text: on the next line (classic) or right after the
		// backslash (GNU one-liner), whitespace kept either way.
		p.i++
		if p.peek() == '\n' {
			p.i++
		}
	}
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == '\n' {
			break
		}
		if c == '\\' && p.i+1 < len(p.s) {
			b.WriteByte(p.s[p.i+1])
			p.i += 2
			continue
		}
		b.WriteByte(c)
		p.i++
	}
	return b.String()
}

func (p *sedParser) subst(cmd *sedCmd) error {
	if p.i >= len(p.s) {
		return p.errf("unterminated `s' command")
	}
	delim := p.s[p.i]
	p.i++
	pat, err := p.delimited(delim, true)
	if err != nil {
		return p.errf("unterminated `s' command")
	}
	repl, err := p.delimited(delim, false)
	if err != nil {
		return p.errf("unterminated `s' command")
	}
	cmd.repl = repl
	icase := false
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == 'g':
			cmd.global = true
		case c == 'p':
			cmd.print = true
		case c == 'i' || c == 'I':
			icase = true
		case c >= '0' && c <= '9':
			j := p.i
			for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
				p.i++
			}
			cmd.nth, _ = strconv.Atoi(p.s[j:p.i])
			continue
		case c == 'w' || c == 'e' || c == 'W':
			return p.errf("the `s///%c' flag is not permitted in this confined shell", c)
		case c == 'm' || c == 'M':
			return p.errf("multiline mode is not supported")
		default:
			goto done
		}
		p.i++
	}
done:
	if pat == "" {
		cmd.reEmpty = true
		return nil
	}
	cmd.re, err = compileRegex(pat, p.ere, icase)
	if err != nil {
		return p.errf("%v", err)
	}
	return nil
}

func (p *sedParser) translit(cmd *sedCmd) error {
	if p.i >= len(p.s) {
		return p.errf("unterminated `y' command")
	}
	delim := p.s[p.i]
	p.i++
	src, err := p.delimited(delim, false)
	if err != nil {
		return p.errf("unterminated `y' command")
	}
	dst, err := p.delimited(delim, false)
	if err != nil {
		return p.errf("unterminated `y' command")
	}
	unesc := func(s string) []rune {
		s = strings.NewReplacer(`\\`, `\`, `\n`, "\n", `\t`, "\t").Replace(s)
		return []rune(s)
	}
	a, b := unesc(src), unesc(dst)
	if len(a) != len(b) {
		return p.errf("strings for `y' command are different lengths")
	}
	cmd.ymap = map[rune]rune{}
	for i := range a {
		cmd.ymap[a[i]] = b[i]
	}
	return nil
}

// sedState is one run's pattern space, hold space and output, with what
// they hold reserved in the session's budget.
type sedState struct {
	mem     *meter
	ps      string
	hold    string
	out     *bytes.Buffer
	pending int // bytes of queued `a` text
}

// grow reserves what is held now plus n bytes about to be allocated: every
// command that makes a longer pattern or hold space, or more output, asks
// first, so `:a;G;h;ba` ends at the budget instead of doubling past it.
func (st *sedState) grow(n int) error {
	return st.mem.need(int64(len(st.ps)) + int64(len(st.hold)) + int64(st.out.Cap()) + int64(st.pending) + int64(n))
}

// write appends to the output, reserving a bytes.Buffer growth (about
// double the capacity) before it happens.
func (st *sedState) write(parts ...string) error {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	if st.out.Len()+n > st.out.Cap() {
		if err := st.grow(max(2*st.out.Cap(), st.out.Len()+n) + 64); err != nil {
			return err
		}
	}
	for _, p := range parts {
		st.out.WriteString(p)
	}
	return nil
}

// join reserves and builds a+sep+b (G, H, N).
func (st *sedState) join(a, sep, b string) (string, error) {
	if err := st.grow(len(a) + len(sep) + len(b)); err != nil {
		return "", err
	}
	return a + sep + b, nil
}

// run executes the program over data, writing to out; it returns the exit
// status (q/Q codes). data is already reserved by the caller.
func (prog *sedProg) run(ctx context.Context, data []byte, out *bytes.Buffer, quiet bool, max int, mem *meter) (int, error) {
	steps := 0
	// the string copy of data and one string header per line stay held
	nl := bytes.Count(data, []byte("\n")) + 1
	if err := mem.keep(int64(len(data)) + 16*int64(nl)); err != nil {
		return 4, err
	}
	text := string(data)
	missingNL := len(text) > 0 && !strings.HasSuffix(text, "\n")
	text = strings.TrimSuffix(text, "\n")
	var lines []string
	if len(data) > 0 {
		lines = strings.Split(text, "\n")
	}
	st := &sedState{mem: mem, out: out}
	next := 0
	lineNo := 0
	emit := func(s string, isLast bool) error {
		if isLast && missingNL {
			return st.write(s)
		}
		return st.write(s, "\n")
	}
	for next < len(lines) {
		st.ps = lines[next]
		next++
		lineNo++
		var appendQ []string
		st.pending = 0
		deleted, tflag := false, false
		quit, quitPrint, status := false, true, 0
		isLast := func() bool { return next >= len(lines) }
		pc := 0
	cycle:
		for pc < len(prog.cmds) {
			cmd := prog.cmds[pc]
			pc++
			if steps++; steps&1023 == 0 {
				if err := ctx.Err(); err != nil {
					return 4, err
				}
			}
			if !prog.matches(cmd, st.ps, lineNo, isLast()) {
				if cmd.name == '{' {
					pc = cmd.end + 1
				}
				continue
			}
			var err error
			switch cmd.name {
			case '{', '}', ':':
			case 'd':
				deleted = true
				break cycle
			case 'D':
				if i := strings.IndexByte(st.ps, '\n'); i >= 0 {
					st.ps = st.ps[i+1:]
					if err = st.grow(16 * (len(lines) + 1)); err != nil {
						return 4, err
					}
					lines = append(lines[:next], append([]string{st.ps}, lines[next:]...)...)
					lineNo--
				}
				deleted = true
				break cycle
			case 'p':
				err = emit(st.ps, false)
			case 'P':
				first, _, _ := strings.Cut(st.ps, "\n")
				err = emit(first, false)
			case 'n':
				if !quiet {
					err = emit(st.ps, isLast())
				}
				if isLast() {
					quitPrint = false
					quit = true
					break cycle
				}
				st.ps = lines[next]
				next++
				lineNo++
			case 'N':
				if isLast() {
					break cycle
				}
				st.ps, err = st.join(st.ps, "\n", lines[next])
				next++
				lineNo++
			case 'g':
				st.ps = st.hold
			case 'G':
				st.ps, err = st.join(st.ps, "\n", st.hold)
			case 'h':
				st.hold = st.ps
			case 'H':
				st.hold, err = st.join(st.hold, "\n", st.ps)
			case 'x':
				st.ps, st.hold = st.hold, st.ps
			case 'z':
				st.ps = ""
			case '=':
				err = st.write(strconv.Itoa(lineNo), "\n")
			case 'i':
				err = st.write(cmd.text, "\n")
			case 'a':
				appendQ = append(appendQ, cmd.text)
				st.pending += len(cmd.text) + 1
			case 'c':
				if cmd.a2 == nil || !cmd.active || cmd.negate {
					err = st.write(cmd.text, "\n")
				}
				deleted = true
				if err != nil {
					return 4, err
				}
				break cycle
			case 'q':
				quit, status = true, cmd.code
				break cycle
			case 'Q':
				quit, quitPrint, status = true, false, cmd.code
				break cycle
			case 's':
				re := cmd.re
				if cmd.reEmpty {
					re = prog.lastRe
				} else {
					prog.lastRe = re
				}
				if re == nil {
					break
				}
				var nps string
				var ok bool
				if nps, ok, err = prog.substitute(re, st, cmd); ok && err == nil {
					st.ps = nps
					tflag = true
					if cmd.print {
						err = emit(st.ps, false)
					}
				}
			case 'y':
				// a rune may map to a longer one: at most 4 bytes each
				if err = st.grow(4 * len(st.ps)); err == nil {
					st.ps = strings.Map(func(r rune) rune {
						if m, ok := cmd.ymap[r]; ok {
							return m
						}
						return r
					}, st.ps)
				}
			case 'b':
				pc = prog.jump(cmd.label)
			case 't':
				if tflag {
					tflag = false
					pc = prog.jump(cmd.label)
				}
			case 'T':
				if !tflag {
					pc = prog.jump(cmd.label)
				} else {
					tflag = false
				}
			}
			if err != nil {
				return 4, err
			}
		}
		if !deleted && !quiet && quitPrint {
			if err := emit(st.ps, isLast()); err != nil {
				return 4, err
			}
		}
		for _, t := range appendQ {
			if err := st.write(t, "\n"); err != nil {
				return 4, err
			}
		}
		if quit {
			return status, nil
		}
		if out.Len() > max {
			return 4, errTooBig
		}
	}
	return 0, nil
}

func (prog *sedProg) jump(label string) int {
	if label == "" {
		return len(prog.cmds)
	}
	return prog.labels[label]
}

func (prog *sedProg) matchAddr(a *sedAddr, ps string, lineNo int, last bool) bool {
	switch {
	case a.last:
		return last
	case a.re != nil:
		prog.lastRe = a.re
		return a.re.MatchString(ps)
	case a.empty:
		return prog.lastRe != nil && prog.lastRe.MatchString(ps)
	}
	return lineNo == a.line
}

func (prog *sedProg) matches(cmd *sedCmd, ps string, lineNo int, last bool) bool {
	var m bool
	switch {
	case cmd.a1 == nil:
		m = true
	case cmd.a2 == nil:
		m = prog.matchAddr(cmd.a1, ps, lineNo, last)
	case cmd.active:
		m = true
		if cmd.a2.re != nil || cmd.a2.empty || cmd.a2.last {
			if prog.matchAddr(cmd.a2, ps, lineNo, last) {
				cmd.active = false
			}
		} else if lineNo >= cmd.a2.line {
			cmd.active = false
		}
	default:
		if prog.matchAddr(cmd.a1, ps, lineNo, last) {
			m = true
			cmd.active = true
			if cmd.a2.re == nil && !cmd.a2.empty && !cmd.a2.last && cmd.a2.line <= lineNo {
				cmd.active = false
			} else if cmd.a2.last && last {
				cmd.active = false
			}
		}
	}
	if cmd.negate {
		return !m
	}
	return m
}

// substitute applies s to the pattern space; it reports whether anything
// was replaced. Matches are walked one at a time and the result is grown
// through the budget, so a global substitution that doubles the pattern
// space fails before it is built.
func (prog *sedProg) substitute(re *regexp.Regexp, st *sedState, cmd *sedCmd) (string, bool, error) {
	ps := st.ps
	b := budgetBuilder{need: func(n int) error { return st.grow(n) }}
	prev, count, replaced := 0, 0, false
	var err error
	prog.ms.each(re, ps, func(m []int) bool {
		count++
		if cmd.nth > 0 && count < cmd.nth {
			return true
		}
		if err = b.write(ps[prev:m[0]]); err == nil {
			err = expandRepl(&b, cmd.repl, ps, m)
		}
		prev, replaced = m[1], true
		return err == nil && cmd.global
	})
	if err != nil || !replaced {
		return ps, false, err
	}
	if err := b.write(ps[prev:]); err != nil {
		return ps, false, err
	}
	return b.String(), true, nil
}

// budgetBuilder is a strings.Builder whose every growth is reserved first.
type budgetBuilder struct {
	strings.Builder
	need func(n int) error // reserve n bytes on top of what the caller holds
}

func (b *budgetBuilder) write(s string) error {
	if b.Len()+len(s) > b.Cap() {
		// strings.Builder grows to about twice its capacity; old and new
		// are both live while it copies.
		if err := b.need(b.Cap() + max(2*b.Cap(), b.Len()+len(s))); err != nil {
			return err
		}
	}
	b.WriteString(s)
	return nil
}

func expandRepl(b *budgetBuilder, repl, s string, m []int) error {
	var err error
	for i := 0; i < len(repl) && err == nil; i++ {
		c := repl[i]
		switch {
		case c == '&':
			err = b.write(s[m[0]:m[1]])
		case c == '\\' && i+1 < len(repl):
			i++
			d := repl[i]
			switch {
			case d >= '0' && d <= '9':
				g := int(d - '0')
				if 2*g+1 < len(m) && m[2*g] >= 0 {
					err = b.write(s[m[2*g]:m[2*g+1]])
				}
			case d == 'n':
				err = b.write("\n")
			case d == 't':
				err = b.write("\t")
			default:
				err = b.write(repl[i : i+1])
			}
		default:
			err = b.write(repl[i : i+1])
		}
	}
	return err
}
