package ssh

import (
	"testing"

	"quintupleo/internal/testtool"
)

// checkGoroutines fails the test if, once every later cleanup (the server's
// Close among them) has run, a goroutine is still running code of this
// package: Close and Shutdown must return only after their goroutines exit.
// Register it before the server so that it runs after the server's Close.
func checkGoroutines(t *testing.T) {
	t.Helper()
	testtool.CheckGoroutines(t, "quintupleo/ssh")
}
