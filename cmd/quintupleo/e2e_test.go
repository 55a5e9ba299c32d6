package main

// End-to-end tests of `quintupleo serve`: the real stack (cloudsim over real
// HTTP → nodes → translate → rpc on a TCP listener), driven by the real virsh
// from Debian's libvirt-clients and by go-libvirt's client.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"quintupleo/cloudsim"
)

// requireTool skips when a real client is missing on a developer machine,
// but fails under CI, where scripts/test.sh installs it.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required under CI (scripts/test.sh installs it): %v", name, err)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// env is one running quintupleo over its own cloudsim.
type env struct {
	sim *cloudsim.Sim
	st  *stack
	uri string // qemu+tcp://127.0.0.1:PORT/system
}

type envOption func(*cloudsim.Options, *serveConfig)

func startEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	simOpts := cloudsim.Options{Nodes: 5, TransitionDelay: 30 * time.Millisecond}
	cfg := serveConfig{
		listenTCP:     "127.0.0.1:0",
		refresh:       100 * time.Millisecond,
		actionTimeout: 20 * time.Second,
		pollInterval:  10 * time.Millisecond,
	}
	for _, o := range opts {
		o(&simOpts, &cfg)
	}
	sim, err := cloudsim.New(simOpts)
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	yaml := filepath.Join(t.TempDir(), "clouds.yaml")
	if err := os.WriteFile(yaml, sim.CloudsYAML("sim"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.osCloud, cfg.cloudsYAML = "sim", yaml

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	st, err := newStack(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- st.run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("stack run: %v", err)
		}
	})
	return &env{sim: sim, st: st, uri: "qemu+tcp://" + st.tcp.Addr().String() + "/system"}
}

// virsh runs the real virsh against the env and returns stdout, stderr and
// the exit status.
func (e *env) virsh(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	bin := requireTool(t, "virsh")
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"-c", e.uri}, args...)...)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "HOME="+t.TempDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatalf("virsh %v: %v", args, err)
	}
	return stdout.String(), stderr.String(), code
}

// mustVirsh runs virsh and fails the test unless it exits 0.
func (e *env) mustVirsh(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := e.virsh(t, args...)
	if code != 0 {
		t.Fatalf("virsh %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// listTable parses `virsh list` output into name → [id, state].
func listTable(t *testing.T, out string) map[string][2]string {
	t.Helper()
	lines := strings.Split(out, "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], " Id   Name") || strings.Trim(lines[1], "-") != "" {
		t.Fatalf("not a virsh list table:\n%s", out)
	}
	rows := map[string][2]string{}
	for _, l := range lines[2:] {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		rows[f[1]] = [2]string{f[0], strings.Join(f[2:], " ")}
	}
	return rows
}

func names(out string) []string {
	var ns []string
	for _, l := range strings.Split(out, "\n") {
		if l != "" {
			ns = append(ns, l)
		}
	}
	return ns
}
