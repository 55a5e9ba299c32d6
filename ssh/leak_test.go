package ssh

import (
	"runtime"
	"strings"
	"testing"
)

// checkGoroutines fails the test if, once every later cleanup (the server's
// Close among them) has run, a goroutine is still running code of this
// package: Close and Shutdown must return only after their goroutines exit.
// Register it before the server so that it runs after the server's Close.
func checkGoroutines(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		for _, g := range strings.Split(string(buf[:n]), "\n\n") {
			if strings.Contains(g, "quintupleo/ssh.") && !strings.Contains(g, "checkGoroutines") && !strings.Contains(g, "testing.tRunner") {
				t.Errorf("goroutine left running after the server closed:\n%s", g)
			}
		}
	})
}
