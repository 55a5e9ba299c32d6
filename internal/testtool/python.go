package testtool

import (
	"os"
	"os/exec"
	"testing"
)

// debianPython is Debian's interpreter, where the python3-* packages the
// tests drive live; another python3 may come first on PATH.
const debianPython = "/usr/bin/python3"

// DebianPython returns Debian's /usr/bin/python3 once it can import module
// (from the Debian package pkg). Like Require, it skips the test when it
// cannot, and fails it under CI.
func DebianPython(t testing.TB, module, pkg string) string {
	t.Helper()
	if err := exec.Command(debianPython, "-c", "import "+module).Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required when CI is set (scripts/test.sh installs it): %v", pkg, err)
		}
		t.Skipf("%s not installed: %v", pkg, err)
	}
	return debianPython
}
