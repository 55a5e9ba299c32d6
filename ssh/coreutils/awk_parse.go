package coreutils

import (
	"fmt"
	"strconv"
	"strings"
)

// The awk implemented here is the POSIX language minus everything that
// reaches outside the process: no system(), no output redirection (> >> |),
// no getline from files or commands, no user functions, no ENVIRON, and file
// operands are refused (only var=value operands). Regexes are ERE (plus the
// mawk/gawk regex RS), compiled to RE2 leftmost-longest.

type tokKind int

const (
	tEOF tokKind = iota
	tNL
	tNum
	tStr
	tRegex
	tName
	tBuiltin
	tKeyword
	tOp
)

type token struct {
	kind tokKind
	s    string
	n    float64
	pos  int
}

var awkKeywords = map[string]bool{
	"BEGIN": true, "END": true, "if": true, "else": true, "while": true, "for": true, "do": true,
	"break": true, "continue": true, "next": true, "nextfile": true, "exit": true, "return": true,
	"delete": true, "in": true, "getline": true, "print": true, "printf": true, "function": true, "func": true,
}

var awkBuiltins = map[string]bool{
	"length": true, "substr": true, "index": true, "split": true, "sub": true, "gsub": true,
	"match": true, "sprintf": true, "tolower": true, "toupper": true, "int": true, "sqrt": true,
	"exp": true, "log": true, "sin": true, "cos": true, "atan2": true, "rand": true, "srand": true,
	"system": true, "close": true, "fflush": true,
}

type awkLexer struct {
	src  string
	i    int
	last token
}

func (lx *awkLexer) regexAllowed() bool {
	switch lx.last.kind {
	case tNum, tStr, tRegex, tName, tBuiltin:
		return false
	case tOp:
		switch lx.last.s {
		case ")", "]", "$", "++", "--":
			return false
		}
	case tKeyword:
		return lx.last.s != "getline"
	}
	return true
}

func (lx *awkLexer) next() (token, error) {
	t, err := lx.scan()
	if err == nil {
		lx.last = t
	}
	return t, err
}

func (lx *awkLexer) scan() (token, error) {
	for lx.i < len(lx.src) {
		c := lx.src[lx.i]
		if c == ' ' || c == '\t' || c == '\r' {
			lx.i++
		} else if c == '\\' && lx.i+1 < len(lx.src) && lx.src[lx.i+1] == '\n' {
			lx.i += 2
		} else if c == '#' {
			for lx.i < len(lx.src) && lx.src[lx.i] != '\n' {
				lx.i++
			}
		} else {
			break
		}
	}
	start := lx.i
	if lx.i >= len(lx.src) {
		return token{kind: tEOF, pos: start}, nil
	}
	c := lx.src[lx.i]
	switch {
	case c == '\n':
		lx.i++
		return token{kind: tNL, pos: start}, nil
	case c >= '0' && c <= '9' || c == '.' && lx.i+1 < len(lx.src) && lx.src[lx.i+1] >= '0' && lx.src[lx.i+1] <= '9':
		j := lx.i
		for j < len(lx.src) && (lx.src[j] >= '0' && lx.src[j] <= '9' || lx.src[j] == '.') {
			j++
		}
		if j < len(lx.src) && (lx.src[j] == 'e' || lx.src[j] == 'E') {
			k := j + 1
			if k < len(lx.src) && (lx.src[k] == '+' || lx.src[k] == '-') {
				k++
			}
			if k < len(lx.src) && lx.src[k] >= '0' && lx.src[k] <= '9' {
				for k < len(lx.src) && lx.src[k] >= '0' && lx.src[k] <= '9' {
					k++
				}
				j = k
			}
		}
		n, err := strconv.ParseFloat(lx.src[lx.i:j], 64)
		if err != nil {
			return token{}, fmt.Errorf("syntax error at source line 1: bad number %q", lx.src[lx.i:j])
		}
		lx.i = j
		return token{kind: tNum, n: n, s: lx.src[start:j], pos: start}, nil
	case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		j := lx.i
		for j < len(lx.src) && (lx.src[j] == '_' || lx.src[j] >= 'a' && lx.src[j] <= 'z' || lx.src[j] >= 'A' && lx.src[j] <= 'Z' || lx.src[j] >= '0' && lx.src[j] <= '9') {
			j++
		}
		w := lx.src[lx.i:j]
		lx.i = j
		switch {
		case awkKeywords[w]:
			return token{kind: tKeyword, s: w, pos: start}, nil
		case awkBuiltins[w]:
			return token{kind: tBuiltin, s: w, pos: start}, nil
		}
		return token{kind: tName, s: w, pos: start}, nil
	case c == '"':
		lx.i++
		var b strings.Builder
		for {
			if lx.i >= len(lx.src) || lx.src[lx.i] == '\n' {
				return token{}, fmt.Errorf("runaway string constant \"%.10s ...", lx.src[start+1:])
			}
			c := lx.src[lx.i]
			if c == '"' {
				lx.i++
				break
			}
			if c == '\\' && lx.i+1 < len(lx.src) {
				lx.i++
				lx.i += awkEscape(lx.src[lx.i:], &b)
				continue
			}
			b.WriteByte(c)
			lx.i++
		}
		return token{kind: tStr, s: b.String(), pos: start}, nil
	case c == '/' && lx.regexAllowed():
		lx.i++
		var b strings.Builder
		inBracket := false
		for {
			if lx.i >= len(lx.src) || lx.src[lx.i] == '\n' {
				return token{}, fmt.Errorf("runaway regular expression /%.10s ...", lx.src[start+1:])
			}
			c := lx.src[lx.i]
			if c == '/' && !inBracket {
				lx.i++
				break
			}
			if c == '[' {
				inBracket = true
			} else if c == ']' {
				inBracket = false
			}
			if c == '\\' && lx.i+1 < len(lx.src) {
				if lx.src[lx.i+1] == '/' {
					b.WriteByte('/')
				} else {
					b.WriteString(lx.src[lx.i : lx.i+2])
				}
				lx.i += 2
				continue
			}
			b.WriteByte(c)
			lx.i++
		}
		return token{kind: tRegex, s: b.String(), pos: start}, nil
	}
	for _, op := range []string{"+=", "-=", "*=", "/=", "%=", "^=", "==", "<=", ">=", "!=", "++", "--", "&&", "||", ">>", "!~", "**"} {
		if strings.HasPrefix(lx.src[lx.i:], op) {
			lx.i += len(op)
			if op == "**" {
				op = "^"
			}
			return token{kind: tOp, s: op, pos: start}, nil
		}
	}
	if strings.IndexByte("{}()[];,+-*/%^!><|?:~$=", c) >= 0 {
		lx.i++
		return token{kind: tOp, s: string(c), pos: start}, nil
	}
	return token{}, fmt.Errorf("syntax error at source line 1: unexpected character '%c'", c)
}

// awkEscape decodes the escape after a backslash in s into b and returns how
// many bytes it used.
func awkEscape(s string, b *strings.Builder) int {
	switch s[0] {
	case 'n':
		b.WriteByte('\n')
	case 't':
		b.WriteByte('\t')
	case 'r':
		b.WriteByte('\r')
	case '\\':
		b.WriteByte('\\')
	case '"':
		b.WriteByte('"')
	case '/':
		b.WriteByte('/')
	case 'a':
		b.WriteByte(7)
	case 'b':
		b.WriteByte(8)
	case 'f':
		b.WriteByte(12)
	case 'v':
		b.WriteByte(11)
	default:
		if s[0] >= '0' && s[0] <= '7' {
			v, n := 0, 0
			for n < 3 && n < len(s) && s[n] >= '0' && s[n] <= '7' {
				v = v*8 + int(s[n]-'0')
				n++
			}
			b.WriteByte(byte(v))
			return n
		}
		b.WriteByte('\\')
		b.WriteByte(s[0])
	}
	return 1
}

// AST.

type awkExpr interface{}

type (
	numLit   struct{ n float64 }
	strLit   struct{ s string }
	regexLit struct{ re string } // matches $0 when used as a value
	varRef   struct{ name string }
	indexRef struct {
		name string
		keys []awkExpr
	}
	fieldRef struct{ idx awkExpr }
	assignE  struct {
		op  string // "=", "+=", ...
		lhs awkExpr
		rhs awkExpr
	}
	condE struct{ c, a, b awkExpr }
	binE  struct {
		op   string
		l, r awkExpr
	}
	unaryE struct {
		op string
		x  awkExpr
	}
	incdecE struct {
		op   string
		pre  bool
		lval awkExpr
	}
	matchE struct {
		neg  bool
		l, r awkExpr
	}
	inE struct {
		keys []awkExpr
		arr  string
	}
	callE struct {
		name string
		args []awkExpr
	}
	groupE   struct{ list []awkExpr } // (a, b) — only meaningful in print
	getlineE struct{ lval awkExpr }
)

type awkStmt interface{}

type (
	exprS  struct{ e awkExpr }
	printS struct {
		printf bool
		args   []awkExpr
	}
	ifS struct {
		cond       awkExpr
		then, els_ awkStmt
	}
	whileS struct {
		cond awkExpr
		body awkStmt
		do   bool
	}
	forS struct {
		init, post awkStmt
		cond       awkExpr
		body       awkStmt
	}
	forInS struct {
		v    string
		arr  string
		body awkStmt
	}
	blockS  struct{ list []awkStmt }
	simpleS struct{ what string } // next, break, continue
	exitS   struct{ code awkExpr }
	deleteS struct {
		arr  string
		keys []awkExpr
	}
)

type awkItem struct {
	kind    string // "BEGIN", "END", "main"
	pat     awkExpr
	pat2    awkExpr // range end
	action  *blockS // nil = print $0
	inRange bool
}

type awkProgram struct {
	items []*awkItem
}

type awkParser struct {
	lx  *awkLexer
	tok token
}

func (p *awkParser) advance() error {
	t, err := p.lx.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *awkParser) errf(format string, a ...any) error {
	return fmt.Errorf("syntax error at source line 1: "+format, a...)
}

func (p *awkParser) is(s string) bool {
	return (p.tok.kind == tOp || p.tok.kind == tKeyword) && p.tok.s == s
}

func (p *awkParser) expect(s string) error {
	if !p.is(s) {
		return p.errf("expected '%s' near '%s'", s, p.tokText())
	}
	return p.advance()
}

func (p *awkParser) tokText() string {
	switch p.tok.kind {
	case tEOF:
		return "end of program"
	case tNL:
		return "newline"
	}
	return p.tok.s
}

func (p *awkParser) skipNL() error {
	for p.tok.kind == tNL {
		if err := p.advance(); err != nil {
			return err
		}
	}
	return nil
}

func (p *awkParser) skipTerms() error {
	for p.tok.kind == tNL || p.is(";") {
		if err := p.advance(); err != nil {
			return err
		}
	}
	return nil
}

func parseAwk(src string) (*awkProgram, error) {
	p := &awkParser{lx: &awkLexer{src: src}}
	if err := p.advance(); err != nil {
		return nil, err
	}
	prog := &awkProgram{}
	for {
		if err := p.skipTerms(); err != nil {
			return nil, err
		}
		if p.tok.kind == tEOF {
			return prog, nil
		}
		item := &awkItem{kind: "main"}
		switch {
		case p.is("BEGIN") || p.is("END"):
			item.kind = p.tok.s
			if err := p.advance(); err != nil {
				return nil, err
			}
			if !p.is("{") {
				return nil, p.errf("%s needs an action", item.kind)
			}
		case p.is("function") || p.is("func"):
			return nil, p.errf("user-defined functions are not supported")
		case !p.is("{"):
			pat, err := p.expr(false)
			if err != nil {
				return nil, err
			}
			item.pat = pat
			if p.is(",") {
				if err := p.advance(); err != nil {
					return nil, err
				}
				if err := p.skipNL(); err != nil {
					return nil, err
				}
				if item.pat2, err = p.expr(false); err != nil {
					return nil, err
				}
			}
		}
		if p.is("{") {
			b, err := p.block()
			if err != nil {
				return nil, err
			}
			item.action = b
		}
		prog.items = append(prog.items, item)
	}
}

func (p *awkParser) block() (*blockS, error) {
	if err := p.expect("{"); err != nil {
		return nil, err
	}
	b := &blockS{}
	for {
		if err := p.skipTerms(); err != nil {
			return nil, err
		}
		if p.is("}") {
			return b, p.advance()
		}
		if p.tok.kind == tEOF {
			return nil, p.errf("unexpected end of program, missing '}'")
		}
		s, err := p.stmt()
		if err != nil {
			return nil, err
		}
		b.list = append(b.list, s)
	}
}

// endSimple consumes a simple statement's terminator.
func (p *awkParser) endSimple() error {
	switch {
	case p.is(";") || p.tok.kind == tNL:
		return p.advance()
	case p.is("}") || p.tok.kind == tEOF:
		return nil
	case p.is(">") || p.is(">>") || p.is("|"):
		return p.errf("output redirection and pipes are not permitted in this confined shell")
	}
	return p.errf("unexpected '%s'", p.tokText())
}

func (p *awkParser) stmtOrBlock() (awkStmt, error) {
	if err := p.skipNL(); err != nil {
		return nil, err
	}
	if p.is(";") {
		return &blockS{}, p.advance()
	}
	return p.stmt()
}

func (p *awkParser) stmt() (awkStmt, error) {
	if p.is("{") {
		return p.block()
	}
	if p.tok.kind == tKeyword {
		kw := p.tok.s
		switch kw {
		case "if":
			if err := p.advance(); err != nil {
				return nil, err
			}
			if err := p.expect("("); err != nil {
				return nil, err
			}
			cond, err := p.expr(false)
			if err != nil {
				return nil, err
			}
			if err := p.expect(")"); err != nil {
				return nil, err
			}
			then, err := p.stmtOrBlock()
			if err != nil {
				return nil, err
			}
			s := &ifS{cond: cond, then: then}
			// look past terminators for else
			save, saveTok := *p.lx, p.tok
			if err := p.skipTerms(); err != nil {
				return nil, err
			}
			if p.is("else") {
				if err := p.advance(); err != nil {
					return nil, err
				}
				if s.els_, err = p.stmtOrBlock(); err != nil {
					return nil, err
				}
			} else {
				*p.lx, p.tok = save, saveTok
			}
			return s, nil
		case "while":
			if err := p.advance(); err != nil {
				return nil, err
			}
			if err := p.expect("("); err != nil {
				return nil, err
			}
			cond, err := p.expr(false)
			if err != nil {
				return nil, err
			}
			if err := p.expect(")"); err != nil {
				return nil, err
			}
			body, err := p.stmtOrBlock()
			return &whileS{cond: cond, body: body}, err
		case "do":
			if err := p.advance(); err != nil {
				return nil, err
			}
			body, err := p.stmtOrBlock()
			if err != nil {
				return nil, err
			}
			if err := p.skipTerms(); err != nil {
				return nil, err
			}
			if err := p.expect("while"); err != nil {
				return nil, err
			}
			if err := p.expect("("); err != nil {
				return nil, err
			}
			cond, err := p.expr(false)
			if err != nil {
				return nil, err
			}
			if err := p.expect(")"); err != nil {
				return nil, err
			}
			return &whileS{cond: cond, body: body, do: true}, p.endSimple()
		case "for":
			return p.forStmt()
		case "next", "break", "continue":
			if err := p.advance(); err != nil {
				return nil, err
			}
			return &simpleS{what: kw}, p.endSimple()
		case "nextfile":
			if err := p.advance(); err != nil {
				return nil, err
			}
			return &simpleS{what: "next"}, p.endSimple()
		case "exit":
			if err := p.advance(); err != nil {
				return nil, err
			}
			s := &exitS{}
			if !(p.is(";") || p.is("}") || p.tok.kind == tNL || p.tok.kind == tEOF) {
				e, err := p.expr(false)
				if err != nil {
					return nil, err
				}
				s.code = e
			}
			return s, p.endSimple()
		case "return":
			return nil, p.errf("return outside function")
		case "delete":
			if err := p.advance(); err != nil {
				return nil, err
			}
			if p.tok.kind != tName {
				return nil, p.errf("delete needs an array")
			}
			s := &deleteS{arr: p.tok.s}
			if err := p.advance(); err != nil {
				return nil, err
			}
			if p.is("[") {
				keys, err := p.subscripts()
				if err != nil {
					return nil, err
				}
				s.keys = keys
			}
			return s, p.endSimple()
		case "print", "printf":
			if err := p.advance(); err != nil {
				return nil, err
			}
			s := &printS{printf: kw == "printf"}
			if !(p.is(";") || p.is("}") || p.tok.kind == tNL || p.tok.kind == tEOF || p.is(">") || p.is(">>") || p.is("|")) {
				list, err := p.exprList(true)
				if err != nil {
					return nil, err
				}
				if len(list) == 1 {
					if g, ok := list[0].(*groupE); ok {
						list = g.list
					}
				}
				s.args = list
			}
			if s.printf && len(s.args) == 0 {
				return nil, p.errf("printf: no format")
			}
			return s, p.endSimple()
		}
	}
	e, err := p.expr(false)
	if err != nil {
		return nil, err
	}
	return &exprS{e: e}, p.endSimple()
}

func (p *awkParser) forStmt() (awkStmt, error) {
	if err := p.advance(); err != nil {
		return nil, err
	}
	if err := p.expect("("); err != nil {
		return nil, err
	}
	// for (v in arr)
	if p.tok.kind == tName {
		save, saveTok := *p.lx, p.tok
		v := p.tok.s
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.is("in") {
			if err := p.advance(); err != nil {
				return nil, err
			}
			if p.tok.kind != tName {
				return nil, p.errf("for-in needs an array")
			}
			arr := p.tok.s
			if err := p.advance(); err != nil {
				return nil, err
			}
			if p.is(")") {
				if err := p.advance(); err != nil {
					return nil, err
				}
				body, err := p.stmtOrBlock()
				return &forInS{v: v, arr: arr, body: body}, err
			}
		}
		*p.lx, p.tok = save, saveTok
	}
	s := &forS{}
	if !p.is(";") {
		e, err := p.expr(false)
		if err != nil {
			return nil, err
		}
		s.init = &exprS{e: e}
	}
	if err := p.expect(";"); err != nil {
		return nil, err
	}
	if err := p.skipNL(); err != nil {
		return nil, err
	}
	if !p.is(";") {
		e, err := p.expr(false)
		if err != nil {
			return nil, err
		}
		s.cond = e
	}
	if err := p.expect(";"); err != nil {
		return nil, err
	}
	if err := p.skipNL(); err != nil {
		return nil, err
	}
	if !p.is(")") {
		e, err := p.expr(false)
		if err != nil {
			return nil, err
		}
		s.post = &exprS{e: e}
	}
	if err := p.expect(")"); err != nil {
		return nil, err
	}
	body, err := p.stmtOrBlock()
	s.body = body
	return s, err
}

func (p *awkParser) exprList(noGT bool) ([]awkExpr, error) {
	var list []awkExpr
	for {
		e, err := p.expr(noGT)
		if err != nil {
			return nil, err
		}
		list = append(list, e)
		if !p.is(",") {
			return list, nil
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		if err := p.skipNL(); err != nil {
			return nil, err
		}
	}
}

func (p *awkParser) subscripts() ([]awkExpr, error) {
	if err := p.expect("["); err != nil {
		return nil, err
	}
	keys, err := p.exprList(false)
	if err != nil {
		return nil, err
	}
	return keys, p.expect("]")
}

func isLvalue(e awkExpr) bool {
	switch e.(type) {
	case *varRef, *indexRef, *fieldRef:
		return true
	}
	return false
}

// expr parses an expression; noGT makes an unparenthesized '>' end it (print
// redirection context).
func (p *awkParser) expr(noGT bool) (awkExpr, error) {
	lhs, err := p.ternary(noGT)
	if err != nil {
		return nil, err
	}
	if p.tok.kind == tOp && isLvalue(lhs) {
		switch op := p.tok.s; op {
		case "=", "+=", "-=", "*=", "/=", "%=", "^=":
			if err := p.advance(); err != nil {
				return nil, err
			}
			if err := p.skipNL(); err != nil {
				return nil, err
			}
			rhs, err := p.expr(noGT)
			if err != nil {
				return nil, err
			}
			return &assignE{op: op, lhs: lhs, rhs: rhs}, nil
		}
	}
	return lhs, nil
}

func (p *awkParser) ternary(noGT bool) (awkExpr, error) {
	c, err := p.binary(0, noGT)
	if err != nil {
		return nil, err
	}
	if !p.is("?") {
		return c, nil
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if err := p.skipNL(); err != nil {
		return nil, err
	}
	a, err := p.expr(noGT)
	if err != nil {
		return nil, err
	}
	if err := p.skipNL(); err != nil {
		return nil, err
	}
	if err := p.expect(":"); err != nil {
		return nil, err
	}
	if err := p.skipNL(); err != nil {
		return nil, err
	}
	b, err := p.expr(noGT)
	if err != nil {
		return nil, err
	}
	return &condE{c: c, a: a, b: b}, nil
}

// binary levels: 0 ||, 1 &&, 2 in, 3 ~ !~, 4 comparisons, 5 concatenation,
// 6 + -, 7 * / %.
func (p *awkParser) binary(level int, noGT bool) (awkExpr, error) {
	if level == 8 {
		return p.unary(noGT)
	}
	l, err := p.binary(level+1, noGT)
	if err != nil {
		return nil, err
	}
	for {
		switch level {
		case 0, 1:
			op := map[int]string{0: "||", 1: "&&"}[level]
			if !p.is(op) {
				return l, nil
			}
			if err := p.advance(); err != nil {
				return nil, err
			}
			if err := p.skipNL(); err != nil {
				return nil, err
			}
			r, err := p.binary(level+1, noGT)
			if err != nil {
				return nil, err
			}
			l = &binE{op: op, l: l, r: r}
		case 2:
			if !p.is("in") {
				return l, nil
			}
			if err := p.advance(); err != nil {
				return nil, err
			}
			if p.tok.kind != tName {
				return nil, p.errf("'in' needs an array name")
			}
			keys := []awkExpr{l}
			if g, ok := l.(*groupE); ok {
				keys = g.list
			}
			l = &inE{keys: keys, arr: p.tok.s}
			if err := p.advance(); err != nil {
				return nil, err
			}
		case 3:
			if !p.is("~") && !p.is("!~") {
				return l, nil
			}
			neg := p.tok.s == "!~"
			if err := p.advance(); err != nil {
				return nil, err
			}
			r, err := p.binary(level+1, noGT)
			if err != nil {
				return nil, err
			}
			l = &matchE{neg: neg, l: l, r: r}
		case 4:
			if p.tok.kind != tOp {
				return l, nil
			}
			op := p.tok.s
			switch op {
			case "<", "<=", "!=", "==", ">=":
			case ">":
				if noGT {
					return l, nil
				}
			default:
				return l, nil
			}
			if err := p.advance(); err != nil {
				return nil, err
			}
			r, err := p.binary(level+1, noGT)
			if err != nil {
				return nil, err
			}
			return &binE{op: op, l: l, r: r}, nil
		case 5:
			if !p.startsConcat() {
				return l, nil
			}
			r, err := p.binary(level+1, noGT)
			if err != nil {
				return nil, err
			}
			l = &binE{op: "concat", l: l, r: r}
		case 6, 7:
			ops := map[int]string{6: "+-", 7: "*/%"}[level]
			if p.tok.kind != tOp || len(p.tok.s) != 1 || !strings.Contains(ops, p.tok.s) {
				return l, nil
			}
			op := p.tok.s
			if err := p.advance(); err != nil {
				return nil, err
			}
			r, err := p.binary(level+1, noGT)
			if err != nil {
				return nil, err
			}
			l = &binE{op: op, l: l, r: r}
		}
	}
}

func (p *awkParser) startsConcat() bool {
	switch p.tok.kind {
	case tNum, tStr, tRegex, tName, tBuiltin:
		return true
	case tOp:
		switch p.tok.s {
		case "$", "(", "!", "-", "+", "++", "--":
			return p.tok.s != "-" && p.tok.s != "+" && p.tok.s != "!"
		}
	case tKeyword:
		return false
	}
	return false
}

func (p *awkParser) unary(noGT bool) (awkExpr, error) {
	if p.is("!") || p.is("-") || p.is("+") {
		op := p.tok.s
		if err := p.advance(); err != nil {
			return nil, err
		}
		x, err := p.unary(noGT)
		if err != nil {
			return nil, err
		}
		return &unaryE{op: op, x: x}, nil
	}
	return p.power(noGT)
}

func (p *awkParser) power(noGT bool) (awkExpr, error) {
	base, err := p.postfix()
	if err != nil {
		return nil, err
	}
	if p.is("^") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		exp, err := p.unary(noGT) // right associative, allows -x
		if err != nil {
			return nil, err
		}
		return &binE{op: "^", l: base, r: exp}, nil
	}
	return base, nil
}

func (p *awkParser) postfix() (awkExpr, error) {
	if p.is("++") || p.is("--") {
		op := p.tok.s
		if err := p.advance(); err != nil {
			return nil, err
		}
		x, err := p.postfix()
		if err != nil {
			return nil, err
		}
		if !isLvalue(x) {
			return nil, p.errf("%s needs a variable", op)
		}
		return &incdecE{op: op, pre: true, lval: x}, nil
	}
	x, err := p.primary()
	if err != nil {
		return nil, err
	}
	if isLvalue(x) && (p.is("++") || p.is("--")) {
		op := p.tok.s
		if err := p.advance(); err != nil {
			return nil, err
		}
		return &incdecE{op: op, lval: x}, nil
	}
	return x, nil
}

func (p *awkParser) primary() (awkExpr, error) {
	t := p.tok
	switch t.kind {
	case tNum:
		return &numLit{n: t.n}, p.advance()
	case tStr:
		return &strLit{s: t.s}, p.advance()
	case tRegex:
		return &regexLit{re: t.s}, p.advance()
	case tName:
		if t.s == "ENVIRON" {
			return nil, p.errf("ENVIRON is not available in this confined shell")
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.is("[") {
			keys, err := p.subscripts()
			if err != nil {
				return nil, err
			}
			return &indexRef{name: t.s, keys: keys}, nil
		}
		return &varRef{name: t.s}, nil
	case tBuiltin:
		switch t.s {
		case "system":
			return nil, fmt.Errorf("system() is not permitted in this confined shell")
		case "close":
			return nil, fmt.Errorf("close() is not permitted in this confined shell")
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		c := &callE{name: t.s}
		if !p.is("(") {
			if t.s == "length" {
				return c, nil
			}
			return nil, p.errf("%s needs arguments", t.s)
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		if !p.is(")") {
			args, err := p.exprList(false)
			if err != nil {
				return nil, err
			}
			c.args = args
		}
		return c, p.expect(")")
	case tKeyword:
		if t.s == "getline" {
			if err := p.advance(); err != nil {
				return nil, err
			}
			g := &getlineE{}
			if p.tok.kind == tName || p.is("$") {
				lv, err := p.postfix()
				if err != nil {
					return nil, err
				}
				if !isLvalue(lv) {
					return nil, p.errf("getline needs a variable")
				}
				g.lval = lv
			}
			if p.is("<") {
				return nil, fmt.Errorf("getline from files is not permitted in this confined shell")
			}
			return g, nil
		}
	case tOp:
		switch t.s {
		case "$":
			if err := p.advance(); err != nil {
				return nil, err
			}
			var idx awkExpr
			var err error
			if p.is("++") || p.is("--") || p.is("-") || p.is("!") {
				idx, err = p.unary(false)
			} else {
				idx, err = p.primary()
			}
			if err != nil {
				return nil, err
			}
			return &fieldRef{idx: idx}, nil
		case "(":
			if err := p.advance(); err != nil {
				return nil, err
			}
			list, err := p.exprList(false)
			if err != nil {
				return nil, err
			}
			if err := p.expect(")"); err != nil {
				return nil, err
			}
			if len(list) > 1 {
				if !p.is("in") {
					return &groupE{list: list}, nil
				}
				return &groupE{list: list}, nil
			}
			return &groupE{list: list}, nil
		case "|":
			return nil, fmt.Errorf("pipes are not permitted in this confined shell")
		}
	}
	return nil, p.errf("unexpected '%s'", p.tokText())
}
