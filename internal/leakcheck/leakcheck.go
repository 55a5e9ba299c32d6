// Package leakcheck fails a test that leaves goroutines of the package under
// test running after its cleanups: Close and Shutdown must return only after
// the goroutines they own have exited. Test code only.
package leakcheck

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// grace is how long a goroutine may take to finish after the cleanups: one
// already on its way out (e.g. a context.AfterFunc closing a connection)
// is not a leak. goleak retries the same way.
const grace = 2 * time.Second

// Check registers a cleanup that fails t if, once every cleanup registered
// after it (a server's Close among them) has run, a goroutine is still
// running code whose function names contain pkg (e.g. "quintupleo/rpc.").
// Register it before the server so that it runs after the server's Close.
// Tests using it must not run in parallel with others of the same package.
func Check(t testing.TB, pkg string) {
	t.Helper()
	t.Cleanup(func() {
		deadline := time.Now().Add(grace)
		for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
			left := running(pkg)
			if len(left) == 0 {
				return
			}
			if time.Now().After(deadline) {
				for _, g := range left {
					t.Errorf("goroutine left running after cleanup:\n%s", g)
				}
				return
			}
			time.Sleep(delay)
		}
	})
}

// running returns the stacks of goroutines running pkg's code, other than
// test goroutines and this check.
func running(pkg string) []string {
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	var out []string
	for _, g := range strings.Split(string(buf[:n]), "\n\n") {
		if strings.Contains(g, pkg) && !strings.Contains(g, "leakcheck.") && !strings.Contains(g, "testing.tRunner") {
			out = append(out, g)
		}
	}
	return out
}
