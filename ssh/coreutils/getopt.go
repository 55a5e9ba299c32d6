package coreutils

import (
	"fmt"
	"strings"
)

// opts is a small getopt: flags without values in boolFlags, flags with a
// value in valueFlags; stops at "--" or the first operand. Every tool's
// options go through it, awk's included.
type opts struct {
	set      map[byte]bool
	values   map[byte][]string
	operands []string
}

// optError is an option getopt refuses: an unknown one, or one whose value
// is missing. Its text is getopt(3)'s; a tool with its own wording (awk)
// reads the fields.
type optError struct {
	arg     string // the argument the option is in ("-x", "-vF")
	c       byte   // the option letter
	missing bool   // c takes a value and none follows
}

func (e *optError) Error() string {
	if e.missing {
		return fmt.Sprintf("option requires an argument -- '%c'", e.c)
	}
	return fmt.Sprintf("invalid option -- '%c'", e.c)
}

func getopt(args []string, boolFlags, valueFlags string) (*opts, error) {
	o := &opts{set: map[byte]bool{}, values: map[byte][]string{}}
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			switch {
			case strings.IndexByte(boolFlags, c) >= 0:
				o.set[c] = true
			case strings.IndexByte(valueFlags, c) >= 0:
				v := a[j+1:]
				if v == "" {
					if i+1 >= len(args) {
						return nil, &optError{arg: a, c: c, missing: true}
					}
					i++
					v = args[i]
				}
				o.set[c] = true
				o.values[c] = append(o.values[c], v)
				j = len(a)
			default:
				return nil, &optError{arg: a, c: c}
			}
		}
	}
	o.operands = args[i:]
	return o, nil
}

// last is the value of the last c given ("" if none).
func (o *opts) last(c byte) string {
	v := o.values[c]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}
