// Package leakcheck fails a test that leaves goroutines of the package under
// test running after its cleanups: Close and Shutdown must return only after
// the goroutines they own have exited. Test code only.
package leakcheck

import (
	"runtime"
	"strings"
	"testing"
)

// Check registers a cleanup that fails t if, once every cleanup registered
// after it (a server's Close among them) has run, a goroutine is still
// running code whose function names start with pkg (e.g. "quintupleo/rpc.").
// Register it before the server so that it runs after the server's Close.
// Tests using it must not run in parallel with others of the same package.
func Check(t testing.TB, pkg string) {
	t.Helper()
	t.Cleanup(func() {
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		for _, g := range strings.Split(string(buf[:n]), "\n\n") {
			if strings.Contains(g, pkg) && !strings.Contains(g, "leakcheck.Check") && !strings.Contains(g, "testing.tRunner") {
				t.Errorf("goroutine left running after cleanup:\n%s", g)
			}
		}
	})
}
