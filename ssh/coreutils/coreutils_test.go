package coreutils_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"quintupleo/ssh/coreutils"
)

const domXML = `<domain type='kvm' id='1'>
  <name>node-0</name>
  <uuid>0d9c5a28-6f3c-4f5b-9d9b-3f1f0f0e1a11</uuid>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <boot dev='hd'/>
    <bootmenu enable='no'/>
  </os>
  <devices>
    <interface type='network'>
      <mac address='52:54:00:aa:bb:cc'/>
      <source network='brbm'/>
    </interface>
    <interface type='network'>
      <mac address='52:54:00:aa:bb:cd'/>
    </interface>
  </devices>
</domain>
`

func run(t *testing.T, in string, args ...string) (string, string, int) {
	t.Helper()
	cmd := coreutils.Lookup(args[0])
	if cmd == nil {
		t.Fatalf("no utility %s", args[0])
	}
	var out, errb bytes.Buffer
	env := &coreutils.Env{Stdin: strings.NewReader(in), Stdout: &out, Stderr: &errb}
	status := cmd(context.Background(), env, args)
	return out.String(), errb.String(), status
}

func TestUtils(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		args   []string
		want   string
		status int
	}{
		{"ironic macs awk", domXML, []string{"awk", "-F", "'", "/mac address/{print $2}"}, "52:54:00:aa:bb:cc\n52:54:00:aa:bb:cd\n", 0},
		{"tr delete colons", "52:54:00:aa:bb:cc\n", []string{"tr", "-d", ":"}, "525400aabbcc\n", 0},
		{"ironic boot dev", domXML, []string{"awk", `/boot dev=/ { gsub( ".*dev=" Q, "" ); gsub( Q ".*", "" ); print; }`, `Q='`, "RS=[<>]"}, "hd\n", 0},
		{"grep mac address", domXML, []string{"grep", "mac address"}, "      <mac address='52:54:00:aa:bb:cc'/>\n      <mac address='52:54:00:aa:bb:cd'/>\n", 0},
		{"grep no match", domXML, []string{"grep", "nothing"}, "", 1},
		{"grep alternation BRE", "seed\nbaremetalbrbm_0\nother\n", []string{"grep", `^\(seed\|baremetalbrbm\)`}, "seed\nbaremetalbrbm_0\n", 0},
		{"grep -q exact", "a\nbaremetalbrbm_0\n", []string{"grep", "-q", "^baremetalbrbm_0$"}, "", 0},
		{"list table col2", " Id   Name     State\n-------------------------\n 1    node-0   running\n -    node-1   shut off\n\n", []string{"tail", "-n", "+2"}, "-------------------------\n 1    node-0   running\n -    node-1   shut off\n\n", 0},
		{"awk -F space col2", "-------\n 1    node-0   running\n -    node-1   shut off\n\n", []string{"awk", "-F", " ", "{print $2}"}, "\nnode-0\nnode-1\n\n", 0},
		{"awk -v qc", " 1    node-0   running\n", []string{"awk", "-v", `qc="`, "-F", " ", "{print qc$2qc}"}, "\"node-0\"\n", 0},
		{"awk OFS BEGIN", " default   active   yes   yes\n", []string{"awk", `BEGIN{OFS=":";} {print $2,$3}`}, "active:yes\n", 0},
		{"awk exit first", "a'1'\nb'2'\n", []string{"awk", "-F", "'", "/'/ { print $2; exit }"}, "1\n", 0},
		{"awk printf", "x 3\n", []string{"awk", `{printf "%s=%05.1f|%-3d|\n", $1, $2, $2}`}, "x=003.0|3  |\n", 0},
		{"awk arith and arrays", "a 1\nb 2\na 3\n", []string{"awk", `{s[$1]+=$2} END{for(k in s) print k, s[k]; print NR, length("abc")}`}, "a 4\nb 2\n3 3\n", 0},
		{"awk domiflist", " vnet0   network   brbm   virtio   52:54:00:aa:bb:cc\n tap-x  bridge br0 e1000 52:54:00:00:00:01\n", []string{"awk", `/tap-/{print $5","$1}`}, "52:54:00:00:00:01,tap-x\n", 0},
		{"head -1", "a\nb\n", []string{"head", "-1"}, "a\n", 0},
		{"head -n 1", "a\nb\n", []string{"head", "-n", "1"}, "a\n", 0},
		{"tail -1", "a\nb\n", []string{"tail", "-n", "1"}, "b\n", 0},
		{"cut", "x'y'z\n", []string{"cut", "-d'", "-f2"}, "y\n", 0},
		{"sort -u", "b\na\nb\n", []string{"sort", "-u"}, "a\nb\n", 0},
		{"wc -l", "a\nb\n", []string{"wc", "-l"}, "2\n", 0},
		{"cat stdin", "hello\n", []string{"cat"}, "hello\n", 0},
		{"sed s", "hello world\n", []string{"sed", "s/o/0/g"}, "hell0 w0rld\n", 0},
		{"sed -n p range", "1\n2\n3\n4\n", []string{"sed", "-n", "2,3p"}, "2\n3\n", 0},
		{"sed groups", "abc\n", []string{"sed", `s/\(a\)\(b\)/\2\1/`}, "bac\n", 0},
		{"sed ere", "abc\n", []string{"sed", "-E", `s/(a|b)+/X/`}, "Xc\n", 0},
		{"tr upper", "abc\n", []string{"tr", "a-z", "A-Z"}, "ABC\n", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, status := run(t, tc.in, tc.args...)
			if out != tc.want || status != tc.status {
				t.Errorf("%q: got %q status %d (stderr %q), want %q status %d", tc.args, out, status, errs, tc.want, tc.status)
			}
		})
	}
}

const ironicSed = `/<boot \(dev\|order\)=*\>/d;/<\/os>/i\<boot dev="network"/>`

func TestSedInPlaceIronicScript(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "dom.xml"), []byte(domXML+"  <boot order='1'/>\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	var out, errb bytes.Buffer
	env := &coreutils.Env{Stdout: &out, Stderr: &errb, Root: root, Editable: "dom.xml"}
	if st := coreutils.Sed(context.Background(), env, []string{"sed", "-i", ironicSed, "dom.xml"}); st != 0 {
		t.Fatalf("status %d: %s", st, errb.String())
	}
	got, _ := os.ReadFile(filepath.Join(dir, "dom.xml"))
	want := strings.Replace(domXML, "    <boot dev='hd'/>\n", "", 1)
	want = strings.Replace(want, "  </os>\n", "<boot dev=\"network\"/>\n  </os>\n", 1)
	if string(got) != want {
		t.Errorf("sed -i result:\n%s\nwant:\n%s", got, want)
	}
	// The same script against GNU sed, when present, gives the same bytes.
	// In-place on any other file is refused.
	env.Editable = "other.xml"
	if st := coreutils.Sed(context.Background(), env, []string{"sed", "-i", ironicSed, "dom.xml"}); st == 0 {
		t.Errorf("sed -i on a non-editable file succeeded")
	}
}

func TestRefusals(t *testing.T) {
	tests := [][]string{
		{"awk", `BEGIN{system("id")}`},
		{"awk", `{print > "/tmp/x"}`},
		{"awk", `{print >> "/tmp/x"}`},
		{"awk", `{print | "sh"}`},
		{"awk", `BEGIN{"id" | getline x}`},
		{"awk", `BEGIN{getline x < "/etc/shadow"; print x}`},
		{"awk", `{print}`, "/etc/shadow"},
		{"awk", "-f", "/tmp/prog.awk"},
		{"awk", `BEGIN{print ENVIRON["HOME"]}`},
		{"awk", `function f(){} BEGIN{f()}`},
		{"sed", "-n", "w /tmp/x"},
		{"sed", "-e", "e id"},
		{"sed", "r /etc/shadow"},
		{"sed", "s/a/b/w /tmp/x"},
		{"sed", "s/a/id/e"},
		{"sed", "p", "/etc/shadow"},
		{"sed", "-i", "s/a/b/", "/etc/passwd"},
		{"sed", "-f", "/tmp/script"},
		{"cat", "/etc/shadow"},
		{"grep", "root", "/etc/passwd"},
		{"head", "/etc/shadow"},
		{"tail", "/etc/shadow"},
		{"sort", "/etc/shadow"},
		{"cut", "-f1", "/etc/shadow"},
		{"wc", "/etc/shadow"},
	}
	for _, args := range tests {
		out, errs, status := run(t, "a\n", args...)
		if status == 0 || errs == "" {
			t.Errorf("%q: status %d out %q stderr %q, want refusal", args, status, out, errs)
		}
	}
}

// TestOptionErrors pins each tool's wording for a refused option: awk words
// them its own way, the others as getopt(3); all parse options through one
// getopt.
func TestOptionErrors(t *testing.T) {
	tests := []struct {
		args   []string
		stderr string
		status int
	}{
		{[]string{"awk", "-F"}, "awk: option requires an argument -- F\n", 2},
		{[]string{"awk", "-v"}, "awk: option requires an argument -- v\n", 2},
		{[]string{"awk", "-f", "prog.awk"}, "awk: program files are not permitted in this confined shell\n", 2},
		{[]string{"awk", "-fprog.awk"}, "awk: program files are not permitted in this confined shell\n", 2},
		{[]string{"awk", "-xyz", "{print}"}, "awk: option -xyz is not permitted in this confined shell\n", 2},
		{[]string{"awk", "--posix", "{print}"}, "awk: option --posix is not permitted in this confined shell\n", 2},
		{[]string{"awk"}, "usage: awk [-F value] [-v var=value] [--] 'program text' [var=value ...]\n", 2},
		{[]string{"awk", "-F:", "-vX=1", "--"}, "usage: awk [-F value] [-v var=value] [--] 'program text' [var=value ...]\n", 2},
		{[]string{"cut", "-d"}, "cut: option requires an argument -- 'd'\n", 1},
		{[]string{"sort", "-z"}, "sort: invalid option -- 'z'\n", 2},
		{[]string{"grep", "-qZ", "x"}, "grep: invalid option -- 'Z'\n", 2},
	}
	for _, tt := range tests {
		_, stderr, status := run(t, "", tt.args...)
		if stderr != tt.stderr || status != tt.status {
			t.Errorf("%q: stderr %q, status %d; want %q, %d", tt.args, stderr, status, tt.stderr, tt.status)
		}
	}
	// -F and -v still take their values, the last -F winning.
	out, stderr, status := run(t, "a:b,c\n", "awk", "-F,", "-F:", "-vX=1", "-v", "Y=2", "{print $2, X, Y}")
	if out != "b,c 1 2\n" || stderr != "" || status != 0 {
		t.Errorf("awk -F, -F: -vX=1 -v Y=2: %q %q %d", out, stderr, status)
	}
}

// TestNames lists the canonical names, each of which Lookup finds, as do
// the aliases clients call them by.
func TestNames(t *testing.T) {
	want := []string{"awk", "cat", "cut", "grep", "head", "sed", "sort", "tail", "tr", "wc"}
	if got := coreutils.Names(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("Names() = %q, want %q", got, want)
	}
	for _, n := range append(want, "mawk", "gawk", "egrep", "fgrep") {
		if coreutils.Lookup(n) == nil {
			t.Errorf("Lookup(%q) = nil", n)
		}
	}
	if coreutils.Lookup("perl") != nil {
		t.Error("Lookup(perl) found a tool")
	}
}
