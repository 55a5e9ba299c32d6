package ssh

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testShell(t *testing.T) *shell {
	t.Helper()
	sh, err := newShell(shellConfig{scratchParent: t.TempDir(), user: "stack", maxInput: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sh.Close() })
	return sh
}

func runLine(t *testing.T, sh *shell, line, stdin string) (string, string, uint8) {
	t.Helper()
	var in *os.File
	if stdin != "" {
		f, err := os.CreateTemp(t.TempDir(), "stdin")
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(stdin)
		f.Seek(0, 0)
		in = f
		defer f.Close()
	}
	var out, errb bytes.Buffer
	status, _ := sh.Run(t.Context(), line, in, &out, &errb)
	return out.String(), errb.String(), status
}

func TestShellAllowed(t *testing.T) {
	tests := []struct {
		line   string
		want   string
		status uint8
	}{
		{"exit", "", 0},
		{"echo success", "success\n", 0},
		{"true && echo yes || echo no", "yes\n", 0},
		{"false", "", 1},
		{"exit 3", "", 3},
		{`printf '%s-%d\n' a 1`, "a-1\n", 0},
		{"echo 52:54:00:aa:bb:cc | tr -d ':'", "525400aabbcc\n", 0},
		{`echo "a'b'c" | awk -F "'" '{print $2}'| tr -d ':'`, "b\n", 0},
		{`echo x | sh -c 'cat | tr x y'`, "y\n", 0},
		{"which virt-ssh-helper", "/usr/bin/virt-ssh-helper\n", 0},
		{"which virt-ssh-helper 1>/dev/null 2>&1; if test $? = 0; then echo found; fi", "found\n", 0},
		{"which python3", "", 1},
		{"test -f /etc/passwd && echo visible || echo hidden", "hidden\n", 0},
		{"[ 1 = 1 ] && echo eq", "eq\n", 0},
		{"X=$(echo hi | tr h H); echo $X", "Hi\n", 0},
		{"LC_ALL=C echo ok 2>/dev/null", "ok\n", 0},
		{"cat <<EOF | grep b\na\nb\nEOF", "b\n", 0},
		{"echo /etc/*", "/etc/*\n", 0},
		{"echo /*/passwd", "/*/passwd\n", 0},
		{`X='a '\''b'\'' c'; echo "$X"`, "a 'b' c\n", 0},
		{`X=a\ b\"c; echo "$X"`, "a b\"c\n", 0},
		{`X="a\"b\\c\(d"; echo "$X"`, "a\"b\\c\\(d\n", 0},
	}
	sh := testShell(t)
	for _, tc := range tests {
		out, errs, status := runLine(t, sh, tc.line, "")
		if out != tc.want || status != tc.status {
			t.Errorf("%q: got %q status %d (stderr %q), want %q status %d", tc.line, out, status, errs, tc.want, tc.status)
		}
	}
}

// hostile lines: {V} is a victim directory outside the scratch dir that
// must stay empty; {F} a file in it that must keep its content.
var hostile = []string{
	"cat /etc/shadow",
	"cat < /etc/shadow",
	"cat {F}",
	"head -1 /etc/passwd",
	"grep root /etc/passwd",
	"tail /etc/shadow",
	"sort /etc/shadow",
	`awk 'BEGIN{system("touch {V}/x")}'`,
	`awk 'BEGIN{system("id")}'`,
	`awk '{print > "{V}/x"}'`,
	`echo a | awk '{print > "{V}/x"}'`,
	`echo a | awk '{print | "sh"}'`,
	`awk 'BEGIN{while ((getline l < "/etc/shadow") > 0) print l}'`,
	`awk 'BEGIN{"id" | getline x; print x}'`,
	`awk '{print}' /etc/shadow`,
	"echo x > {V}/f",
	"echo x >> {F}",
	"echo x > f",
	"echo x 1>{V}/f",
	"cat <<EOF > {V}/heredoc\nhello\nEOF",
	"$(rm -rf {V})",
	"`rm -rf {V}`",
	"X=$(touch {V}/sub)",
	"rm -rf {V}",
	"touch {V}/t",
	"bash",
	"bash -c 'touch {V}/b'",
	"python3 -c 'import os; os.system(\"touch {V}/p\")'",
	"perl -e 'print 1'",
	"env",
	"exec sh",
	"exec touch {V}/e",
	"source /etc/profile",
	". /etc/profile",
	"eval 'touch {V}/ev'",
	"cd /etc && cat passwd",
	"cat ../../../../etc/passwd",
	"/bin/sh -c 'touch {V}/s'",
	"sh -c 'cat /etc/shadow'",
	"sh",
	"sh /tmp/script.sh",
	`sed -n 'w {V}/w'`,
	`echo a | sed -n 'w {V}/w'`,
	`echo a | sed -e 'e id'`,
	`echo a | sed 's/a/id/e'`,
	`echo a | sed 'r /etc/shadow'`,
	"sed -i 's/a/b/' {F}",
	"PATH=/tmp virsh list",
	"LD_PRELOAD=/tmp/x.so virsh list",
	"IFS=/ echo a",
	"nc -l 1234",
	"nc -U /var/run/libvirt/libvirt-sock",
	"virt-ssh-helper qemu:///system",
	"/usr/bin/id",
	"../../bin/id",
	"./id",
	"f() { cat /etc/shadow; }; f",
	"sleep 1 &",
	"read x < /etc/shadow",
	"set -o xtrace; export X=1; command id",
	"type id",
	"trap 'touch {V}/trap' EXIT",
	"cp /etc/passwd {V}/p",
	"dd if=/dev/zero of={V}/dd count=1",
	"copyseed 0",
	"ls /",
	"echo a | tee {V}/tee",
	"curl http://example.com",
	"chmod 777 {F}",
	"mkdir {V}/d",
	// the interpreter opens names like its FIFOs in TMPDIR without the
	// open handler; TMPDIR is the scratch dir, and /tmp stays untouched.
	"echo x > " + os.TempDir() + "/sh-interp-quintupleo-test",
	"TMPDIR=/tmp echo x",
	"echo" + strings.Repeat(" | cat", 100),
	"echo" + strings.Repeat(" $(echo)", 100),
}

func TestShellHostileCorpus(t *testing.T) {
	if len(hostile) < 40 {
		t.Fatalf("corpus has %d lines, want ≥ 40", len(hostile))
	}
	victim := t.TempDir()
	canary := filepath.Join(victim, "canary")
	if err := os.WriteFile(canary, []byte("untouched\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sh := testShell(t)
	for _, line := range hostile {
		line = strings.NewReplacer("{V}", victim, "{F}", canary).Replace(line)
		out, errs, status := runLine(t, sh, line, "a\n")
		if status == 0 {
			t.Errorf("%q: status 0 (stdout %q stderr %q), want refusal", line, out, errs)
		}
		if errs == "" {
			t.Errorf("%q: no message on stderr", line)
		}
		if strings.Contains(out, "root:") {
			t.Errorf("%q: leaked a host file: %q", line, out)
		}
	}
	ents, err := os.ReadDir(victim)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != "canary" {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("victim dir changed: %v", names)
	}
	if data, _ := os.ReadFile(canary); string(data) != "untouched\n" {
		t.Errorf("canary changed: %q", data)
	}
	if _, err := os.Stat(filepath.Join(os.TempDir(), "sh-interp-quintupleo-test")); err == nil {
		t.Errorf("a file was created in %s", os.TempDir())
	}
	// nothing was left in the scratch dir either
	sents, _ := os.ReadDir(sh.dir)
	if len(sents) != 0 {
		t.Errorf("scratch dir not empty: %v", sents)
	}
}

func TestShellCancelStopsLoop(t *testing.T) {
	sh := testShell(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan uint8)
	go func() {
		status, _ := sh.Run(ctx, "while true; do :; done", nil, &bytes.Buffer{}, &bytes.Buffer{})
		done <- status
	}()
	cancel()
	if st := <-done; st == 0 {
		t.Errorf("cancelled loop returned status 0")
	}
}
