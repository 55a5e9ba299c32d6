package testtool

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// BuildQuintupleo builds the quintupleo binary into a temporary directory and
// returns its path, for tests that must run the real process (under prlimit,
// killed, restarted) rather than the in-process stack. Go's build cache makes
// every build after the first a link step.
func BuildQuintupleo(t testing.TB) string {
	t.Helper()
	goBin := Require(t, "go")
	bin := filepath.Join(t.TempDir(), "quintupleo")
	cmd := exec.CommandContext(t.Context(), goBin, "build", "-o", bin, "quintupleo/cmd/quintupleo")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
