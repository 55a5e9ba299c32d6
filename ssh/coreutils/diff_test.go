package coreutils_test

import (
	"bytes"
	"context"
	"os/exec"
	"testing"

	"quintupleo/internal/testtool"
	"quintupleo/ssh/coreutils"
)

const listTable = " Id   Name              State\n----------------------------------\n 1    baremetalbrbm_0   running\n -    node-1            shut off\n -    seed              shut off\n\n"

// TestAgainstSystemTools runs each case through the in-process utility and
// the system's (GNU sed, mawk/gawk, coreutils, grep) and wants the same
// stdout and exit status.
func TestAgainstSystemTools(t *testing.T) {
	cases := []struct {
		in   string
		args []string
	}{
		{domXML, []string{"awk", "-F", "'", "/mac address/{print $2}"}},
		{domXML, []string{"awk", `/boot dev=/ { gsub( ".*dev=" Q, "" ); gsub( Q ".*", "" ); print; }`, `Q='`, "RS=[<>]"}},
		{domXML, []string{"awk", "-F'", "{print $2}"}},
		{domXML, []string{"awk", "-F", "'", "/mac address/ { print $2; exit }"}},
		{listTable, []string{"awk", "-F", " ", "{print $2}"}},
		{listTable, []string{"awk", "-v", `qc="`, "-F", " ", "{print qc$2qc}"}},
		{listTable, []string{"awk", "{ print $2 }"}},
		{listTable, []string{"awk", "BEGIN{OFS=\":\";} {print $2,$3}"}},
		{listTable, []string{"awk", "NR>2 && NF {n++} END {print n, NR}"}},
		{listTable, []string{"awk", `{ $1 = ""; print; print NF }`}},
		{listTable, []string{"awk", `length($2) > 5 { printf "%-20s|%5.2f|%d\n", $2, NR/3, NF }`}},
		{listTable, []string{"awk", `{ a[$3]++ } END { for (k in a) s = s k "=" a[k] ";"; print length(s) }`}},
		{listTable, []string{"awk", `/running/,/seed/ { print NR": "$0 }`}},
		{listTable, []string{"awk", `{ print substr($2, 2, 4), index($0, "r"), toupper($3), tolower("ABC") }`}},
		{listTable, []string{"awk", `{ n = split($0, p, /[-_]/); print n, p[1] }`}},
		{listTable, []string{"awk", `{ if ($1 ~ /^[0-9]+$/) print "id", $1; else if ($1 == "-") print "off"; else print "other" }`}},
		{listTable, []string{"awk", `{ sub(/o/, "0"); print } END { print 1/3, 2^10, 7%3, -3 }`}},
		{listTable, []string{"awk", `{ while (i < 3) { i++; if (i == 2) continue; print i } }`}},
		{"1 2\n3 4\n", []string{"awk", `{ s += $1 * $2 } END { print s, s / 2, s "" }`}},
		{"a b c\n", []string{"awk", `{ $5 = "e"; print; print NF }`}},
		{"x=1\n", []string{"awk", "-F=", `{ print $2 + 1 }`}},
		{"10\n9\n100\n", []string{"awk", `$1 > 9`}},
		{"abc\n", []string{"awk", `{ print match($0, /b+/), RSTART, RLENGTH }`}},
		{domXML, []string{"sed", `/<boot \(dev\|order\)=*\>/d;/<\/os>/i\<boot dev="network"/>`}},
		{domXML, []string{"sed", "-n", "/<mac/p"}},
		{domXML, []string{"sed", "-n", "2,4p;$="}},
		{domXML, []string{"sed", "-e", "s/'/\"/g", "-e", "/interface/d"}},
		{domXML, []string{"sed", "-E", `s/(mac|source) ([a-z]+)=/\2:\1=/`}},
		{domXML, []string{"sed", `/<os>/,/<\/os>/{/boot/!d}`}},
		{domXML, []string{"sed", "3q"}},
		{domXML, []string{"sed", "1!G;h;$!d"}},
		{domXML, []string{"sed", `/<devices>/a\  <!-- added -->`}},
		{domXML, []string{"sed", "y/abc/ABC/"}},
		{domXML, []string{"sed", "s/a/A/2"}},
		{domXML, []string{"sed", "-n", `/<name>/{s/.*<name>\(.*\)<\/name>.*/\1/;p}`}},
		{"x\n", []string{"sed", "$!N;s/\\n/ /"}},
		{"no newline", []string{"sed", "s/no/yes/"}},
		{listTable, []string{"grep", "running"}},
		{listTable, []string{"grep", "-v", "-e", "shut", "-e", "---"}},
		{listTable, []string{"grep", "-c", "off"}},
		{listTable, []string{"grep", "-E", "^ (1|-) +(seed|node)"}},
		{listTable, []string{"grep", "-i", "SEED"}},
		{listTable, []string{"grep", "-w", "seed"}},
		{listTable, []string{"grep", "-o", "[a-z]*_[0-9]"}},
		{listTable, []string{"grep", "-n", "-F", "shut off"}},
		{listTable, []string{"grep", `^\(seed\|baremetalbrbm\)`}},
		{listTable, []string{"grep", "nothing"}},
		{listTable, []string{"tail", "-n", "+2"}},
		{listTable, []string{"tail", "-2"}},
		{listTable, []string{"head", "-n", "-2"}},
		{listTable, []string{"head", "-c", "10"}},
		{listTable, []string{"cut", "-c", "2-5"}},
		{listTable, []string{"cut", "-d", " ", "-f", "2,3"}},
		{listTable, []string{"sort"}},
		{listTable, []string{"sort", "-r", "-u"}},
		{"10\n9\n100\n", []string{"sort", "-n"}},
		{"b 2\na 10\nc 1\n", []string{"sort", "-k", "2", "-n"}},
		{listTable, []string{"wc", "-l"}},
		{listTable, []string{"wc"}},
		{listTable, []string{"wc", "-w", "-c"}},
		{"52:54:00:AA:bb\n", []string{"tr", "-d", ":"}},
		{"hello  world\n", []string{"tr", "-s", " "}},
		{"hello\n", []string{"tr", "a-y", "b-z"}},
		{"Hello\n", []string{"tr", "[:lower:]", "[:upper:]"}},
		{"a1b2\n", []string{"tr", "-cd", "0-9\n"}},
	}
	for _, tc := range cases {
		bin := testtool.Require(t, tc.args[0])
		cmd := exec.CommandContext(t.Context(), bin, tc.args[1:]...)
		cmd.Env = []string{"LC_ALL=C", "PATH=/usr/bin:/bin"}
		cmd.Stdin = bytes.NewBufferString(tc.in)
		want, _, wcode := testtool.Run(t, cmd)
		var out, errb bytes.Buffer
		env := &coreutils.Env{Stdin: bytes.NewBufferString(tc.in), Stdout: &out, Stderr: &errb}
		code := coreutils.Lookup(tc.args[0])(context.Background(), env, tc.args)
		if out.String() != want || code != wcode {
			t.Errorf("%q:\n ours:   %q (%d) %s\n system: %q (%d)", tc.args, out.String(), code, errb.String(), want, wcode)
		}
	}
}
