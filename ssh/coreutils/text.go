package coreutils

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Cat copies stdin (no file operands).
func Cat(ctx context.Context, e *Env, args []string) int {
	o, err := getopt(args[1:], "u", "")
	if err != nil {
		errorf(e, "cat", "%v", err)
		return 1
	}
	if !noFiles(e, "cat", o.operands) {
		return 1
	}
	err = e.lines(ctx, func(l []byte) bool {
		_, err := e.Stdout.Write(l)
		return err == nil
	})
	if err != nil {
		errorf(e, "cat", "%v", err)
		return 1
	}
	return 0
}

// numericCountArg handles head/tail's "-5" shorthand.
func numericCountArg(args []string) []string {
	out := make([]string, 0, len(args))
	for i, a := range args {
		if i > 0 && (args[i-1] == "-n" || args[i-1] == "-c") {
			out = append(out, a)
			continue
		}
		if len(a) > 1 && a[0] == '-' && a[1] >= '0' && a[1] <= '9' {
			a = "-n" + a[1:]
		}
		out = append(out, a)
	}
	return out
}

// Head prints the first lines (-n N, -N, -n -N) or bytes (-c N).
func Head(ctx context.Context, e *Env, args []string) int {
	o, err := getopt(numericCountArg(args[1:]), "qv", "nc")
	if err != nil {
		errorf(e, "head", "%v", err)
		return 1
	}
	if !noFiles(e, "head", o.operands) {
		return 1
	}
	if o.set['c'] {
		n, err := strconv.Atoi(o.last('c'))
		if err != nil || n < 0 {
			errorf(e, "head", "invalid number of bytes: '%s'", o.last('c'))
			return 1
		}
		data, err := e.readAll(ctx)
		if err != nil {
			errorf(e, "head", "%v", err)
			return 1
		}
		if n < len(data) {
			data = data[:n]
		}
		_, _ = e.Stdout.Write(data)
		return 0
	}
	spec := "10"
	if o.set['n'] {
		spec = o.last('n')
	}
	allBut := strings.HasPrefix(spec, "-")
	n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimPrefix(spec, "-"), "+"))
	if err != nil || n < 0 {
		errorf(e, "head", "invalid number of lines: '%s'", spec)
		return 1
	}
	if allBut {
		data, err := e.readAll(ctx)
		if err != nil {
			errorf(e, "head", "%v", err)
			return 1
		}
		ls, err := e.splitLinesKeep(data)
		if err != nil {
			errorf(e, "head", "%v", err)
			return 1
		}
		if n > len(ls) {
			n = len(ls)
		}
		for _, l := range ls[:len(ls)-n] {
			_, _ = e.Stdout.Write(l)
		}
		return 0
	}
	count := 0
	if n == 0 {
		return 0
	}
	err = e.lines(ctx, func(l []byte) bool {
		_, _ = e.Stdout.Write(l)
		count++
		return count < n
	})
	if err != nil {
		errorf(e, "head", "%v", err)
		return 1
	}
	return 0
}

// splitLinesKeep splits data into lines, newlines kept; the slice headers
// (24 bytes a line, twice while append grows) are reserved first.
func (e *Env) splitLinesKeep(data []byte) ([][]byte, error) {
	if err := e.mem.keep(48 * int64(bytes.Count(data, []byte("\n"))+1)); err != nil {
		return nil, err
	}
	var ls [][]byte
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			ls = append(ls, data)
			break
		}
		ls = append(ls, data[:i+1])
		data = data[i+1:]
	}
	return ls, nil
}

// Tail prints the last lines (-n N, -N) or from line N (-n +N), or bytes.
func Tail(ctx context.Context, e *Env, args []string) int {
	o, err := getopt(numericCountArg(args[1:]), "qv", "nc")
	if err != nil {
		errorf(e, "tail", "%v", err)
		return 1
	}
	if !noFiles(e, "tail", o.operands) {
		return 1
	}
	data, err := e.readAll(ctx)
	if err != nil {
		errorf(e, "tail", "%v", err)
		return 1
	}
	if o.set['c'] {
		spec := o.last('c')
		n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimPrefix(spec, "+"), "-"))
		if err != nil || n < 0 {
			errorf(e, "tail", "invalid number of bytes: '%s'", spec)
			return 1
		}
		switch {
		case strings.HasPrefix(spec, "+"):
			if n > 0 {
				n--
			}
			if n > len(data) {
				n = len(data)
			}
			data = data[n:]
		case n < len(data):
			data = data[len(data)-n:]
		}
		_, _ = e.Stdout.Write(data)
		return 0
	}
	spec := "10"
	if o.set['n'] {
		spec = o.last('n')
	}
	n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimPrefix(spec, "+"), "-"))
	if err != nil || n < 0 {
		errorf(e, "tail", "invalid number of lines: '%s'", spec)
		return 1
	}
	ls, err := e.splitLinesKeep(data)
	if err != nil {
		errorf(e, "tail", "%v", err)
		return 1
	}
	if strings.HasPrefix(spec, "+") {
		if n > 0 {
			n--
		}
		if n > len(ls) {
			n = len(ls)
		}
		ls = ls[n:]
	} else if n < len(ls) {
		ls = ls[len(ls)-n:]
	}
	for _, l := range ls {
		_, _ = e.Stdout.Write(l)
	}
	return 0
}

// Grep selects lines matching a pattern (BRE, -E, -F; -i -v -c -q -w -x -o
// -n -e).
func Grep(ctx context.Context, e *Env, args []string) int {
	o, err := getopt(args[1:], "EFGivcqwxonshHlL", "e")
	if err != nil {
		errorf(e, "grep", "%v", err)
		return 2
	}
	ere := o.set['E'] || args[0] == "egrep"
	fixed := o.set['F'] || args[0] == "fgrep"
	pats := o.values['e']
	operands := o.operands
	if len(pats) == 0 {
		if len(operands) == 0 {
			fmt.Fprintln(e.Stderr, "Usage: grep [OPTION]... PATTERNS [FILE]...")
			return 2
		}
		pats, operands = strings.Split(operands[0], "\n"), operands[1:]
	}
	if !noFiles(e, "grep", operands) {
		return 2
	}
	var alts []string
	for _, p := range pats {
		var tr string
		if fixed {
			tr = regexp.QuoteMeta(p)
		} else if tr, err = translateRegex(p, ere); err != nil {
			errorf(e, "grep", "%v", err)
			return 2
		}
		if o.set['w'] {
			tr = `\b(?:` + tr + `)\b`
		}
		if o.set['x'] {
			tr = `^(?:` + tr + `)$`
		}
		alts = append(alts, "(?:"+tr+")")
	}
	src := strings.Join(alts, "|")
	if o.set['i'] {
		src = "(?i)" + src
	}
	re, err := regexp.Compile(src)
	if err != nil {
		errorf(e, "grep", "invalid regular expression")
		return 2
	}
	re.Longest()
	matched, lineNo := 0, 0
	var ms matches
	var merr error
	err = e.lines(ctx, func(l []byte) bool {
		lineNo++
		text := bytes.TrimSuffix(l, []byte("\n"))
		hit := re.Match(text)
		if hit == o.set['v'] {
			return true
		}
		matched++
		if o.set['q'] {
			return false
		}
		if o.set['c'] || o.set['l'] || o.set['L'] {
			return true
		}
		prefix := ""
		if o.set['n'] {
			prefix = strconv.Itoa(lineNo) + ":"
		}
		if o.set['o'] && !o.set['v'] {
			// one match at a time: a list of every match of a long line
			// would be tens of bytes per match
			if merr = e.mem.need(int64(len(text))); merr != nil {
				return false
			}
			line := string(text)
			ms.each(re, line, func(m []int) bool {
				if m[1] > m[0] {
					_, werr := fmt.Fprintf(e.Stdout, "%s%s\n", prefix, line[m[0]:m[1]])
					return werr == nil
				}
				return true
			})
			return true
		}
		fmt.Fprintf(e.Stdout, "%s%s\n", prefix, text)
		return true
	})
	if err == nil {
		err = merr // a budget refusal stopped the walk
	}
	if err != nil {
		errorf(e, "grep", "%v", err)
		return 2
	}
	if o.set['c'] {
		fmt.Fprintf(e.Stdout, "%d\n", matched)
	}
	if o.set['l'] && matched > 0 {
		fmt.Fprintln(e.Stdout, "(standard input)")
	}
	if matched == 0 {
		return 1
	}
	return 0
}

// Tr translates, deletes (-d) or squeezes (-s) bytes; -c complements SET1.
func Tr(ctx context.Context, e *Env, args []string) int {
	o, err := getopt(args[1:], "cCdst", "")
	if err != nil {
		errorf(e, "tr", "%v", err)
		return 1
	}
	ops := o.operands
	del, squeeze, comp := o.set['d'], o.set['s'], o.set['c'] || o.set['C']
	need := 2
	if del && !squeeze || squeeze && !del && len(ops) == 1 {
		need = 1
	}
	if len(ops) != need {
		if len(ops) < need {
			errorf(e, "tr", "missing operand")
		} else {
			errorf(e, "tr", "extra operand '%s'", ops[need])
		}
		return 1
	}
	set1, err := expandTrSet(ops[0])
	if err != nil {
		errorf(e, "tr", "%v", err)
		return 1
	}
	var in1 [256]bool
	for _, c := range set1 {
		in1[c] = true
	}
	if comp {
		var cs []byte
		for c := 0; c < 256; c++ {
			if !in1[c] {
				cs = append(cs, byte(c))
			}
		}
		set1 = cs
		in1 = [256]bool{}
		for _, c := range set1 {
			in1[c] = true
		}
	}
	var mapping [256]int
	for i := range mapping {
		mapping[i] = i
	}
	var sqset [256]bool
	if !del && len(ops) == 2 {
		set2, err := expandTrSet(ops[1])
		if err != nil {
			errorf(e, "tr", "%v", err)
			return 1
		}
		if len(set2) == 0 {
			errorf(e, "tr", "when not truncating set1, string2 must be non-empty")
			return 1
		}
		for i, c := range set1 {
			d := set2[len(set2)-1]
			if i < len(set2) {
				d = set2[i]
			}
			mapping[c] = int(d)
		}
		for _, c := range set2 {
			sqset[c] = true
		}
	} else if squeeze && !del {
		sqset = in1
	} else if del && squeeze {
		set2, err := expandTrSet(ops[1])
		if err != nil {
			errorf(e, "tr", "%v", err)
			return 1
		}
		for _, c := range set2 {
			sqset[c] = true
		}
	}
	last := -1
	var merr error
	err = e.lines(ctx, func(l []byte) bool {
		if merr = e.mem.need(int64(len(l))); merr != nil {
			return false
		}
		out := make([]byte, 0, len(l))
		for _, c := range l {
			if del && in1[c] {
				continue
			}
			m := mapping[c]
			if squeeze && sqset[m] && m == last {
				continue
			}
			out = append(out, byte(m))
			last = m
		}
		_, err := e.Stdout.Write(out)
		return err == nil
	})
	if err == nil {
		err = merr // a budget refusal stopped the walk
	}
	if err != nil {
		errorf(e, "tr", "%v", err)
		return 1
	}
	return 0
}

var trClasses = map[string]func(c byte) bool{
	"lower": func(c byte) bool { return c >= 'a' && c <= 'z' },
	"upper": func(c byte) bool { return c >= 'A' && c <= 'Z' },
	"digit": func(c byte) bool { return c >= '0' && c <= '9' },
	"alpha": func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' },
	"alnum": func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' },
	"space": func(c byte) bool { return c == ' ' || c >= '\t' && c <= '\r' },
	"blank": func(c byte) bool { return c == ' ' || c == '\t' },
	"punct": func(c byte) bool {
		return c > ' ' && c < 0x7f && !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9')
	},
	"xdigit": func(c byte) bool {
		return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
	},
	"cntrl": func(c byte) bool { return c < ' ' || c == 0x7f },
	"print": func(c byte) bool { return c >= ' ' && c < 0x7f },
	"graph": func(c byte) bool { return c > ' ' && c < 0x7f },
}

// expandTrSet expands escapes, ranges and [:class:] in a tr set.
func expandTrSet(s string) ([]byte, error) {
	var raw []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '[' && i+1 < len(s) && s[i+1] == ':' {
			end := strings.Index(s[i+2:], ":]")
			if end >= 0 {
				name := s[i+2 : i+2+end]
				f, ok := trClasses[name]
				if !ok {
					return nil, fmt.Errorf("invalid character class '%s'", name)
				}
				for c := 0; c < 256; c++ {
					if f(byte(c)) {
						raw = append(raw, byte(c))
					}
				}
				i += 2 + end + 1
				continue
			}
		}
		c, n := trChar(s[i:])
		i += n - 1
		if i+2 < len(s) && s[i+1] == '-' {
			hi, m := trChar(s[i+2:])
			if hi < c {
				return nil, fmt.Errorf("range-endpoints of '%c-%c' are in reverse collating sequence order", c, hi)
			}
			for x := int(c); x <= int(hi); x++ {
				raw = append(raw, byte(x))
			}
			i += 1 + m
			continue
		}
		raw = append(raw, c)
	}
	return raw, nil
}

// trChar decodes one possibly escaped byte and returns it with its length.
func trChar(s string) (byte, int) {
	if s[0] != '\\' || len(s) == 1 {
		return s[0], 1
	}
	switch s[1] {
	case 'n':
		return '\n', 2
	case 't':
		return '\t', 2
	case 'r':
		return '\r', 2
	case '\\':
		return '\\', 2
	case 'a':
		return 7, 2
	case 'b':
		return 8, 2
	case 'f':
		return 12, 2
	case 'v':
		return 11, 2
	}
	if s[1] >= '0' && s[1] <= '7' {
		v, n := 0, 1
		for n < 4 && n < len(s) && s[n] >= '0' && s[n] <= '7' {
			v = v*8 + int(s[n]-'0')
			n++
		}
		return byte(v), n
	}
	return s[1], 2
}

// Cut selects fields (-f with -d) or characters (-c/-b).
func Cut(ctx context.Context, e *Env, args []string) int {
	o, err := getopt(args[1:], "sn", "dfcb")
	if err != nil {
		errorf(e, "cut", "%v", err)
		return 1
	}
	if !noFiles(e, "cut", o.operands) {
		return 1
	}
	var list string
	mode := byte(0)
	for _, m := range []byte{'f', 'c', 'b'} {
		if o.set[m] {
			if mode != 0 {
				errorf(e, "cut", "only one type of list may be specified")
				return 1
			}
			mode, list = m, o.last(m)
		}
	}
	if mode == 0 {
		errorf(e, "cut", "you must specify a list of bytes, characters, or fields")
		return 1
	}
	delim := "\t"
	if o.set['d'] {
		delim = o.last('d')
		if len(delim) != 1 {
			errorf(e, "cut", "the delimiter must be a single character")
			return 1
		}
	}
	ranges, err := parseList(list)
	if err != nil {
		errorf(e, "cut", "%v", err)
		return 1
	}
	var merr error
	err = e.lines(ctx, func(l []byte) bool {
		// the line as a string, then its fields and the selected ones
		if merr = e.mem.need(2*int64(len(l)) + 32*int64(bytes.Count(l, []byte(delim))+1)); merr != nil {
			return false
		}
		text := string(bytes.TrimSuffix(l, []byte("\n")))
		var out string
		if mode == 'f' {
			if !strings.Contains(text, delim) {
				if o.set['s'] {
					return true
				}
				out = text
			} else {
				fs := strings.Split(text, delim)
				var sel []string
				for i, f := range fs {
					if inList(ranges, i+1) {
						sel = append(sel, f)
					}
				}
				out = strings.Join(sel, delim)
			}
		} else {
			var sb strings.Builder
			for i := 0; i < len(text); i++ {
				if inList(ranges, i+1) {
					sb.WriteByte(text[i])
				}
			}
			out = sb.String()
		}
		_, err := fmt.Fprintln(e.Stdout, out)
		return err == nil
	})
	if err == nil {
		err = merr // a budget refusal stopped the walk
	}
	if err != nil {
		errorf(e, "cut", "%v", err)
		return 1
	}
	return 0
}

type span struct{ lo, hi int }

func parseList(s string) ([]span, error) {
	var out []span
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		sp := span{1, 1 << 30}
		var err error
		if lo != "" {
			if sp.lo, err = strconv.Atoi(lo); err != nil || sp.lo < 1 {
				return nil, fmt.Errorf("invalid field value '%s'", part)
			}
		}
		if !isRange {
			sp.hi = sp.lo
		} else if hi != "" {
			if sp.hi, err = strconv.Atoi(hi); err != nil || sp.hi < sp.lo {
				return nil, fmt.Errorf("invalid field range '%s'", part)
			}
		}
		if lo == "" && hi == "" {
			return nil, fmt.Errorf("invalid range with no endpoint: -")
		}
		out = append(out, sp)
	}
	return out, nil
}

func inList(l []span, n int) bool {
	for _, s := range l {
		if n >= s.lo && n <= s.hi {
			return true
		}
	}
	return false
}

// Sort sorts lines (-n -r -u, -t SEP, -k N[,M]).
func Sort(ctx context.Context, e *Env, args []string) int {
	o, err := getopt(args[1:], "nrufb", "tk")
	if err != nil {
		errorf(e, "sort", "%v", err)
		return 2
	}
	if !noFiles(e, "sort", o.operands) {
		return 2
	}
	data, err := e.readAll(ctx)
	if err != nil {
		errorf(e, "sort", "%v", err)
		return 2
	}
	// the string copy and one header a line stay held while sorting
	if err := e.mem.keep(int64(len(data)) + 16*int64(bytes.Count(data, []byte("\n"))+1)); err != nil {
		errorf(e, "sort", "%v", err)
		return 2
	}
	text := strings.TrimSuffix(string(data), "\n")
	if text == "" && len(data) == 0 {
		return 0
	}
	lines := strings.Split(text, "\n")
	kstart, kend := 0, 0
	if o.set['k'] {
		k := o.last('k')
		a, b, _ := strings.Cut(k, ",")
		if kstart, err = strconv.Atoi(strings.TrimRight(a, "nrb")); err != nil || kstart < 1 {
			errorf(e, "sort", "invalid number at field start: invalid count at start of '%s'", k)
			return 2
		}
		if b != "" {
			if kend, err = strconv.Atoi(strings.TrimRight(b, "nrb")); err != nil {
				errorf(e, "sort", "invalid number after ',': invalid count at start of '%s'", b)
				return 2
			}
		}
		if strings.ContainsAny(k, "n") {
			o.set['n'] = true
		}
	}
	sep := o.last('t')
	key := func(l string) string {
		if kstart == 0 {
			return l
		}
		var fs []string
		if sep != "" {
			fs = strings.Split(l, sep)
		} else {
			fs = strings.Fields(l)
		}
		if kstart > len(fs) {
			return ""
		}
		end := len(fs)
		if kend > 0 && kend < end {
			end = kend
		}
		j := sep
		if j == "" {
			j = " "
		}
		return strings.Join(fs[kstart-1:end], j)
	}
	less := func(a, b string) int {
		ka, kb := key(a), key(b)
		if o.set['f'] {
			ka, kb = strings.ToUpper(ka), strings.ToUpper(kb)
		}
		if o.set['n'] {
			na, nb := leadingNumber(ka), leadingNumber(kb)
			if na != nb {
				if na < nb {
					return -1
				}
				return 1
			}
			if o.set['u'] {
				return 0
			}
		} else if c := strings.Compare(ka, kb); c != 0 || o.set['u'] {
			return c
		}
		return strings.Compare(a, b)
	}
	sort.SliceStable(lines, func(i, j int) bool {
		c := less(lines[i], lines[j])
		if o.set['r'] {
			return c > 0
		}
		return c < 0
	})
	var prev *string
	for i := range lines {
		if o.set['u'] && prev != nil && less(*prev, lines[i]) == 0 {
			continue
		}
		prev = &lines[i]
		fmt.Fprintln(e.Stdout, lines[i])
	}
	return 0
}

var numPrefix = regexp.MustCompile(`^\s*-?[0-9]*\.?[0-9]*`)

func leadingNumber(s string) float64 {
	f, _ := strconv.ParseFloat(strings.TrimSpace(numPrefix.FindString(s)), 64)
	return f
}

// Wc counts lines, words and bytes of stdin.
func Wc(ctx context.Context, e *Env, args []string) int {
	o, err := getopt(args[1:], "lwcm", "")
	if err != nil {
		errorf(e, "wc", "%v", err)
		return 1
	}
	if !noFiles(e, "wc", o.operands) {
		return 1
	}
	var l, w, c int
	inWord := false
	err = e.lines(ctx, func(line []byte) bool {
		c += len(line)
		for _, b := range line {
			if b == '\n' {
				l++
			}
			space := b == ' ' || b >= '\t' && b <= '\r'
			if !space && !inWord {
				w++
			}
			inWord = !space
		}
		return true
	})
	if err != nil {
		errorf(e, "wc", "%v", err)
		return 1
	}
	var counts []int
	all := !o.set['l'] && !o.set['w'] && !o.set['c'] && !o.set['m']
	if all || o.set['l'] {
		counts = append(counts, l)
	}
	if all || o.set['w'] {
		counts = append(counts, w)
	}
	if all || o.set['c'] || o.set['m'] {
		counts = append(counts, c)
	}
	if len(counts) == 1 {
		fmt.Fprintf(e.Stdout, "%d\n", counts[0])
		return 0
	}
	parts := make([]string, len(counts))
	for i, n := range counts {
		parts[i] = fmt.Sprintf("%7d", n)
	}
	fmt.Fprintln(e.Stdout, strings.Join(parts, " "))
	return 0
}
