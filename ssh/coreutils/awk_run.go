package coreutils

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"quintupleo/ssh/budget"
)

// Awk runs the confined awk: options -F fs, -v var=value, --; the program;
// then var=value operands (file operands are refused). Input is stdin.
func Awk(ctx context.Context, e *Env, args []string) int {
	o, err := getopt(args[1:], "", "Fv")
	if err != nil {
		awkOptionError(e, err)
		return 2
	}
	if len(o.operands) == 0 {
		fmt.Fprintln(e.Stderr, "usage: awk [-F value] [-v var=value] [--] 'program text' [var=value ...]")
		return 2
	}
	fs, fsSet, assigns := o.last('F'), o.set['F'], o.values['v']
	src := o.operands[0]
	operands := o.operands[1:]
	prog, err := parseAwk(src)
	if err != nil {
		errorf(e, "awk", "%v", err)
		return 2
	}
	for _, op := range operands {
		if !isAssignOperand(op) && op != "-" {
			errorf(e, "awk", "cannot open %s (reading files is not permitted in this confined shell)", op)
			return 2
		}
	}
	out := bufio.NewWriter(e.Stdout)
	in := newAwkInterp(ctx, prog, out)
	in.mem = &e.mem
	in.maxStr = int(e.MaxInput)
	if in.maxStr <= 0 {
		in.maxStr = 64 << 20
	}
	if fsSet {
		if fs == "t" {
			fs = "\t"
		}
		in.setVar("FS", strCell(unescapeAwk(fs)))
	}
	for _, a := range assigns {
		if !isAssignOperand(a) {
			errorf(e, "awk", "improper assignment: -v %s", a)
			return 2
		}
		in.assignOperand(a)
	}
	status, err := in.run(e, operands)
	if ferr := out.Flush(); err == nil && ferr != nil {
		err = ferr
	}
	if err != nil {
		if !errors.Is(err, errAwkExit) {
			errorf(e, "awk", "%v", err)
			return 2
		}
	}
	return status
}

// awkOptionError reports a refused option in awk's words: the confined
// shell has no program files (-f), and names the whole argument otherwise.
func awkOptionError(e *Env, err error) {
	var oe *optError
	switch {
	case !errors.As(err, &oe):
		errorf(e, "awk", "%v", err)
	case oe.missing:
		errorf(e, "awk", "option requires an argument -- %c", oe.c)
	case oe.c == 'f':
		errorf(e, "awk", "program files are not permitted in this confined shell")
	default:
		errorf(e, "awk", "option %s is not permitted in this confined shell", oe.arg)
	}
}

var assignRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

func isAssignOperand(s string) bool { return assignRe.MatchString(s) }

func unescapeAwk(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
			i += awkEscape(s[i:], &b) - 1
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Values.

type cellKind uint8

const (
	kUninit cellKind = iota
	kNum
	kStr
	kStrNum // input-derived string that looks numeric
)

type cell struct {
	kind cellKind
	s    string
	n    float64
}

func numCell(n float64) cell { return cell{kind: kNum, n: n} }
func strCell(s string) cell  { return cell{kind: kStr, s: s} }

func inputCell(s string) cell {
	if t := strings.TrimSpace(s); t != "" {
		if n, ok := parseNumberStrict(t); ok {
			return cell{kind: kStrNum, s: s, n: n}
		}
	}
	return cell{kind: kStr, s: s}
}

func parseNumberStrict(t string) (float64, bool) {
	for _, c := range t {
		if !(c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E') {
			return 0, false
		}
	}
	n, err := strconv.ParseFloat(t, 64)
	return n, err == nil
}

var leadingNum = regexp.MustCompile(`^[ \t\n]*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?`)

func (c cell) num() float64 {
	switch c.kind {
	case kNum, kStrNum:
		return c.n
	case kStr:
		m := leadingNum.FindString(c.s)
		n, _ := strconv.ParseFloat(strings.TrimSpace(m), 64)
		return n
	}
	return 0
}

func fmtNum(n float64, format string) string {
	if n == math.Trunc(n) && math.Abs(n) < 1e16 {
		return strconv.FormatInt(int64(n), 10)
	}
	return awkSprintf(format, []cell{numCell(n)})
}

func (c cell) str(convfmt string) string {
	if c.kind == kNum {
		return fmtNum(c.n, convfmt)
	}
	return c.s
}

func (c cell) truth() bool {
	switch c.kind {
	case kNum:
		return c.n != 0
	case kStrNum:
		return c.n != 0
	case kStr:
		return c.s != ""
	}
	return false
}

// Interpreter.

var (
	errAwkExit = errors.New("exit")
	errNext    = errors.New("next")
	errBreak   = errors.New("break")
	errCont    = errors.New("continue")
)

type awkInterp struct {
	ctx    context.Context
	prog   *awkProgram
	out    *bufio.Writer
	vars   map[string]cell
	arrays map[string]map[string]cell
	res    map[string]*regexp.Regexp

	record   string
	fields   []string // fields[0] unused
	split    bool
	data     string
	pos      int
	exitCode int
	steps    int
	maxStr   int // longest string a value may hold
	cells    int // array elements created

	// Memory: every value is reserved in the session's budget before it is
	// built. live is what stored values hold (variables, array elements,
	// the record and its fields, the input); tmp adds up the values built
	// during the current statement, which may still be referenced by the
	// expression building the next one; exec resets it.
	mem     *meter
	live    int64
	tmp     int64
	recLive int64 // what live counts for the record and its fields
	ms      matches
}

// Per-item overheads counted on top of the bytes: a string header in the
// fields slice (twice: split result and the copy), an array element (key
// and value headers, map slot), a variable.
const (
	fieldOverhead = 32
	elemOverhead  = 96
	varOverhead   = 48
)

// need reserves n more bytes for a value about to be built.
func (in *awkInterp) need(n int) error {
	in.tmp = budget.Add(in.tmp, int64(n))
	return in.check()
}

// check reserves what stored and temporary values hold now.
func (in *awkInterp) check() error {
	if in.mem == nil {
		in.mem = &meter{}
	}
	return in.mem.need(budget.Add(in.live, in.tmp))
}

func cellBytes(c cell) int64 { return int64(len(c.s)) }

func (in *awkInterp) arrayBytes(a map[string]cell) int64 {
	n := int64(0)
	for k, v := range a {
		n += int64(len(k)) + cellBytes(v) + elemOverhead
	}
	return n
}

const maxArrayCells = 1 << 20

var errTooBig = errors.New("string or array too large for this confined shell")

func newAwkInterp(ctx context.Context, prog *awkProgram, out *bufio.Writer) *awkInterp {
	in := &awkInterp{
		ctx: ctx, prog: prog, out: out,
		vars:   map[string]cell{},
		arrays: map[string]map[string]cell{},
		res:    map[string]*regexp.Regexp{},
	}
	for k, v := range map[string]string{"FS": " ", "OFS": " ", "ORS": "\n", "RS": "\n", "SUBSEP": "\x1c", "CONVFMT": "%.6g", "OFMT": "%.6g", "FILENAME": ""} {
		in.vars[k] = strCell(v)
	}
	in.vars["NR"] = numCell(0)
	in.vars["FNR"] = numCell(0)
	in.vars["RSTART"] = numCell(0)
	in.vars["RLENGTH"] = numCell(-1)
	in.split = true
	return in
}

func (in *awkInterp) convfmt() string { return in.vars["CONVFMT"].s }

func (in *awkInterp) assignOperand(a string) {
	name, val, _ := strings.Cut(a, "=")
	in.setVar(name, inputCell(unescapeAwk(val)))
}

func (in *awkInterp) regex(src string) (*regexp.Regexp, error) {
	if re, ok := in.res[src]; ok {
		return re, nil
	}
	re, err := compileRegex(src, true, false)
	if err != nil {
		return nil, err
	}
	if len(in.res) > 256 {
		in.res = map[string]*regexp.Regexp{}
	}
	in.res[src] = re
	return re, nil
}

func (in *awkInterp) run(e *Env, operands []string) (int, error) {
	var begin, main, end []*awkItem
	for _, it := range in.prog.items {
		switch it.kind {
		case "BEGIN":
			begin = append(begin, it)
		case "END":
			end = append(end, it)
		default:
			main = append(main, it)
		}
	}
	exited := false
	for _, it := range begin {
		if err := in.exec(it.action); err != nil {
			if errors.Is(err, errAwkExit) {
				exited = true
				break
			}
			return 2, err
		}
	}
	if !exited && (len(main) > 0 || len(end) > 0) {
		for _, op := range operands {
			if op != "-" {
				in.assignOperand(op)
			}
		}
		data, err := e.readAll(in.ctx)
		if err != nil {
			return 2, err
		}
		if err := in.mem.keep(int64(len(data))); err != nil { // the string copy
			return 2, err
		}
		in.data = string(data)
	records:
		for {
			rec, ok := in.nextRecord()
			if !ok {
				break
			}
			if err := in.setRecord(rec, true); err != nil {
				return 2, err
			}
			in.vars["NR"] = numCell(in.vars["NR"].num() + 1)
			in.vars["FNR"] = numCell(in.vars["FNR"].num() + 1)
			if err := in.ctx.Err(); err != nil {
				return 2, err
			}
			for _, it := range main {
				match, err := in.itemMatches(it)
				if err != nil {
					return 2, err
				}
				if !match {
					continue
				}
				if it.action == nil {
					err = in.print(&printS{})
				} else {
					err = in.exec(it.action)
				}
				if errors.Is(err, errNext) {
					continue records
				}
				if errors.Is(err, errAwkExit) {
					exited = true
					break records
				}
				if err != nil {
					return 2, err
				}
			}
		}
	}
	_ = exited
	for _, it := range end {
		if err := in.exec(it.action); err != nil {
			if errors.Is(err, errAwkExit) {
				break
			}
			return 2, err
		}
	}
	return in.exitCode, nil
}

func (in *awkInterp) itemMatches(it *awkItem) (bool, error) {
	if it.pat == nil {
		return true, nil
	}
	if it.pat2 == nil {
		v, err := in.eval(it.pat)
		return v.truth(), err
	}
	if !it.inRange {
		v, err := in.eval(it.pat)
		if err != nil || !v.truth() {
			return false, err
		}
		it.inRange = true
	}
	v, err := in.eval(it.pat2)
	if err != nil {
		return false, err
	}
	if v.truth() {
		it.inRange = false
	}
	return true, nil
}

func (in *awkInterp) nextRecord() (string, bool) {
	rs := in.vars["RS"].str(in.convfmt())
	d := in.data
	if in.pos >= len(d) {
		return "", false
	}
	rest := d[in.pos:]
	switch {
	case rs == "":
		rest = strings.TrimLeft(rest, "\n")
		in.pos = len(d) - len(rest)
		if rest == "" {
			return "", false
		}
		i := strings.Index(rest, "\n\n")
		if i < 0 {
			in.pos = len(d)
			return strings.TrimRight(rest, "\n"), true
		}
		in.pos += i
		return rest[:i], true
	case len(rs) == 1:
		i := strings.IndexByte(rest, rs[0])
		if i < 0 {
			in.pos = len(d)
			return rest, true
		}
		in.pos += i + 1
		return rest[:i], true
	default:
		re, err := in.regex(rs)
		if err != nil {
			in.pos = len(d)
			return rest, true
		}
		loc := re.FindStringIndex(rest)
		if loc == nil || loc[1] == 0 {
			in.pos = len(d)
			return rest, true
		}
		in.pos += loc[1]
		return rest[:loc[0]], true
	}
}

// setRecord makes s the record; one read from the input shares its memory,
// any other (a $0 assignment) is counted.
func (in *awkInterp) setRecord(s string, fromInput bool) error {
	in.record = s
	in.split = false
	in.fields = nil
	in.live -= in.recLive
	in.recLive = 0
	if !fromInput {
		in.recLive = int64(len(s))
		in.live += in.recLive
	}
	return in.check()
}

func (in *awkInterp) splitRecord() error {
	if in.split {
		return nil
	}
	fs := in.vars["FS"].str(in.convfmt())
	n := in.countFields(in.record, fs)
	if err := in.need(fieldOverhead * (n + 1)); err != nil {
		return err
	}
	in.split = true
	in.fields = append([]string{""}, in.splitWith(in.record, fs)...)
	in.recLive += int64(fieldOverhead * len(in.fields))
	in.live += int64(fieldOverhead * len(in.fields))
	return nil
}

// countFields bounds how many pieces splitWith(s, fs) makes, without
// making them: a record of a million separators is a million string
// headers.
func (in *awkInterp) countFields(s, fs string) int {
	switch {
	case fs == " ":
		return len(s)/2 + 1
	case s == "":
		return 0
	case len(fs) == 1 && fs != "\\":
		return strings.Count(s, fs) + 1
	}
	re, err := in.regex(fs)
	if err != nil {
		return 1
	}
	n := 1
	in.ms.each(re, s, func([]int) bool { n++; return true })
	return n
}

func (in *awkInterp) splitWith(s, fs string) []string {
	switch {
	case fs == " ":
		return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' })
	case s == "":
		return nil
	case len(fs) == 1 && fs != "\\":
		return strings.Split(s, fs)
	default:
		re, err := in.regex(fs)
		if err != nil {
			return []string{s}
		}
		return re.Split(s, -1)
	}
}

func (in *awkInterp) rebuild() error {
	ofs := in.vars["OFS"].str(in.convfmt())
	n := len(ofs) * len(in.fields)
	for _, f := range in.fields {
		n += len(f)
	}
	if err := in.need(n); err != nil {
		return err
	}
	in.record = strings.Join(in.fields[1:], ofs)
	in.recLive += int64(len(in.record))
	in.live += int64(len(in.record))
	return nil
}

func (in *awkInterp) getField(i int) (cell, error) {
	if i < 0 {
		return cell{}, fmt.Errorf("trying to access out of range field %d", i)
	}
	if i == 0 {
		return inputCell(in.record), nil
	}
	if err := in.splitRecord(); err != nil {
		return cell{}, err
	}
	if i >= len(in.fields) {
		return cell{}, nil
	}
	return inputCell(in.fields[i]), nil
}

func (in *awkInterp) setField(i int, v string) error {
	if i < 0 || i > 100000 {
		return fmt.Errorf("trying to access out of range field %d", i)
	}
	if i == 0 {
		return in.setRecord(v, false)
	}
	if err := in.growFields(i); err != nil {
		return err
	}
	in.fields[i] = v
	in.recLive += int64(len(v))
	in.live += int64(len(v))
	return in.rebuild()
}

// growFields splits the record and extends it to n fields, the headers
// reserved first (NF=1e9 would otherwise be 16 GB of empty strings).
func (in *awkInterp) growFields(n int) error {
	if err := in.splitRecord(); err != nil {
		return err
	}
	if extra := n + 1 - len(in.fields); extra > 0 {
		if err := in.need(2 * fieldOverhead * extra); err != nil {
			return err
		}
		in.recLive += int64(fieldOverhead * extra)
		in.live += int64(fieldOverhead * extra)
	}
	for len(in.fields) <= n {
		in.fields = append(in.fields, "")
	}
	return nil
}

func (in *awkInterp) getVar(name string) (cell, error) {
	if name == "NF" {
		if err := in.splitRecord(); err != nil {
			return cell{}, err
		}
		return numCell(float64(len(in.fields) - 1)), nil
	}
	return in.vars[name], nil
}

func (in *awkInterp) setVar(name string, v cell) error {
	if name == "NF" {
		n := min(max(v.num(), 0), math.MaxInt32)
		if err := in.growFields(int(n)); err != nil {
			return err
		}
		in.fields = in.fields[:int(n)+1]
		return in.rebuild()
	}
	old, ok := in.vars[name]
	if !ok {
		in.live += int64(len(name)) + varOverhead
	}
	in.live += cellBytes(v) - cellBytes(old)
	in.vars[name] = v
	return in.check()
}

func (in *awkInterp) key(keys []awkExpr) (string, error) {
	parts := make([]string, len(keys))
	n := 0
	for i, k := range keys {
		v, err := in.eval(k)
		if err != nil {
			return "", err
		}
		parts[i] = v.str(in.convfmt())
		n += len(parts[i]) + len(in.vars["SUBSEP"].s)
	}
	if len(parts) > 1 {
		if err := in.need(n); err != nil {
			return "", err
		}
	}
	return strings.Join(parts, in.vars["SUBSEP"].s), nil
}

func (in *awkInterp) array(name string) map[string]cell {
	a, ok := in.arrays[name]
	if !ok {
		a = map[string]cell{}
		in.arrays[name] = a
	}
	return a
}

func (in *awkInterp) tick() error {
	in.steps++
	if in.steps&1023 == 0 {
		return in.ctx.Err()
	}
	return nil
}

func (in *awkInterp) exec(s awkStmt) error {
	if err := in.tick(); err != nil {
		return err
	}
	// the previous statement's temporaries are stored (in live) or garbage
	in.tmp = 0
	switch s := s.(type) {
	case *blockS:
		for _, x := range s.list {
			if err := in.exec(x); err != nil {
				return err
			}
		}
	case *exprS:
		_, err := in.eval(s.e)
		return err
	case *printS:
		return in.print(s)
	case *ifS:
		c, err := in.eval(s.cond)
		if err != nil {
			return err
		}
		if c.truth() {
			return in.exec(s.then)
		} else if s.els_ != nil {
			return in.exec(s.els_)
		}
	case *whileS:
		for first := true; ; first = false {
			if !(s.do && first) {
				c, err := in.eval(s.cond)
				if err != nil {
					return err
				}
				if !c.truth() {
					return nil
				}
			}
			if err := in.exec(s.body); err != nil {
				if errors.Is(err, errBreak) {
					return nil
				}
				if !errors.Is(err, errCont) {
					return err
				}
			}
		}
	case *forS:
		if s.init != nil {
			if err := in.exec(s.init); err != nil {
				return err
			}
		}
		for {
			if s.cond != nil {
				c, err := in.eval(s.cond)
				if err != nil {
					return err
				}
				if !c.truth() {
					return nil
				}
			}
			if err := in.exec(s.body); err != nil {
				if errors.Is(err, errBreak) {
					return nil
				}
				if !errors.Is(err, errCont) {
					return err
				}
			}
			if s.post != nil {
				if err := in.exec(s.post); err != nil {
					return err
				}
			}
		}
	case *forInS:
		arr := in.array(s.arr)
		keys := make([]string, 0, len(arr))
		for k := range arr {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if _, ok := arr[k]; !ok {
				continue
			}
			if err := in.setVar(s.v, inputCell(k)); err != nil {
				return err
			}
			if err := in.exec(s.body); err != nil {
				if errors.Is(err, errBreak) {
					return nil
				}
				if !errors.Is(err, errCont) {
					return err
				}
			}
		}
	case *simpleS:
		switch s.what {
		case "next":
			return errNext
		case "break":
			return errBreak
		case "continue":
			return errCont
		}
	case *exitS:
		if s.code != nil {
			v, err := in.eval(s.code)
			if err != nil {
				return err
			}
			in.exitCode = int(v.num()) & 0xff
		}
		return errAwkExit
	case *deleteS:
		if s.keys == nil {
			in.live -= in.arrayBytes(in.arrays[s.arr])
			delete(in.arrays, s.arr)
			return nil
		}
		k, err := in.key(s.keys)
		if err != nil {
			return err
		}
		a := in.array(s.arr)
		if v, ok := a[k]; ok {
			in.live -= int64(len(k)) + cellBytes(v) + elemOverhead
			delete(a, k)
		}
	}
	return nil
}

func (in *awkInterp) print(s *printS) error {
	if s.printf {
		vals := make([]cell, 0, len(s.args))
		for _, a := range s.args {
			v, err := in.eval(a)
			if err != nil {
				return err
			}
			vals = append(vals, v)
		}
		res, err := in.sprintf(vals[0].str(in.convfmt()), vals[1:])
		if err != nil {
			return err
		}
		_, err = in.out.WriteString(res)
		return err
	}
	var parts []string
	if len(s.args) == 0 {
		parts = []string{in.record}
	}
	ofs, ors := in.vars["OFS"].str(in.convfmt()), in.vars["ORS"].str(in.convfmt())
	n := len(ors)
	for _, a := range s.args {
		v, err := in.eval(a)
		if err != nil {
			return err
		}
		parts = append(parts, v.str(in.vars["OFMT"].s))
		n += len(parts[len(parts)-1]) + len(ofs)
	}
	if err := in.need(2 * n); err != nil { // the joined line, then with ORS
		return err
	}
	_, err := in.out.WriteString(strings.Join(parts, ofs) + ors)
	return err
}

func boolCell(b bool) cell {
	if b {
		return numCell(1)
	}
	return numCell(0)
}

func (in *awkInterp) assign(lv awkExpr, v cell) error {
	switch lv := lv.(type) {
	case *varRef:
		if _, isArr := in.arrays[lv.name]; isArr {
			return fmt.Errorf("can't assign to %s; it's an array name", lv.name)
		}
		return in.setVar(lv.name, v)
	case *indexRef:
		k, err := in.key(lv.keys)
		if err != nil {
			return err
		}
		a := in.array(lv.name)
		old, ok := a[k]
		if !ok {
			if in.cells++; in.cells > maxArrayCells {
				return errTooBig
			}
			in.live += int64(len(k)) + elemOverhead
		}
		in.live += cellBytes(v) - cellBytes(old)
		a[k] = v
		return in.check()
	case *fieldRef:
		i, err := in.eval(lv.idx)
		if err != nil {
			return err
		}
		return in.setField(int(i.num()), v.str(in.convfmt()))
	}
	return nil
}

func (in *awkInterp) eval(x awkExpr) (cell, error) {
	switch x := x.(type) {
	case *numLit:
		return numCell(x.n), nil
	case *strLit:
		return strCell(x.s), nil
	case *regexLit:
		re, err := in.regex(x.re)
		if err != nil {
			return cell{}, err
		}
		return boolCell(re.MatchString(in.record)), nil
	case *groupE:
		if len(x.list) != 1 {
			return cell{}, fmt.Errorf("syntax error: unexpected grouping")
		}
		return in.eval(x.list[0])
	case *varRef:
		if _, isArr := in.arrays[x.name]; isArr {
			return cell{}, fmt.Errorf("can't use array %s in scalar context", x.name)
		}
		return in.getVar(x.name)
	case *indexRef:
		k, err := in.key(x.keys)
		if err != nil {
			return cell{}, err
		}
		a := in.array(x.name)
		v, ok := a[k]
		if !ok { // a reference creates the element
			if in.cells++; in.cells > maxArrayCells {
				return cell{}, errTooBig
			}
			in.live += int64(len(k)) + elemOverhead
			if err := in.check(); err != nil {
				return cell{}, err
			}
			a[k] = cell{}
		}
		return v, nil
	case *fieldRef:
		i, err := in.eval(x.idx)
		if err != nil {
			return cell{}, err
		}
		return in.getField(int(i.num()))
	case *assignE:
		r, err := in.eval(x.rhs)
		if err != nil {
			return cell{}, err
		}
		if x.op != "=" {
			l, err := in.eval(x.lhs)
			if err != nil {
				return cell{}, err
			}
			r, err = arith(x.op[:1], l.num(), r.num())
			if err != nil {
				return cell{}, err
			}
		}
		if r.kind == kUninit {
			r = cell{kind: kStrNum}
		}
		return r, in.assign(x.lhs, r)
	case *condE:
		c, err := in.eval(x.c)
		if err != nil {
			return cell{}, err
		}
		if c.truth() {
			return in.eval(x.a)
		}
		return in.eval(x.b)
	case *unaryE:
		v, err := in.eval(x.x)
		if err != nil {
			return cell{}, err
		}
		switch x.op {
		case "!":
			return boolCell(!v.truth()), nil
		case "-":
			return numCell(-v.num()), nil
		}
		return numCell(v.num()), nil
	case *incdecE:
		v, err := in.eval(x.lval)
		if err != nil {
			return cell{}, err
		}
		old := v.num()
		nv := old + 1
		if x.op == "--" {
			nv = old - 1
		}
		if err := in.assign(x.lval, numCell(nv)); err != nil {
			return cell{}, err
		}
		if x.pre {
			return numCell(nv), nil
		}
		return numCell(old), nil
	case *matchE:
		l, err := in.eval(x.l)
		if err != nil {
			return cell{}, err
		}
		re, err := in.dynRegex(x.r)
		if err != nil {
			return cell{}, err
		}
		return boolCell(re.MatchString(l.str(in.convfmt())) != x.neg), nil
	case *inE:
		k, err := in.key(x.keys)
		if err != nil {
			return cell{}, err
		}
		_, ok := in.array(x.arr)[k]
		return boolCell(ok), nil
	case *binE:
		return in.binary(x)
	case *callE:
		return in.call(x)
	case *getlineE:
		rec, ok := in.nextRecord()
		if !ok {
			return numCell(0), nil
		}
		in.vars["NR"] = numCell(in.vars["NR"].num() + 1)
		in.vars["FNR"] = numCell(in.vars["FNR"].num() + 1)
		if x.lval == nil {
			if err := in.setRecord(rec, true); err != nil {
				return cell{}, err
			}
		} else if err := in.assign(x.lval, inputCell(rec)); err != nil {
			return cell{}, err
		}
		return numCell(1), nil
	}
	return cell{}, fmt.Errorf("internal error: unknown expression %T", x)
}

func (in *awkInterp) dynRegex(x awkExpr) (*regexp.Regexp, error) {
	if r, ok := x.(*regexLit); ok {
		return in.regex(r.re)
	}
	v, err := in.eval(x)
	if err != nil {
		return nil, err
	}
	return in.regex(v.str(in.convfmt()))
}

func arith(op string, a, b float64) (cell, error) {
	switch op {
	case "+":
		return numCell(a + b), nil
	case "-":
		return numCell(a - b), nil
	case "*":
		return numCell(a * b), nil
	case "/":
		if b == 0 {
			return cell{}, errors.New("division by zero")
		}
		return numCell(a / b), nil
	case "%":
		if b == 0 {
			return cell{}, errors.New("division by zero in %")
		}
		return numCell(math.Mod(a, b)), nil
	case "^":
		return numCell(math.Pow(a, b)), nil
	}
	return cell{}, fmt.Errorf("internal error: operator %s", op)
}

func (in *awkInterp) binary(x *binE) (cell, error) {
	l, err := in.eval(x.l)
	if err != nil {
		return cell{}, err
	}
	switch x.op {
	case "&&":
		if !l.truth() {
			return numCell(0), nil
		}
		r, err := in.eval(x.r)
		return boolCell(r.truth()), err
	case "||":
		if l.truth() {
			return numCell(1), nil
		}
		r, err := in.eval(x.r)
		return boolCell(r.truth()), err
	}
	r, err := in.eval(x.r)
	if err != nil {
		return cell{}, err
	}
	switch x.op {
	case "concat":
		ls, rs := l.str(in.convfmt()), r.str(in.convfmt())
		if len(ls)+len(rs) > in.maxStr {
			return cell{}, errTooBig
		}
		if err := in.need(len(ls) + len(rs)); err != nil {
			return cell{}, err
		}
		return strCell(ls + rs), nil
	case "<", "<=", "==", "!=", ">", ">=":
		var c int
		numeric := (l.kind != kStr) && (r.kind != kStr)
		if numeric {
			a, b := l.num(), r.num()
			switch {
			case a < b:
				c = -1
			case a > b:
				c = 1
			}
		} else {
			c = strings.Compare(l.str(in.convfmt()), r.str(in.convfmt()))
		}
		switch x.op {
		case "<":
			return boolCell(c < 0), nil
		case "<=":
			return boolCell(c <= 0), nil
		case "==":
			return boolCell(c == 0), nil
		case "!=":
			return boolCell(c != 0), nil
		case ">":
			return boolCell(c > 0), nil
		}
		return boolCell(c >= 0), nil
	}
	return arith(x.op, l.num(), r.num())
}

func (in *awkInterp) call(x *callE) (cell, error) {
	args := make([]cell, len(x.args))
	lazy := x.name == "sub" || x.name == "gsub" || x.name == "split" || x.name == "match"
	for i, a := range x.args {
		if lazy && (i == 0 && x.name != "split" || i == 1 && x.name == "split" || i == 2) {
			continue
		}
		v, err := in.eval(a)
		if err != nil {
			return cell{}, err
		}
		args[i] = v
	}
	need := func(lo, hi int) error {
		if len(args) < lo || len(args) > hi {
			return fmt.Errorf("function %s called with %d args", x.name, len(args))
		}
		return nil
	}
	cf := in.convfmt()
	switch x.name {
	case "length":
		if len(args) == 0 {
			return numCell(float64(len(in.record))), nil
		}
		if v, ok := x.args[0].(*varRef); ok {
			if a, isArr := in.arrays[v.name]; isArr {
				return numCell(float64(len(a))), nil
			}
		}
		return numCell(float64(len(args[0].str(cf)))), nil
	case "substr":
		if err := need(2, 3); err != nil {
			return cell{}, err
		}
		s := args[0].str(cf)
		m := math.Round(args[1].num())
		n := math.Inf(1)
		if len(args) == 3 {
			n = math.Round(args[2].num())
		}
		start, end := m, m+n
		if start < 1 {
			start = 1
		}
		if end > float64(len(s))+1 {
			end = float64(len(s)) + 1
		}
		if end <= start {
			return strCell(""), nil
		}
		return strCell(s[int(start)-1 : int(end)-1]), nil
	case "index":
		if err := need(2, 2); err != nil {
			return cell{}, err
		}
		return numCell(float64(strings.Index(args[0].str(cf), args[1].str(cf)) + 1)), nil
	case "tolower", "toupper":
		if err := need(1, 1); err != nil {
			return cell{}, err
		}
		// case mapping may lengthen a few runes; twice is ample
		if err := in.need(2 * len(args[0].str(cf))); err != nil {
			return cell{}, err
		}
		if x.name == "tolower" {
			return strCell(strings.ToLower(args[0].str(cf))), nil
		}
		return strCell(strings.ToUpper(args[0].str(cf))), nil
	case "sprintf":
		if len(args) == 0 {
			return cell{}, errors.New("sprintf: no format")
		}
		res, err := in.sprintf(args[0].str(cf), args[1:])
		if err != nil {
			return cell{}, err
		}
		if len(res) > in.maxStr {
			return cell{}, errTooBig
		}
		return strCell(res), nil
	case "int":
		if err := need(1, 1); err != nil {
			return cell{}, err
		}
		return numCell(math.Trunc(args[0].num())), nil
	case "sqrt", "exp", "log", "sin", "cos":
		if err := need(1, 1); err != nil {
			return cell{}, err
		}
		f := map[string]func(float64) float64{"sqrt": math.Sqrt, "exp": math.Exp, "log": math.Log, "sin": math.Sin, "cos": math.Cos}[x.name]
		return numCell(f(args[0].num())), nil
	case "atan2":
		if err := need(2, 2); err != nil {
			return cell{}, err
		}
		return numCell(math.Atan2(args[0].num(), args[1].num())), nil
	case "rand":
		return numCell(0.5), nil
	case "srand":
		return numCell(0), nil
	case "fflush":
		return numCell(0), in.out.Flush()
	case "split":
		if err := need(2, 3); err != nil {
			return cell{}, err
		}
		arr, ok := x.args[1].(*varRef)
		if !ok {
			return cell{}, errors.New("split: second argument must be an array")
		}
		fs := in.vars["FS"].str(cf)
		if len(x.args) == 3 {
			if r, ok := x.args[2].(*regexLit); ok {
				fs = r.re
			} else {
				v, err := in.eval(x.args[2])
				if err != nil {
					return cell{}, err
				}
				fs = v.str(cf)
			}
		}
		src := args[0].str(cf)
		n := in.countFields(src, fs)
		if in.cells += n; in.cells > maxArrayCells {
			return cell{}, errTooBig
		}
		if err := in.need((fieldOverhead + elemOverhead + 8) * n); err != nil {
			return cell{}, err
		}
		parts := in.splitWith(src, fs)
		a := map[string]cell{}
		for i, p := range parts {
			a[strconv.Itoa(i+1)] = inputCell(p)
		}
		in.live -= in.arrayBytes(in.arrays[arr.name])
		in.live += in.arrayBytes(a)
		in.arrays[arr.name] = a
		return numCell(float64(len(parts))), nil
	case "match":
		if err := need(2, 2); err != nil {
			return cell{}, err
		}
		s, err := in.eval(x.args[0])
		if err != nil {
			return cell{}, err
		}
		re, err := in.dynRegex(x.args[1])
		if err != nil {
			return cell{}, err
		}
		loc := re.FindStringIndex(s.str(cf))
		if loc == nil {
			in.vars["RSTART"], in.vars["RLENGTH"] = numCell(0), numCell(-1)
			return numCell(0), nil
		}
		in.vars["RSTART"], in.vars["RLENGTH"] = numCell(float64(loc[0]+1)), numCell(float64(loc[1]-loc[0]))
		return numCell(float64(loc[0] + 1)), nil
	case "sub", "gsub":
		if err := need(2, 3); err != nil {
			return cell{}, err
		}
		re, err := in.dynRegex(x.args[0])
		if err != nil {
			return cell{}, err
		}
		var target awkExpr = &fieldRef{idx: &numLit{0}}
		if len(x.args) == 3 {
			target = x.args[2]
			if !isLvalue(target) {
				return cell{}, fmt.Errorf("%s: third argument must be a variable", x.name)
			}
		}
		tv, err := in.eval(target)
		if err != nil {
			return cell{}, err
		}
		s := tv.str(cf)
		repl := args[1].str(cf)
		n := -1
		if x.name == "sub" {
			n = 1
		}
		out, count, err := in.substitute(re, s, repl, n)
		if err != nil {
			return cell{}, err
		}
		if len(out) > in.maxStr {
			return cell{}, errTooBig
		}
		if count > 0 {
			if err := in.assign(target, strCell(out)); err != nil {
				return cell{}, err
			}
		}
		return numCell(float64(count)), nil
	}
	return cell{}, fmt.Errorf("function %s is not permitted in this confined shell", x.name)
}

// substitute replaces the first n (-1: all) matches of re in s with repl
// (& the match, \\& a literal &), the result grown through the budget.
func (in *awkInterp) substitute(re *regexp.Regexp, s, repl string, n int) (string, int, error) {
	b := budgetBuilder{need: in.need}
	count, prev := 0, 0
	var err error
	in.ms.each(re, s, func(m []int) bool {
		err = b.write(s[prev:m[0]])
		for i := 0; i < len(repl) && err == nil; i++ {
			switch {
			case repl[i] == '\\' && i+1 < len(repl) && (repl[i+1] == '&' || repl[i+1] == '\\'):
				i++
				err = b.write(repl[i : i+1])
			case repl[i] == '&':
				err = b.write(s[m[0]:m[1]])
			default:
				err = b.write(repl[i : i+1])
			}
		}
		prev = m[1]
		count++
		return err == nil && count != n
	})
	if err == nil {
		err = b.write(s[prev:])
	}
	if err != nil {
		return "", 0, err
	}
	if count == 0 {
		return s, 0, nil
	}
	return b.String(), count, nil
}

// sprintf formats after reserving the most the result can take: widths
// and precisions come from the program or its data (%999999999d).
func (in *awkInterp) sprintf(format string, args []cell) (string, error) {
	if err := in.need(sprintfBound(format, args)); err != nil {
		return "", err
	}
	return awkSprintf(format, args), nil
}

// sprintfBound is an upper bound of len(awkSprintf(format, args)), parsed
// the way awkSprintf parses: each conversion takes at most its width, its
// precision, its argument and a number's digits.
func sprintfBound(format string, args []cell) int {
	n, ai := len(format), 0
	argLen := func() int {
		if ai >= len(args) {
			return 0
		}
		ai++
		return len(args[ai-1].str("%.6g"))
	}
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		j := i + 1
		for j < len(format) && strings.IndexByte("-+ #0", format[j]) >= 0 {
			j++
		}
		num := 0
		for j < len(format) && (format[j] >= '0' && format[j] <= '9' || format[j] == '.' || format[j] == '*') {
			switch c := format[j]; {
			case c == '*':
				w := 0
				if ai < len(args) {
					w = int(min(math.Abs(args[ai].num()), math.MaxInt32))
					ai++
				}
				num = max(num, w)
			case c == '.':
				n, num = satAdd(n, num), 0
			default:
				num = min(num*10+int(c-'0'), math.MaxInt32)
			}
			j++
		}
		n = satAdd(satAdd(n, num), argLen()+32)
		i = j
	}
	return n
}

func satAdd(a, b int) int { return int(budget.Add(int64(a), int64(b))) }

// awkSprintf implements printf formatting with C conversions.
func awkSprintf(format string, args []cell) string {
	var b strings.Builder
	ai := 0
	next := func() cell {
		if ai < len(args) {
			ai++
			return args[ai-1]
		}
		return cell{}
	}
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		j := i + 1
		var spec strings.Builder
		spec.WriteByte('%')
		for j < len(format) && strings.IndexByte("-+ #0", format[j]) >= 0 {
			spec.WriteByte(format[j])
			j++
		}
		for j < len(format) && (format[j] >= '0' && format[j] <= '9' || format[j] == '.' || format[j] == '*') {
			if format[j] == '*' {
				spec.WriteString(strconv.Itoa(int(next().num())))
			} else {
				spec.WriteByte(format[j])
			}
			j++
		}
		for j < len(format) && strings.IndexByte("hlLqjzt", format[j]) >= 0 {
			j++
		}
		if j >= len(format) {
			b.WriteString(format[i:])
			break
		}
		conv := format[j]
		i = j
		switch conv {
		case '%':
			b.WriteByte('%')
		case 'd', 'i':
			fmt.Fprintf(&b, spec.String()+"d", int64(next().num()))
		case 'o', 'x', 'X':
			fmt.Fprintf(&b, spec.String()+string(conv), uint64(int64(next().num())))
		case 'u':
			fmt.Fprintf(&b, spec.String()+"d", uint64(int64(next().num())))
		case 'e', 'E', 'f', 'F', 'g', 'G':
			if conv == 'F' {
				conv = 'f'
			}
			fmt.Fprintf(&b, spec.String()+string(conv), next().num())
		case 'c':
			v := next()
			var s string
			if v.kind == kNum {
				s = string(rune(int(v.n)))
			} else if str := v.str("%.6g"); str != "" {
				s = str[:1]
			}
			fmt.Fprintf(&b, spec.String()+"s", s)
		case 's':
			fmt.Fprintf(&b, spec.String()+"s", next().str("%.6g"))
		default:
			b.WriteString(format[i-(j-i) : j+1])
		}
	}
	return b.String()
}
