// Package testtool holds what every package's tests share about the real
// clients they drive (virsh, ssh, awk, …). Test code only.
package testtool

import (
	"bytes"
	"errors"
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

// Run runs cmd and returns its stdout, stderr and exit status, the way the
// tests compare real clients' output. A command that could not run at all
// (not found, killed by its context) fails the test. Stdout and Stderr must
// not be set; Stdin may be.
func Run(t testing.TB, cmd *exec.Cmd) (stdout, stderr string, status int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) && ee.Exited():
		status = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v\nstderr: %s", cmd, err, errb.String())
	}
	return out.String(), errb.String(), status
}
