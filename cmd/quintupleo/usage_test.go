package main

import (
	"context"
	"strings"
	"testing"
)

// TestUsageErrorsAgree gives serve and sim the same mistakes — a log level
// that does not exist, an argument no flag takes, a flag that does not
// exist: both refuse each with exit status 2 and say why in the same words.
// serve used to log at info and ignore the argument, and neither said
// anything about a flag pflag could not parse.
func TestUsageErrorsAgree(t *testing.T) {
	// Cancelled: a command that accepted its flags would stop at once
	// instead of serving (and not exit 2).
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	valid := map[string][]string{
		"serve": {"serve", "--demo", "--listen-tcp", "127.0.0.1:0"},
		"sim":   {"sim", "--listen", "127.0.0.1:0"},
	}
	for name, args := range valid {
		for _, c := range []struct {
			extra []string
			want  string
		}{
			{[]string{"--log-level", "loud"}, `invalid argument "loud" for "--log-level" flag`},
			{[]string{"extra"}, "quintupleo " + name + `: unexpected arguments ["extra"]`},
			{[]string{"--bogus"}, "quintupleo " + name + ": unknown flag: --bogus"},
		} {
			var out, errb strings.Builder
			full := append(append([]string{}, args...), c.extra...)
			if code := run(ctx, full, &out, &errb); code != 2 || !strings.Contains(errb.String(), c.want) {
				t.Errorf("%q: exit %d, stderr %q; want 2 and %q", full, code, errb.String(), c.want)
			}
		}
	}
}
