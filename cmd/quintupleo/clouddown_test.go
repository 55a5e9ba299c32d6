package main

import (
	"context"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"quintupleo/cloudsim"
	"quintupleo/internal/stacktest"
	"quintupleo/internal/testtool"
)

// Cloud down at start (docs/reliability.md): serve starts anyway, says so,
// serves what needs no cloud, answers the rest with the libvirt error, and
// catches up when the cloud comes.

// cloudUnavailable is what every call that needs the cloud answers before
// the first listing: libvirt's VIR_ERR_OPERATION_FAILED text.
const cloudUnavailable = "operation failed: cloud unavailable: cannot authenticate with Keystone at "

// simYAMLAt is the clouds.yaml `quintupleo sim --listen addr` will serve,
// written before anything listens there (cloud "sim").
func simYAMLAt(t *testing.T, addr, password string) (path, authURL string) {
	t.Helper()
	authURL = "http://" + addr + cloudsim.IdentityPath
	path = filepath.Join(t.TempDir(), "clouds.yaml")
	testtool.WriteFile(t, path, cloudsim.CloudsYAMLAt("sim", addr, password))
	return path, authURL
}

// virshAt runs virsh against the libvirt TCP listener at addr.
func virshAt(t *testing.T, addr string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), promptly)
	defer cancel()
	cmd := exec.CommandContext(ctx, testtool.Require(t, "virsh"), append([]string{"-c", "qemu+tcp://" + addr + "/system"}, args...)...)
	return testtool.Run(t, cmd)
}

// TestServeStartsWhileTheCloudIsDown points serve at a port where nothing
// listens: it starts, warns once naming the URL, answers virsh version and
// refuses virsh list --all with the libvirt error (over TCP and through the
// SSH endpoint's virsh), Redfish answers 503 and /readyz says why. Then the
// cloud (`quintupleo sim`, a process of its own) starts on that port, and
// within a refresh interval plus the back-off every node is listed, with
// nothing restarted.
func TestServeStartsWhileTheCloudIsDown(t *testing.T) {
	testtool.Require(t, "virsh")
	testtool.Require(t, "ssh")
	var client sshClient
	var keys serveConfig
	withSSH(t, &client)(nil, &keys)
	cloudAddr := testtool.FreeAddr(t)
	yaml, authURL := simYAMLAt(t, cloudAddr, cloudsim.Password)
	auth := filepath.Join(t.TempDir(), "htpasswd")
	hash, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	testtool.WriteFile(t, auth, []byte("ironic:"+string(hash)+"\n"))
	bin := testtool.BuildQuintupleo(t)
	tcpAddr, sshAddr, rfAddr, metricsAddr := testtool.FreeAddr(t), testtool.FreeAddr(t), testtool.FreeAddr(t), testtool.FreeAddr(t)
	const refresh = 200 * time.Millisecond
	p, _ := launchServeProcess(t, bin, "serve", "--os-cloud", "sim", "--clouds-yaml", yaml, "--state-dir", t.TempDir(),
		"--listen-tcp", tcpAddr, "--listen-ssh", sshAddr, "--ssh-authorized-keys", keys.sshAuthKeys, "--ssh-host-key", keys.sshHostKey,
		"--listen-redfish", rfAddr, "--redfish-http", "--redfish-auth-file", auth, "--listen-metrics", metricsAddr,
		"--refresh-interval", refresh.String(), "--cloud-timeout", "2s")
	waitFor(t, 60*time.Second, "ready", func() bool { return strings.Contains(p.logText(), "msg=ready") })

	log := p.logText()
	if n := strings.Count(log, "cloud unavailable at start"); n != 1 {
		t.Errorf("the start-up warning is logged %d times, want once:\n%s", n, log)
	}
	for _, want := range []string{"level=WARN", "serving what it can, retrying", "url=" + authURL, "connection refused"} {
		if !strings.Contains(log, want) {
			t.Errorf("log does not say %q:\n%s", want, log)
		}
	}

	// What needs no cloud is served.
	if out, errOut, code := virshAt(t, tcpAddr, "version"); code != 0 || !strings.Contains(out, "Running hypervisor") {
		t.Errorf("virsh version: exit %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code := virshAt(t, tcpAddr, "uri"); code != 0 || !strings.Contains(out, "qemu+tcp://") {
		t.Errorf("virsh uri: exit %d\n%s%s", code, out, errOut)
	}
	// What does needs the cloud: the libvirt error, at once.
	start := time.Now()
	_, errOut, code := virshAt(t, tcpAddr, "list", "--all")
	if code != 1 || !strings.Contains(errOut, cloudUnavailable+authURL) {
		t.Errorf("virsh list --all with the cloud down: exit %d, want 1 with %q:\n%s", code, cloudUnavailable+authURL, errOut)
	}
	if took := time.Since(start); took > promptly/2 {
		t.Errorf("virsh list --all took %s to fail; the error is known and should come at once", took.Round(time.Millisecond))
	}
	ctx, cancel := context.WithTimeout(t.Context(), promptly)
	defer cancel()
	if _, errOut, code := testtool.Run(t, client.command(ctx, t, sshAddr, "virsh list --all")); code != 1 || !strings.Contains(errOut, "cloud unavailable") {
		t.Errorf("virsh list --all over SSH with the cloud down: exit %d, want 1 saying the cloud is unavailable:\n%s", code, errOut)
	}
	if status, body := httpGet(t, "http://ironic:pw@"+rfAddr+"/redfish/v1/Systems"); status != http.StatusServiceUnavailable ||
		!strings.Contains(body, "ServiceTemporarilyUnavailable") || !strings.Contains(body, "cloud") {
		t.Errorf("Redfish Systems with the cloud down: %d %s, want 503 ServiceTemporarilyUnavailable naming the cloud", status, body)
	}
	if status, body := httpGet(t, "http://"+metricsAddr+"/readyz"); status != http.StatusServiceUnavailable || !strings.Contains(body, "cannot authenticate with Keystone") {
		t.Errorf("/readyz with the cloud down: %d %q, want 503 with the reason", status, body)
	}

	// The cloud comes up.
	sim := exec.Command(bin, "sim", "--listen", cloudAddr, "--nodes", "2")
	sim.Stdout, sim.Stderr = io.Discard, io.Discard
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Process.Kill(); _ = sim.Wait() })
	up := time.Now()
	// Bound: the back-off's cap (4 s), a refresh interval, a virsh run and
	// scheduling on a shared machine.
	const bound = 4*time.Second + refresh + 4*time.Second
	var out string
	waitFor(t, bound+10*time.Second, "virsh list --all to show the nodes", func() bool {
		out, _, code = virshAt(t, tcpAddr, "list", "--all")
		return code == 0 && strings.Contains(out, "node-0") && strings.Contains(out, "node-1")
	})
	took := time.Since(up)
	t.Logf("nodes listed %s after the cloud started (bound %s)", took.Round(time.Millisecond), bound)
	if took > bound {
		t.Errorf("catching up took %s, want within %s", took.Round(time.Millisecond), bound)
	}
	// The network and storage drivers, built before the catalog was known,
	// serve once it is (cloudsim has Neutron and Cinder).
	for _, args := range [][]string{{"net-list", "--all"}, {"pool-list", "--all"}, {"vol-list", "default"}} {
		if out, errOut, code := virshAt(t, tcpAddr, args...); code != 0 {
			t.Errorf("virsh %s with the cloud up: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
	}
	if !strings.Contains(p.logText(), "cloud reachable: connected") {
		t.Errorf("the log does not say the cloud was reached:\n%s", p.logText())
	}
	if status, body := httpGet(t, "http://ironic:pw@"+rfAddr+"/redfish/v1/Systems"); status != http.StatusOK {
		t.Errorf("Redfish Systems with the cloud up: %d %s", status, body)
	}
	waitFor(t, promptly, "/readyz to say ready", func() bool {
		status, _ := httpGet(t, "http://"+metricsAddr+"/readyz")
		return status == http.StatusOK
	})
}

// TestServeFailsAtStartOnRefusedCredentials: Keystone's 401 is an answer,
// which no retry changes: serve exits 1 at once, saying so.
func TestServeFailsAtStartOnRefusedCredentials(t *testing.T) {
	sim := stacktest.StartSim(t, cloudsim.Options{Nodes: 1})
	yaml, authURL := simYAMLAt(t, strings.TrimPrefix(sim.URL(), "http://"), "wrong")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, testtool.BuildQuintupleo(t), "serve", "--os-cloud", "sim", "--clouds-yaml", yaml,
		"--listen-tcp", "127.0.0.1:0")
	out, errOut, code := testtool.Run(t, cmd)
	if code != 1 {
		t.Errorf("serve exited %d, want 1", code)
	}
	for _, want := range []string{"Keystone refused the credentials: HTTP 401", authURL} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr does not say %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(out, "serving") {
		t.Errorf("serve announced a listener with credentials Keystone refused: %q", out)
	}
}
