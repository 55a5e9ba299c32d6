package testtool

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"
)

// EnvLibvirtdRef names the reference libvirtd script (the team's
// libvirtd-ref.sh: Debian's libvirtd 9.0 with its test driver, unprivileged,
// on plain TCP).
const EnvLibvirtdRef = "QUINTUPLEO_LIBVIRTD_REF"

// ReferenceLibvirtd starts a private real libvirtd (test driver) with the
// script EnvLibvirtdRef names, by default ../shared/tools/libvirtd-ref.sh
// beside the repository, and returns its client URI; t.Cleanup stops it.
// Its state is its own: other tests' reference daemons are not touched.
// Without the script the test is skipped, under CI too: it is a reference
// kept outside the repository, not a tool scripts/test.sh installs.
func ReferenceLibvirtd(t testing.TB) string {
	t.Helper()
	script := os.Getenv(EnvLibvirtdRef)
	if script == "" {
		root, err := repoRoot()
		if err != nil {
			t.Fatal(err)
		}
		script = filepath.Join(root, "..", "shared", "tools", "libvirtd-ref.sh")
	}
	if _, err := os.Stat(script); err != nil {
		t.Skipf("no reference libvirtd script (%s; set %s): %v", script, EnvLibvirtdRef, err)
	}
	// Not t.TempDir: the script hands its directory to an unprivileged
	// user, who cannot enter t.TempDir's 0700 parent.
	dir, err := os.MkdirTemp("", "lvref-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	_, port, err := net.SplitHostPort(FreeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "LVREF_DIR="+filepath.Join(dir, "lvref"), "LVREF_PORT="+port,
		"LVREF_CAPS="+filepath.Join(dir, "caps"))
	run := func(arg string) ([]byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, script, arg)
		cmd.Env = env
		return cmd.CombinedOutput()
	}
	t.Cleanup(func() {
		if out, err := run("stop"); err != nil {
			t.Errorf("%s stop: %v\n%s", script, err, out)
		}
		_ = os.RemoveAll(dir)
	})
	if out, err := run("start"); err != nil {
		t.Fatalf("%s start: %v\n%s", script, err, out)
	}
	// The test driver forgets its state when its last connection closes,
	// and the script's holder connects in the background: this connection,
	// open when Connect returns, keeps the state for the test's virsh calls.
	l := libvirt.NewWithDialer(dialers.NewRemote("127.0.0.1", dialers.UsePort(port), dialers.WithRemoteTimeout(10*time.Second)))
	if err := l.ConnectToURI(libvirt.TestDefault); err != nil {
		t.Fatalf("connect to the reference libvirtd: %v", err)
	}
	t.Cleanup(func() { _ = l.Disconnect() })
	return "test+tcp://127.0.0.1:" + port + "/default"
}

// repoRoot is the directory of the go.mod above the working directory
// (a test runs in its package's directory).
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}
