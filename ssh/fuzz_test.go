package ssh

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"quintupleo/ssh/budget"
)

// FuzzShellPolicy runs arbitrary command lines in the confined shell, as
// a logged-in SSH user may send them. Whatever the line, the shell must
// end within its deadline, hold no more than the session's memory budget,
// never panic, and change nothing outside its scratch directory: a victim
// directory beside it stays as it was. The seeds are the hostile corpus of TestShellHostileCorpus
// and the lines an adversarial probe found taking the process down (before
// the memory budgets); go test's fuzz cache and testdata/fuzz keep what the
// fuzzer finds.
func FuzzShellPolicy(f *testing.F) {
	for _, line := range hostile {
		f.Add(line)
	}
	for _, line := range []string{
		"echo x | sed ':a;G;h;ba'",
		"echo x | sed ':a;s/x/xx/g;ba'",
		"x=x; while :; do x=$x$x; done",
		`echo x | awk '{ while (1) gsub(/x/, "xx") }'`,
		`awk 'BEGIN { for (i = 0; ; i++) a[i] = sprintf("%1000000s", i) }'`,
		"echo ~nobody $$ $PPID",
		"virsh list --all --name",
		"cat /etc/passwd",
		"echo hi > {V}/f",
	} {
		f.Add(line)
	}
	victim := f.TempDir()
	canary := filepath.Join(victim, "canary")
	if err := os.WriteFile(canary, []byte("untouched\n"), 0o600); err != nil {
		f.Fatal(err)
	}
	parent := f.TempDir()
	f.Fuzz(func(t *testing.T, line string) {
		line = strings.NewReplacer("{V}", victim, "{F}", canary).Replace(line)
		// A small budget: the property holds for any, and a line that
		// doubles a string stops at 1 MiB rather than spending seconds on
		// 8 MiB operations (under the race detector a single one outlasted
		// the deadline's grace).
		b := budget.New(1<<20, "for this session", nil)
		sh, err := newShell(shellConfig{scratchParent: parent, user: "stack", maxInput: 1 << 20, budget: b})
		if err != nil {
			t.Fatal(err)
		}
		defer sh.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		done := make(chan struct{})
		go func() {
			defer close(done)
			sh.Run(ctx, line, nil, io.Discard, io.Discard)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("%q: the shell did not end 8 s past its deadline", line)
		}
		if used := b.Used(); used > b.Limit() {
			t.Errorf("%q: holds %d bytes, past the budget's %d", line, used, b.Limit())
		}
		ents, err := os.ReadDir(victim)
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) != 1 || ents[0].Name() != "canary" {
			t.Fatalf("%q: changed the victim directory: %v", line, ents)
		}
		if data, _ := os.ReadFile(canary); string(data) != "untouched\n" {
			t.Fatalf("%q: changed a file outside the scratch directory: %q", line, data)
		}
	})
}
