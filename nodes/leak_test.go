package nodes_test

import (
	"os"
	"testing"
	"time"

	"quintupleo/internal/testtool"
)

// TestMain fails the package's tests if any goroutine of nodes (a refresh or
// an action wait stuck on a cloud that does not answer, a test's own helper)
// outlives them. The grace covers goroutines already returning.
func TestMain(m *testing.M) {
	os.Exit(testtool.RunCheckingGoroutines(m, "quintupleo/nodes", time.Second))
}
