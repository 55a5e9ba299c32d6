package virsh

import (
	"fmt"
	"strings"
)

// optKind is how an option takes its value (virsh's vshCmdOptType).
type optKind int

const (
	optBool    optKind = iota
	optString          // --name VALUE or --name=VALUE
	optData            // required positional or --name VALUE
	optString1         // optional positional string
)

type optDef struct {
	name     string
	kind     optKind
	required bool
}

// command is one row of the command table.
type command struct {
	name string
	opts []optDef
	// exclusive lists option pairs virsh refuses together.
	exclusive [][2]string
	run       func(v *vsh, c *cmdArgs) error
}

// cmdArgs are the parsed options of one invocation.
type cmdArgs struct {
	bools   map[string]bool
	strings map[string]string
}

func (c *cmdArgs) has(name string) bool { return c.bools[name] }
func (c *cmdArgs) str(name string) (string, bool) {
	s, ok := c.strings[name]
	return s, ok
}

// parse interprets args the way vshCommandParse does: --opt, --opt=value,
// --opt value, positional data filling required options in order.
func (def *command) parse(args []string) (*cmdArgs, error) {
	c := &cmdArgs{bools: map[string]bool{}, strings: map[string]string{}}
	find := func(name string) *optDef {
		for i := range def.opts {
			if def.opts[i].name == name {
				return &def.opts[i]
			}
		}
		return nil
	}
	positional := func() *optDef {
		for i := range def.opts {
			o := &def.opts[i]
			if o.kind == optData || o.kind == optString1 {
				if _, set := c.strings[o.name]; !set {
					return o
				}
			}
		}
		return nil
	}
	dataOnly := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !dataOnly && a == "--" {
			dataOnly = true
			continue
		}
		if !dataOnly && strings.HasPrefix(a, "--") && len(a) > 2 {
			name, val, hasVal := strings.Cut(a[2:], "=")
			o := find(name)
			if o == nil {
				return nil, fmt.Errorf("command '%s' doesn't support option --%s", def.name, name)
			}
			if o.kind == optBool {
				if hasVal {
					return nil, fmt.Errorf("invalid '=' after option --%s", name)
				}
				c.bools[name] = true
				continue
			}
			if !hasVal {
				if i+1 >= len(args) {
					return nil, fmt.Errorf("expected syntax: --%s <string>", name)
				}
				i++
				val = args[i]
			}
			c.strings[name] = val
			continue
		}
		o := positional()
		if o == nil {
			return nil, fmt.Errorf("unexpected data '%s'", a)
		}
		c.strings[o.name] = a
	}
	for _, o := range def.opts {
		if o.required {
			if _, ok := c.strings[o.name]; !ok {
				return nil, fmt.Errorf("command '%s' requires <%s> option", def.name, o.name)
			}
		}
	}
	return c, nil
}

// checkExclusive is virsh's VSH_EXCLUSIVE_OPTIONS, checked when the command
// runs (after connecting), unlike parse errors.
func (def *command) checkExclusive(c *cmdArgs) error {
	for _, ex := range def.exclusive {
		_, s0 := c.strings[ex[0]]
		_, s1 := c.strings[ex[1]]
		if (c.bools[ex[0]] || s0) && (c.bools[ex[1]] || s1) {
			return fmt.Errorf("Options --%s and --%s are mutually exclusive", ex[0], ex[1])
		}
	}
	return nil
}

// table renders like virsh's vshTable (vsh-table.c): every cell is preceded
// by a space and padded to its column's width plus two, except the last; the
// header (left out with -q) counts toward the widths and is followed by a
// line of dashes, width+3 per column.
func (v *vsh) table(header []string, rows [][]string) {
	withHeader := !v.quiet
	widths := make([]int, len(header))
	all := rows
	if withHeader {
		all = append([][]string{header}, rows...)
	}
	for _, r := range all {
		for i, cell := range r {
			if n := displayWidth(cell); n > widths[i] {
				widths[i] = n
			}
		}
	}
	var b strings.Builder
	row := func(r []string) {
		for i, cell := range r {
			b.WriteString(" " + cell)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-displayWidth(cell)+2))
			}
		}
		b.WriteByte('\n')
	}
	if withHeader {
		row(header)
		for _, w := range widths {
			b.WriteString(strings.Repeat("-", w+3))
		}
		b.WriteByte('\n')
	}
	for _, r := range rows {
		row(r)
	}
	v.printf("%s", b.String())
}

func displayWidth(s string) int { return len([]rune(s)) }
