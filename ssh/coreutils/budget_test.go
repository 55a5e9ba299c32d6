package coreutils_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"quintupleo/ssh/budget"
	"quintupleo/ssh/coreutils"
)

// endless is a stdin that never ends and never has a newline.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

// Every bomb a tool can be handed ends at the session's budget with the
// tool's message and a failure status, having never reserved more than the
// budget, and gives everything back when it ends.
func TestToolsStopAtTheBudget(t *testing.T) {
	const limit = 1 << 20
	big := strings.Repeat("x", 2<<20) + "\n"
	tests := []struct {
		name string
		in   io.Reader
		args []string
	}{
		{"sed hold space doubling", strings.NewReader("x\n"), []string{"sed", ":a;G;h;ba"}},
		{"sed pattern space doubling", strings.NewReader("x\n"), []string{"sed", ":a;s/x/xx/g;ba"}},
		{"sed H and x", strings.NewReader("x\n"), []string{"sed", ":a;H;x;ba"}},
		{"sed N over big input", strings.NewReader(strings.Repeat("a\n", 1<<20)), []string{"sed", ":a;N;ba"}},
		{"awk gsub doubling", strings.NewReader(""), []string{"awk", `BEGIN { s = "x"; while (1) gsub(/x/, "xx", s) }`}},
		{"awk concatenation", strings.NewReader(""), []string{"awk", `BEGIN { s = "x"; while (1) s = s s }`}},
		{"awk array of large strings", strings.NewReader(""), []string{"awk", `BEGIN { s = "xxxxxxxxxx"; for (i = 0; i < 12; i++) s = s s; for (i = 0; ; i++) a[i] = s s }`}},
		{"awk array by reference", strings.NewReader(""), []string{"awk", `BEGIN { for (i = 0; ; i++) if (a[i "yyyyyyyyyyyyyyyyyyyy"]) print }`}},
		{"awk printf width", strings.NewReader(""), []string{"awk", `BEGIN { printf "%999999999d", 1 }`}},
		{"awk sprintf star width", strings.NewReader(""), []string{"awk", `BEGIN { x = sprintf("%*d", 999999999, 1) }`}},
		{"awk NF", strings.NewReader("a\n"), []string{"awk", `{ NF = 1000000000 }`}},
		{"awk fields of a long record", strings.NewReader(strings.Repeat("a ", 1<<19) + "\n"), []string{"awk", `{ print $1 }`}},
		{"awk split", strings.NewReader(""), []string{"awk", `BEGIN { s = "a,"; for (i = 0; i < 18; i++) s = s s; n = split(s, parts, ",") }`}},
		{"cat of an endless line", endless{}, []string{"cat"}},
		{"grep of an endless line", endless{}, []string{"grep", "y"}},
		{"sort of too much", strings.NewReader(big), []string{"sort"}},
		{"tail of too much", strings.NewReader(big), []string{"tail", "-n", "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := budget.New(limit, "for this session", nil)
			var out, errb bytes.Buffer
			env := &coreutils.Env{Stdin: tt.in, Stdout: &out, Stderr: &errb, Budget: b}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			status := coreutils.Lookup(tt.args[0])(ctx, env, tt.args)
			want := tt.args[0] + ": memory budget of 1 MiB for this session exceeded\n"
			if status == 0 || errb.String() != want {
				t.Errorf("status %d, stderr %q; want non-zero and %q", status, errb.String(), want)
			}
			if ctx.Err() != nil {
				t.Error("ended by the timeout, not by the budget")
			}
			if b.Used() != 0 {
				t.Errorf("%d bytes still reserved after the tool ended", b.Used())
			}
		})
	}
}

// What the reference pipelines do fits a small budget: Ironic's boot
// device edit and MAC/boot readers on a domain XML need a few KiB.
func TestReferencePipelinesFitASmallBudget(t *testing.T) {
	b := budget.New(256<<10, "for this session", nil)
	for _, args := range [][]string{
		{"awk", "-F", "'", "/mac address/{print $2}"},
		{"awk", `/boot dev=/ { gsub( ".*dev=" Q, "" ); gsub( Q ".*", "" ); print; }`, `Q='`, "RS=[<>]"},
		{"sed", `/<boot \(dev\|order\)=*\>/d;/<\/os>/i\<boot dev="network"/>`},
		{"grep", "-o", "52:54:[0-9a-f:]*"},
		{"tr", "-d", ":"},
		{"sort"},
	} {
		var out, errb bytes.Buffer
		env := &coreutils.Env{Stdin: strings.NewReader(domXML), Stdout: &out, Stderr: &errb, Budget: b}
		if status := coreutils.Lookup(args[0])(context.Background(), env, args); status != 0 || errb.Len() > 0 || out.Len() == 0 {
			t.Errorf("%q: status %d, stderr %q, %d bytes out", args, status, errb.String(), out.Len())
		}
	}
	if b.Used() != 0 {
		t.Errorf("%d bytes still reserved", b.Used())
	}
}
