// Package testtool holds what every package's tests share about the real
// clients they drive (virsh, ssh, awk, …). Test code only.
package testtool

import (
	"os"
	"os/exec"
	"testing"
)

// Require returns the path of a real tool a test drives. On a developer
// machine without it the test is skipped; under CI (CI set, as
// scripts/test.sh does after installing the tools) it fails instead, so a
// missing install step can never pass as a skip.
func Require(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required when CI is set (scripts/test.sh installs it): %v", name, err)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}
