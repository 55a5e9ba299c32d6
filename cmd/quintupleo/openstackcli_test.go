package main

// `quintupleo sim` driven by the real `openstack` CLI (Debian's
// python3-openstackclient: openstacksdk over keystoneauth), the client every
// OpenStack operator and tool (Ironic's devstack scripts, tripleo, …) points
// at a cloud first. keystoneauth discovers each service's versions at the
// exact catalog URL, so this is what holds cloudsim's discovery documents to
// the real services'.

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"quintupleo/internal/testtool"
)

// osc runs the openstack CLI against one clouds.yaml cloud.
type osc struct {
	path string
	env  []string
}

// newOSC finds the CLI and gives it an environment of its own: a clouds.yaml
// cloud, an empty HOME (no user clouds.yaml, cache or config), and none of
// the caller's OS_* or Python variables, so neither the developer's cloud
// settings nor a pyenv/virtualenv reach Debian's /usr/bin/python3.
func newOSC(t *testing.T, cloudsYAML, cloud string) osc {
	t.Helper()
	path := testtool.Require(t, "openstack")
	env := []string{"HOME=" + t.TempDir(), "OS_CLIENT_CONFIG_FILE=" + cloudsYAML, "OS_CLOUD=" + cloud}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "HOME" || strings.HasPrefix(k, "OS_") || strings.HasPrefix(k, "PYTHON") ||
			strings.HasPrefix(k, "PYENV") || strings.HasPrefix(k, "XDG_") || k == "VIRTUAL_ENV" {
			continue
		}
		env = append(env, kv)
	}
	return osc{path: path, env: env}
}

// run runs one CLI command; it must succeed with nothing on stderr (a
// discovery that fell back to a guessed URL warns there).
func (o osc) run(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, o.path, args...)
	cmd.Env = o.env
	stdout, stderr, status := testtool.Run(t, cmd)
	if status != 0 || stderr != "" {
		t.Fatalf("openstack %s: exit %d\nstderr: %s\nstdout: %s", strings.Join(args, " "), status, stderr, stdout)
	}
	return stdout
}

// decode runs a command with -f json and decodes its output into v.
func (o osc) decode(t *testing.T, v any, args ...string) {
	t.Helper()
	out := o.run(t, append(args, "-f", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("openstack %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// serverState is what `server show` says about a server's state.
type serverState struct {
	Status string  `json:"status"`
	Task   *string `json:"OS-EXT-STS:task_state"`
}

// waitStatus polls `server show` until the server has status and no task:
// the action the CLI sent is asynchronous, as in Nova. It returns every
// state seen on the way.
func (o osc) waitStatus(t *testing.T, name, status string) []serverState {
	t.Helper()
	var seen []serverState
	deadline := time.Now().Add(time.Minute)
	for {
		var s serverState
		o.decode(t, &s, "server", "show", name, "-c", "status", "-c", "OS-EXT-STS:task_state")
		seen = append(seen, s)
		if s.Status == status && s.Task == nil {
			return seen
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never reached %s with no task; seen %+v", name, status, seen)
		}
	}
}

// startSimCommand runs `quintupleo sim` with args in-process until the test
// ends and returns the clouds.yaml it wrote.
func startSimCommand(t *testing.T, args ...string) string {
	t.Helper()
	cy := filepath.Join(t.TempDir(), "clouds.yaml")
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var stderr strings.Builder
	done := make(chan int, 1)
	go func() {
		code := run(ctx, append([]string{"sim", "--listen", "127.0.0.1:0", "--clouds-yaml", cy}, args...), pw, &stderr)
		pw.Close()
		done <- code
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("quintupleo sim: exit %d; stderr: %s", code, stderr.String())
		}
	})
	// The banner comes after the clouds.yaml is written.
	sc := bufio.NewScanner(pr)
	if !sc.Scan() {
		t.Fatalf("quintupleo sim: no banner; stderr: %s", stderr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	return cy
}

// TestOpenStackCLI drives `quintupleo sim` with the openstack CLI through the
// commands an operator runs on the nodes: list and show, power (waiting out
// the asynchronous task, as against Nova), metadata, ports, images, networks
// and flavors. Each command costs a Python start (1-2 s), so the test keeps
// to about fifteen of them.
func TestOpenStackCLI(t *testing.T) {
	o := newOSC(t, startSimCommand(t, "--nodes", "2", "--transition-delay", "500ms"), "sim")

	type listed struct {
		Name, Status, Image, Flavor string
		Networks                    map[string][]string
	}
	var list []listed
	o.decode(t, &list, "server", "list")
	slices.SortFunc(list, func(a, b listed) int { return strings.Compare(a.Name, b.Name) })
	if len(list) != 2 || list[0].Name != "node-0" || list[1].Name != "node-1" || list[0].Status != "SHUTOFF" ||
		list[0].Image != "ipxe-boot" || list[0].Flavor != "baremetal" || len(list[0].Networks["provision"]) != 1 {
		t.Fatalf("server list: %+v", list)
	}

	var show struct {
		ID         string `json:"id"`
		Status     string `json:"status"`
		PowerState int    `json:"OS-EXT-STS:power_state"`
		VMState    string `json:"OS-EXT-STS:vm_state"`
	}
	o.decode(t, &show, "server", "show", "node-0")
	if show.ID == "" || show.Status != "SHUTOFF" || show.PowerState != 4 || show.VMState != "stopped" {
		t.Fatalf("server show: %+v", show)
	}

	o.run(t, "server", "start", "node-0")
	t.Logf("after start: %+v", o.waitStatus(t, "node-0", "ACTIVE"))
	o.run(t, "server", "stop", "node-0")
	t.Logf("after stop: %+v", o.waitStatus(t, "node-0", "SHUTOFF"))

	o.run(t, "server", "set", "--property", "boot=network", "--property", "owner=ironic", "node-0")
	o.run(t, "server", "unset", "--property", "owner", "node-0")
	var props struct {
		Properties map[string]string `json:"properties"`
	}
	o.decode(t, &props, "server", "show", "node-0", "-c", "properties")
	if len(props.Properties) != 1 || props.Properties["boot"] != "network" {
		t.Fatalf("properties after set/unset: %v", props.Properties)
	}

	var ports []struct {
		Name string `json:"Name"`
		MAC  string `json:"MAC Address"`
	}
	o.decode(t, &ports, "port", "list", "--server", "node-0")
	if len(ports) != 1 || ports[0].Name != "node-0-port" || ports[0].MAC != "52:54:00:00:00:00" {
		t.Fatalf("port list --server node-0: %+v", ports)
	}

	var named []struct{ Name string }
	o.decode(t, &named, "image", "list")
	if !slices.ContainsFunc(named, func(i struct{ Name string }) bool { return i.Name == "ipxe-boot" }) {
		t.Fatalf("image list: %+v", named)
	}
	o.decode(t, &named, "network", "list")
	if len(named) != 1 || named[0].Name != "provision" {
		t.Fatalf("network list: %+v", named)
	}
	o.decode(t, &named, "flavor", "list")
	if !slices.ContainsFunc(named, func(f struct{ Name string }) bool { return f.Name == "baremetal" }) {
		t.Fatalf("flavor list: %+v", named)
	}
}
