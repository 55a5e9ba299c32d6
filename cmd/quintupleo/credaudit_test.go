package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"quintupleo/cloudsim"
	"quintupleo/internal/testtool"
)

// TestCredentialsNeverShown runs a whole session against `serve
// --log-level debug` — virsh over TCP (list, dumpxml, define, undefine, a
// failing call), an SSH login running virsh, a define of invalid XML — once
// with a password and once with an application credential (clouds.yaml
// auth_type v3applicationcredential), and then looks for the password or
// secret, and for every token the cloud issued, in the log and stderr, in
// /proc/PID/cmdline, and in `serve --help` run with the OS_* secrets in its
// environment. A start with a wrong password must not print it either.
func TestCredentialsNeverShown(t *testing.T) {
	for _, auth := range []string{"password", "application credential"} {
		t.Run(auth, func(t *testing.T) {
			pw, secret := "pw-"+randomHex(t), "ac-"+randomHex(t)
			sim, err := cloudsim.New(cloudsim.Options{Nodes: 2, Password: pw, AppCredentialSecret: secret})
			if err != nil {
				t.Fatal(err)
			}
			if err := sim.Start("127.0.0.1:0"); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { sim.Close() })
			yaml := sim.CloudsYAML("sim")
			if auth != "password" {
				yaml = sim.CloudsYAMLAppCredential("sim")
			}
			file := filepath.Join(t.TempDir(), "clouds.yaml")
			if err := os.WriteFile(file, yaml, 0o600); err != nil {
				t.Fatal(err)
			}
			bin := testtool.BuildQuintupleo(t)
			var client sshClient
			var keys serveConfig
			withSSH(t, &client)(nil, &keys)
			p := startServeProcess(t, bin, "serve", "--os-cloud", "sim", "--clouds-yaml", file, "--log-level", "debug",
				"--listen-tcp", "127.0.0.1:0", "--listen-ssh", "127.0.0.1:0",
				"--ssh-authorized-keys", keys.sshAuthKeys, "--ssh-host-key", keys.sshHostKey, "--define-network", "provision")
			session(t, p, &client)

			cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/cmdline")
			if err != nil {
				t.Fatal(err)
			}
			help := exec.Command(bin, "serve", "--help")
			help.Env = append(os.Environ(), "OS_PASSWORD="+pw, "OS_APPLICATION_CREDENTIAL_SECRET="+secret)
			helpOut, _ := help.CombinedOutput()
			wrong := exec.Command(bin, "serve", "--os-cloud", "sim", "--clouds-yaml", wrongCredentials(t, yaml, pw, secret), "--log-level", "debug", "--listen-tcp", "127.0.0.1:0")
			wrongOut, _ := wrong.CombinedOutput()

			tokens := sim.IssuedTokens()
			if len(tokens) == 0 {
				t.Fatal("the cloud issued no token")
			}
			secrets := append([]string{pw, secret, "wrong-" + pw, "wrong-" + secret}, tokens...)
			for where, text := range map[string]string{"the log (stderr)": p.logText(), "/proc/PID/cmdline": string(cmdline),
				"serve --help": string(helpOut), "a start with wrong credentials": string(wrongOut)} {
				for _, s := range secrets {
					if strings.Contains(text, s) {
						t.Errorf("%s contains a credential %q", where, s[:8]+"…")
					}
				}
			}
			if !strings.Contains(string(wrongOut), "401") && !strings.Contains(string(wrongOut), "uthenticat") {
				t.Errorf("a start with wrong credentials does not say why:\n%s", wrongOut)
			}
			t.Logf("log of %d bytes, %d tokens looked for", len(p.logText()), len(tokens))
		})
	}
}

// session is what a user does in a day: virsh over TCP and over SSH,
// reads, a define and an undefine, calls that fail.
func session(t *testing.T, p *serveProcess, client *sshClient) {
	t.Helper()
	virsh := testtool.Require(t, "virsh")
	dir := t.TempDir()
	domXML := filepath.Join(dir, "dom.xml")
	if err := os.WriteFile(domXML, []byte("<domain type='kvm'><name>cred-audit</name><memory unit='MiB'>512</memory><vcpu>1</vcpu>"+
		"<os><type>hvm</type></os><devices><interface type='network'><source network='provision'/></interface></devices></domain>\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	badXML := filepath.Join(dir, "bad.xml")
	if err := os.WriteFile(badXML, []byte("<domain><name>x</name>"), 0o600); err != nil {
		t.Fatal(err)
	}
	uri := "qemu+tcp://" + p.libvirtAddr + "/system"
	for _, args := range [][]string{{"list", "--all"}, {"dumpxml", "node-0"}, {"define", domXML}, {"start", "cred-audit"},
		{"destroy", "cred-audit"}, {"undefine", "cred-audit"}, {"define", badXML}, {"dominfo", "no-such-domain"}, {"net-list", "--all"}} {
		ctx, cancel := context.WithTimeout(t.Context(), promptly*3)
		cmd := exec.CommandContext(ctx, virsh, append([]string{"-c", uri}, args...)...)
		cmd.Env = append(os.Environ(), "LC_ALL=C", "HOME="+t.TempDir())
		_, errOut, code := testtool.Run(t, cmd)
		cancel()
		t.Logf("virsh %s: exit %d %s", args[0], code, strings.TrimSpace(errOut))
	}
	ctx, cancel := context.WithTimeout(t.Context(), promptly)
	defer cancel()
	out, errOut, code := testtool.Run(t, client.command(ctx, t, p.sshAddr, "virsh list --all; virsh dominfo nope"))
	if code == 0 || !strings.Contains(out, "node-0") {
		t.Errorf("ssh session: exit %d\n%s%s", code, out, errOut)
	}
}

// wrongCredentials is a clouds.yaml like yaml with a wrong password and
// secret, which serve must refuse without printing them.
func wrongCredentials(t *testing.T, yaml []byte, pw, secret string) string {
	t.Helper()
	s := strings.ReplaceAll(strings.ReplaceAll(string(yaml), pw, "wrong-"+pw), secret, "wrong-"+secret)
	file := filepath.Join(t.TempDir(), "clouds.yaml")
	if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

func randomHex(t *testing.T) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
