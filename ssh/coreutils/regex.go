package coreutils

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// compileRegex compiles a POSIX regular expression (basic unless ere) with
// GNU extensions (\| \+ \? in BRE; \< \> \b \w \W \s \S in both) into Go's
// RE2, leftmost-longest as POSIX requires. \< and \> become \b, which agrees
// with them wherever the surrounding pattern already fixes which side of the
// boundary the word is on (as in every client pattern in the reference).
func compileRegex(pat string, ere, icase bool) (*regexp.Regexp, error) {
	tr, err := translateRegex(pat, ere)
	if err != nil {
		return nil, err
	}
	if icase {
		tr = "(?i)" + tr
	}
	re, err := regexp.Compile(tr)
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression %q: %w", pat, err)
	}
	re.Longest()
	return re, nil
}

func translateRegex(pat string, ere bool) (string, error) {
	var b strings.Builder
	atStart := true // where a leading * is literal and ^ is an anchor
	for i := 0; i < len(pat); i++ {
		c := pat[i]
		wasStart := atStart
		atStart = false
		switch c {
		case '\\':
			if i+1 >= len(pat) {
				return "", fmt.Errorf("trailing backslash")
			}
			i++
			d := pat[i]
			switch {
			case !ere && d == '(':
				b.WriteByte('(')
				atStart = true
			case !ere && d == ')':
				b.WriteByte(')')
			case !ere && d == '|':
				b.WriteByte('|')
				atStart = true
			case !ere && (d == '{' || d == '}' || d == '+' || d == '?'):
				b.WriteByte(d)
			case d == '<' || d == '>' || d == 'b':
				b.WriteString(`\b`)
			case d == 'B' || d == 'w' || d == 'W' || d == 's' || d == 'S':
				b.WriteByte('\\')
				b.WriteByte(d)
			case d == 'n':
				b.WriteString(`\n`)
			case d == 't':
				b.WriteString(`\t`)
			case d >= '1' && d <= '9':
				return "", fmt.Errorf("back-references are not supported")
			case d == '`' || d == '\'':
				if d == '`' {
					b.WriteString(`\A`)
				} else {
					b.WriteString(`\z`)
				}
			default:
				b.WriteString(regexp.QuoteMeta(string(d)))
			}
		case '[':
			j, cls, err := bracket(pat, i)
			if err != nil {
				return "", err
			}
			b.WriteString(cls)
			i = j
		case '*':
			if wasStart && !ere {
				b.WriteString(`\*`)
			} else {
				b.WriteByte('*')
			}
		case '^':
			if wasStart || ere {
				b.WriteByte('^')
				atStart = true
			} else {
				b.WriteString(`\^`)
			}
		case '$':
			rest := pat[i+1:]
			if ere || rest == "" || strings.HasPrefix(rest, `\)`) || strings.HasPrefix(rest, `\|`) {
				b.WriteByte('$')
			} else {
				b.WriteString(`\$`)
			}
		case '(', '|':
			if ere {
				b.WriteByte(c)
				atStart = true
			} else {
				b.WriteString(regexp.QuoteMeta(string(c)))
			}
		case ')', '{', '}', '+', '?':
			if ere {
				b.WriteByte(c)
			} else {
				b.WriteString(regexp.QuoteMeta(string(c)))
			}
		case '.':
			b.WriteByte('.')
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	return b.String(), nil
}

// bracket translates the bracket expression starting at pat[i] == '['. It
// returns the index of its closing ']'.
func bracket(pat string, i int) (int, string, error) {
	var b strings.Builder
	b.WriteByte('[')
	j := i + 1
	if j < len(pat) && pat[j] == '^' {
		b.WriteByte('^')
		j++
	}
	first := true
	for ; j < len(pat); j++ {
		c := pat[j]
		if c == ']' && !first {
			b.WriteByte(']')
			return j, b.String(), nil
		}
		first = false
		if c == '[' && j+1 < len(pat) && (pat[j+1] == ':' || pat[j+1] == '.' || pat[j+1] == '=') {
			end := strings.Index(pat[j+2:], string(pat[j+1])+"]")
			if end < 0 {
				return 0, "", fmt.Errorf("unterminated character class")
			}
			inner := pat[j : j+2+end+2]
			if pat[j+1] != ':' {
				return 0, "", fmt.Errorf("collating elements are not supported")
			}
			b.WriteString(inner)
			j += 2 + end + 1
			continue
		}
		switch c {
		case '\\', '[', ']', '^', '-':
			if c == '-' {
				b.WriteByte('-')
			} else {
				b.WriteByte('\\')
				b.WriteByte(c)
			}
		default:
			b.WriteByte(c)
		}
	}
	return 0, "", fmt.Errorf("unterminated [")
}

// matches walks a regexp's matches one at a time. Go's FindAll* build the
// whole list first, tens of bytes per match: `s/x/xx/g` on a 64 MiB pattern
// space is gigabytes before a byte of output, and no budget could see it
// coming. regexp has no exported "search from offset with context", so a
// later search runs a companion regexp, "one character, then the pattern",
// from the character before the offset: that character gives ^, \b and \B
// the context they would have had (^ cannot match after it, as without
// multiline mode it must not), and the match of the pattern is the rest.
type matches struct {
	conts map[*regexp.Regexp]*regexp.Regexp
}

func (ms *matches) cont(re *regexp.Regexp) *regexp.Regexp {
	if c, ok := ms.conts[re]; ok {
		return c
	}
	if ms.conts == nil || len(ms.conts) > 256 {
		ms.conts = map[*regexp.Regexp]*regexp.Regexp{}
	}
	// re compiled, so this one does too: the pattern is only wrapped.
	c := regexp.MustCompile(`(?s:.)(?:` + re.String() + `)`)
	c.Longest()
	ms.conts[re] = c
	return c
}

// find returns the leftmost(-longest) match of re in s starting at or after
// pos, with submatch indexes into s, or nil.
func (ms *matches) find(re *regexp.Regexp, s string, pos int) []int {
	if pos == 0 {
		return re.FindStringSubmatchIndex(s)
	}
	_, w := utf8.DecodeLastRuneInString(s[:pos])
	from := pos - w
	m := ms.cont(re).FindStringSubmatchIndex(s[from:])
	if m == nil {
		return nil
	}
	for i := range m {
		if m[i] >= 0 {
			m[i] += from
		}
	}
	// group 0 began at the context character; the pattern's match starts
	// right after it.
	_, w = utf8.DecodeRuneInString(s[m[0]:])
	m[0] += w
	return m
}

// each calls fn with every match of re in s, left to right, as
// FindAllStringSubmatchIndex(s, -1) would list them (an empty match right
// after a match is skipped), until fn returns false.
func (ms *matches) each(re *regexp.Regexp, s string, fn func(m []int) bool) {
	prevEnd := -1
	for pos := 0; pos <= len(s); {
		m := ms.find(re, s, pos)
		if m == nil {
			return
		}
		accept := true
		if m[1] == pos { // empty match
			accept = m[0] != prevEnd
			if _, w := utf8.DecodeRuneInString(s[pos:]); w > 0 {
				pos += w
			} else {
				pos = len(s) + 1
			}
		} else {
			pos = m[1]
		}
		prevEnd = m[1]
		if accept && !fn(m) {
			return
		}
	}
}
