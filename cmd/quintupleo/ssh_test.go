package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"quintupleo/cloudsim"
	"quintupleo/internal/testtool"
)

// sshClient is an OpenSSH client identity authorised on an env's SSH endpoint.
type sshClient struct {
	key string
}

func withSSH(t *testing.T, client *sshClient) envOption {
	t.Helper()
	dir, authKeys := newSSHClient(t, client)
	return func(_ *cloudsim.Options, c *serveConfig) {
		c.listenSSH = "127.0.0.1:0"
		c.sshAuthKeys = authKeys
		c.sshHostKey = filepath.Join(dir, "ssh_host_keys")
	}
}

// newSSHClient makes an ed25519 key for client and an authorized_keys file
// listing it, in a new directory it returns with the file's path.
func newSSHClient(t *testing.T, client *sshClient) (dir, authKeys string) {
	t.Helper()
	testtool.Require(t, "ssh-keygen")
	dir = t.TempDir()
	client.key = filepath.Join(dir, "id_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", client.key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(client.key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	authKeys = filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(authKeys, pub, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, authKeys
}

// ssh runs one command line through the real OpenSSH client, as Ironic's
// driver runs its virsh lines (user "stack", a libvirt host's usual account).
func (e *env) ssh(t *testing.T, c *sshClient, line string) (string, string, int) {
	t.Helper()
	return testtool.Run(t, c.command(t.Context(), t, e.st.sshLn.Addr().String(), line))
}

// command is the OpenSSH command line running line on the SSH endpoint at
// addr (127.0.0.1:PORT).
func (c *sshClient) command(ctx context.Context, t *testing.T, addr, line string) *exec.Cmd {
	t.Helper()
	_, port, _ := strings.Cut(addr, ":")
	return c.commandAt(ctx, testtool.Require(t, "ssh"), port, line)
}

// commandAt is command with the ssh binary and the endpoint's port given,
// for callers without a *testing.T at hand.
func (c *sshClient) commandAt(ctx context.Context, bin, port, line string) *exec.Cmd {
	return exec.CommandContext(ctx, bin, "-i", c.key, "-p", port, "-T",
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
		"stack@127.0.0.1", line)
}

// TestServeSSHEndpoint drives `quintupleo serve --listen-ssh` with OpenSSH:
// the Ironic power-on sequence, and the same command over SSH and over TCP
// printing the same bytes.
func TestServeSSHEndpoint(t *testing.T) {
	var client sshClient
	e := startEnv(t, withSSH(t, &client))
	base := "LC_ALL=C /usr/bin/virsh --connect qemu:///system "

	out, _, code := e.ssh(t, &client, base+"list --all --name")
	if code != 0 || !slices.Equal(names(out), []string{"node-0", "node-1", "node-2", "node-3", "node-4"}) {
		t.Fatalf("list --all --name over ssh: exit %d, %q", code, out)
	}
	out, _, code = e.ssh(t, &client, base+`dumpxml node-2 | awk -F "'" '/mac address/{print $2}'| tr -d ':'`)
	if code != 0 || out != "525400000002\n" {
		t.Errorf("Ironic MAC pipeline: exit %d, %q", code, out)
	}
	if _, errOut, code := e.ssh(t, &client, base+"start node-2"); code != 0 {
		t.Fatalf("start over ssh: exit %d, %s", code, errOut)
	}
	if out, _, _ := e.ssh(t, &client, base+"list --name"); !slices.Equal(names(out), []string{"node-2"}) {
		t.Errorf("list --name after start over ssh = %q", out)
	}
	for _, cmd := range []string{"list --all", "dominfo node-2", "dumpxml node-2", "domiflist node-2", "domstate --reason node-2"} {
		viaSSH, _, _ := e.ssh(t, &client, base+cmd)
		viaTCP := e.mustVirsh(t, strings.Fields(cmd)...)
		if viaSSH != viaTCP {
			t.Errorf("%s differs:\nssh:\n%s\ntcp:\n%s", cmd, viaSSH, viaTCP)
		}
	}
	if _, _, code := e.ssh(t, &client, "cat /etc/shadow"); code == 0 {
		t.Error("cat /etc/shadow over ssh succeeded")
	}
}
