package testtool

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// LeftRunning returns the stacks of the goroutines running code of package
// pkg (an import path such as "quintupleo/nodes") or of its external test
// package, other than the caller and the tests' own goroutines (those under
// testing.tRunner, which the testing package accounts for).
func LeftRunning(pkg string) []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	// The first goroutine of the dump is the caller's own.
	all := strings.Split(string(buf), "\n\n")[1:]
	var left []string
	for _, g := range all {
		ours := strings.Contains(g, pkg+".") || strings.Contains(g, pkg+"_test.")
		if ours && !strings.Contains(g, "testing.tRunner") {
			left = append(left, g)
		}
	}
	return left
}

// CheckGoroutines fails t if, once every cleanup registered after it has
// run (a server's Close among them), a goroutine of pkg is still running:
// Close and Shutdown must return only after their goroutines exit. Register
// it before what it checks, so that it runs after that thing's cleanup. A
// goroutine already on its way out (a context.AfterFunc closing a
// connection) gets a short grace, as goleak allows. Tests using it must not
// run in parallel with others of the same package.
func CheckGoroutines(t testing.TB, pkg string) {
	t.Helper()
	t.Cleanup(func() {
		for _, g := range waitLeftRunning(pkg, 2*time.Second) {
			t.Errorf("goroutine left running after the test ended:\n%s", g)
		}
	})
}

// waitLeftRunning polls LeftRunning until it is empty or grace has passed.
func waitLeftRunning(pkg string, grace time.Duration) []string {
	deadline := time.Now().Add(grace)
	left := LeftRunning(pkg)
	for delay := time.Millisecond; len(left) > 0 && time.Now().Before(deadline); delay = min(2*delay, 100*time.Millisecond) {
		time.Sleep(delay)
		left = LeftRunning(pkg)
	}
	return left
}

// RunCheckingGoroutines is a TestMain body: it runs the tests, then fails
// the run if goroutines of pkg outlive them (allowing grace for those that
// are already on their way out), printing their stacks. It covers every
// test of the package, including those that never call CheckGoroutines.
func RunCheckingGoroutines(m *testing.M, pkg string, grace time.Duration) int {
	code := m.Run()
	left := waitLeftRunning(pkg, grace)
	for _, g := range left {
		fmt.Fprintf(os.Stderr, "goroutine left running after the tests ended:\n%s\n\n", g)
	}
	if len(left) > 0 && code == 0 {
		fmt.Fprintf(os.Stderr, "FAIL: %d goroutine(s) of %s outlived the tests\n", len(left), pkg)
		code = 1
	}
	return code
}
