package ssh

import (
	"strings"
	"testing"
	"time"

	"quintupleo/ssh/budget"
)

func budgetShell(t *testing.T, limit int64) (*shell, *budget.Budget) {
	t.Helper()
	b := budget.New(limit, "for this session", nil)
	sh, err := newShell(shellConfig{scratchParent: t.TempDir(), user: "stack", maxInput: 1 << 30, budget: b})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sh.Close() })
	return sh, b
}

// Each way a command line can grow the shell's own memory (variables,
// expansions, what command substitutions capture, builtins' output) ends
// at the session's budget: a message on stderr, a failure status, nothing
// left reserved, and quickly (bounded budgets make bombs end early).
func TestShellStopsAtTheBudget(t *testing.T) {
	const msg = "memory budget of 1 MiB for this session exceeded"
	for _, line := range []string{
		`x=x; while :; do x=$x$x; done`,
		`x=x; while :; do x="$x$x"; done; echo unreachable`,
		`x=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; while :; do y=$x$x$x$x$x$x$x$x$x$x$x$x$x$x$x$x$x$x$x$x; x=$y$y$y$y; done`,
		`x=x; while :; do x=$(echo $x$x); done`,
		`x=$(while :; do echo xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; done)`,
		`x=$(awk 'BEGIN { while (1) print "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" }')`,
		`x=$(awk 'BEGIN { while (1) printf "a " }')`,
		`echo $(echo $(awk 'BEGIN { while (1) print "y" }'))`,
		`x=x; while :; do x=$x$x; x=$(sh -c "echo $x$x"); done`,
		`x=x; while :; do case $x in *$x*) x=$x$x ;; esac; done`,
		`x=x; for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25; do x=$x$x; done; echo ${x#$x$x}`,
	} {
		t.Run(line, func(t *testing.T) {
			sh, b := budgetShell(t, 1<<20)
			start := time.Now()
			out, errOut, status := runLine(t, sh, line, "")
			if status == 0 || !strings.Contains(errOut, msg) {
				t.Errorf("status %d, stderr %q (stdout %d bytes); want non-zero and %q", status, errOut, len(out), msg)
			}
			if strings.Contains(out, "unreachable") {
				t.Error("the line went on after the budget stopped it")
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %s", d)
			}
			_ = sh.Close()
			if b.Used() != 0 {
				t.Errorf("%d bytes still reserved after the shell closed", b.Used())
			}
		})
	}
}

// printf's width is reserved before the builtin formats it; the command
// fails and the line goes on, as for any failing command.
func TestPrintfWidthIsReserved(t *testing.T) {
	sh, _ := budgetShell(t, 1<<20)
	out, errOut, status := runLine(t, sh, `printf '%999999999d' 1; echo after $?`, "")
	if out != "after 1\n" || errOut != "sh: 1: printf: memory budget of 1 MiB for this session exceeded\n" || status != 0 {
		t.Errorf("stdout %q stderr %q status %d", out, errOut, status)
	}
}

// Everyday lines keep working under a small budget, and what the guards
// add does not change what they print.
func TestShellLinesUnderABudget(t *testing.T) {
	sh, b := budgetShell(t, 256<<10)
	for _, tt := range []struct{ line, want string }{
		{`X=$(echo hi | tr h H); echo $X`, "Hi\n"},
		{`a=1 b=2; c=$a$b; echo "$c" ${c}3`, "12 123\n"},
		{`x=abc; echo ${x#a} ${x%c} ${#x} ${y:-def}`, "bc ab 3 def\n"},
		{`false; x=$(false); echo $?`, "1\n"},
		{`for n in $(printf 'a\nb c\n'); do echo "<$n>"; done`, "<a>\n<b>\n<c>\n"},
		{`x="a   b"; echo $x; echo "$x"`, "a b\na   b\n"},
		{`case node-1 in node-*) echo match ;; esac`, "match\n"},
		{`echo *`, "*\n"},
		{"y=$(cat <<EOF\nline $HOME\nEOF\n); test -n \"$y\" && echo heredoc", "heredoc\n"},
	} {
		out, errOut, status := runLine(t, sh, tt.line, "")
		if out != tt.want || status != 0 {
			t.Errorf("%s: stdout %q stderr %q status %d; want %q", tt.line, out, errOut, status, tt.want)
		}
	}
	if b.Used() != 0 {
		t.Errorf("%d bytes reserved between lines of an exec shell", b.Used())
	}
}
