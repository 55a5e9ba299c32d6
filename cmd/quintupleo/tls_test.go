package main

import (
	"crypto/x509/pkix"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"quintupleo/internal/testtool"
)

var tlsListenerLog = regexp.MustCompile(`msg="libvirt TLS listener" addr=(\S+)`)

// tlsServerFiles writes a server certificate ca signed, its key and ca's
// certificate where serve reads them.
func tlsServerFiles(t *testing.T, dir string, ca *testtool.CA) {
	t.Helper()
	cert, key := ca.Issue(t, testtool.CertSpec{Server: true, Subject: pkix.Name{CommonName: "localhost"}})
	// Replaced by rename, as an operator's tooling does, so serve never
	// reads half a file.
	for name, b := range map[string][]byte{"servercert.pem": cert, "serverkey.pem": key, "cacert.pem": ca.PEM} {
		testtool.WriteFile(t, filepath.Join(dir, name+".new"), b)
		if err := os.Rename(filepath.Join(dir, name+".new"), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestServeOverTLSReloadsOnSIGHUP runs the real process with a TLS listener
// and the real virsh: DNs on the allow-list connect read-write, read-only
// DNs read; after the certificate files are replaced (a new CA) and SIGHUP
// sent, a connection made before — a `virsh event --loop` — still gets its
// events, new connections get the new certificate, and clients of the old
// CA are refused. A SIGHUP with broken files keeps the certificates in use.
// tlsAddrOnceReady is the address of p's TLS listener once p is ready.
func tlsAddrOnceReady(t *testing.T, p *serveProcess) string {
	t.Helper()
	var addr string
	waitFor(t, 60*time.Second, "the TLS listener's log line", func() bool {
		m := tlsListenerLog.FindStringSubmatch(p.logText())
		if m != nil {
			addr = m[1]
		}
		return m != nil && strings.Contains(p.logText(), "msg=ready")
	})
	return addr
}

func TestServeOverTLSReloadsOnSIGHUP(t *testing.T) {
	virsh := testtool.Require(t, "virsh")
	dir := t.TempDir()
	ca := testtool.NewCA(t, "first CA")
	tlsServerFiles(t, dir, ca)
	admin := pkix.Name{Country: []string{"GB"}, Organization: []string{"Example"}, CommonName: "admin"}
	viewer := pkix.Name{Country: []string{"GB"}, Organization: []string{"Example"}, CommonName: "viewer"}
	p, _ := launchServeProcess(t, testtool.BuildQuintupleo(t), "serve", "--demo", "--listen-tcp=", "--listen-tls", "127.0.0.1:0",
		"--tls-cert", filepath.Join(dir, "servercert.pem"), "--tls-key", filepath.Join(dir, "serverkey.pem"), "--tls-ca", filepath.Join(dir, "cacert.pem"),
		"--tls-allowed-dn", "C=GB,O=Example,CN=admin", "--tls-read-only-dn", "C=GB,O=Example,CN=view*")
	addr := tlsAddrOnceReady(t, p)
	pki := func(ca *testtool.CA, dn pkix.Name) string {
		cert, key := ca.Issue(t, testtool.CertSpec{Subject: dn})
		return testtool.ClientPKI(t, ca.PEM, cert, key)
	}
	command := func(pkipath string, args ...string) *exec.Cmd {
		cmd := exec.CommandContext(t.Context(), virsh, append([]string{"-c", "qemu+tls://" + addr + "/system?pkipath=" + pkipath}, args...)...)
		cmd.Env = append(os.Environ(), "LC_ALL=C", "HOME="+t.TempDir())
		return cmd
	}
	run := func(pkipath string, args ...string) (string, string, int) {
		return testtool.Run(t, command(pkipath, args...))
	}
	oldAdmin := pki(ca, admin)

	if out, errOut, code := run(oldAdmin, "list", "--all", "--name"); code != 0 || !strings.Contains(out, "node-0") {
		t.Fatalf("admin list over TLS: exit %d, %q, %s", code, out, errOut)
	}
	if _, errOut, code := run(pki(ca, viewer), "start", "node-1"); code != 1 || !strings.Contains(errOut, "read only access prevents virDomainCreate") {
		t.Errorf("viewer start: exit %d, %q", code, errOut)
	}

	// A connection made before the reload.
	var events testtool.LogBuffer
	loop := command(oldAdmin, "event", "--all", "--loop")
	loop.Stdout = &events
	if err := loop.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { loop.Process.Kill(); loop.Wait() })
	time.Sleep(500 * time.Millisecond) // registered (virsh prints nothing until an event)

	// Broken files: the reload fails, the old certificates stay.
	testtool.WriteFile(t, filepath.Join(dir, "servercert.pem"), []byte("not a certificate"))
	p.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, promptly, "the failed reload's log line", func() bool {
		return strings.Contains(p.logText(), "TLS certificates not reloaded; the previous ones stay in use")
	})
	if _, errOut, code := run(oldAdmin, "domstate", "node-0"); code != 0 {
		t.Errorf("after a failed reload: exit %d, %s", code, errOut)
	}

	newCA := testtool.NewCA(t, "second CA")
	tlsServerFiles(t, dir, newCA)
	p.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, promptly, "the reload's log line", func() bool { return strings.Contains(p.logText(), `msg="TLS certificates reloaded"`) })

	if _, errOut, code := run(oldAdmin, "list"); code == 0 {
		t.Errorf("a client of the old CA still connects after the reload")
	} else {
		t.Logf("old CA's client after the reload: %s", strings.TrimSpace(errOut))
	}
	if out, errOut, code := run(pki(newCA, admin), "start", "node-1"); code != 0 || !strings.Contains(out, "Domain 'node-1' started") {
		t.Fatalf("new CA's admin start: exit %d, %q, %s", code, out, errOut)
	}
	waitFor(t, promptly, "the old connection's lifecycle event for node-1", func() bool {
		return strings.Contains(events.String(), "event 'lifecycle' for domain 'node-1': Started")
	})
	if loop.ProcessState != nil {
		t.Errorf("the connection made before the reload ended: %v", loop.ProcessState)
	}
}

// TestServeOverTLSRefusesRevokedCertificates runs the real process with
// --tls-crl: a client certificate the CRL revokes is refused, and a new CRL
// read on SIGHUP revokes from the next connection on.
func TestServeOverTLSRefusesRevokedCertificates(t *testing.T) {
	virsh := testtool.Require(t, "virsh")
	dir := t.TempDir()
	ca := testtool.NewCA(t, "CA")
	tlsServerFiles(t, dir, ca)
	adminCert, adminKey := ca.Issue(t, testtool.CertSpec{Subject: pkix.Name{CommonName: "admin"}})
	goneCert, goneKey := ca.Issue(t, testtool.CertSpec{Subject: pkix.Name{CommonName: "former"}})
	crl := filepath.Join(dir, "cacrl.pem")
	testtool.WriteFile(t, crl, ca.RevocationList(t, 1, testtool.Serial(t, goneCert)))
	p, _ := launchServeProcess(t, testtool.BuildQuintupleo(t), "serve", "--demo", "--listen-tcp=", "--listen-tls", "127.0.0.1:0",
		"--tls-cert", filepath.Join(dir, "servercert.pem"), "--tls-key", filepath.Join(dir, "serverkey.pem"),
		"--tls-ca", filepath.Join(dir, "cacert.pem"), "--tls-crl", crl)
	addr := tlsAddrOnceReady(t, p)
	run := func(cert, key []byte) (string, string, int) {
		cmd := exec.CommandContext(t.Context(), virsh, "-c", "qemu+tls://"+addr+"/system?pkipath="+testtool.ClientPKI(t, ca.PEM, cert, key), "list", "--all", "--name")
		cmd.Env = append(os.Environ(), "LC_ALL=C", "HOME="+t.TempDir())
		return testtool.Run(t, cmd)
	}
	if out, errOut, code := run(adminCert, adminKey); code != 0 || !strings.Contains(out, "node-0") {
		t.Fatalf("admin: exit %d, %q, %s", code, out, errOut)
	}
	if out, errOut, code := run(goneCert, goneKey); code == 0 || strings.Contains(out, "node-0") {
		t.Errorf("a revoked certificate: exit %d, %q, %s", code, out, errOut)
	}
	waitFor(t, promptly, "the refusal's log line", func() bool {
		return strings.Contains(p.logText(), "client certificate revoked by the CA's certificate revocation list")
	})
	testtool.WriteFile(t, crl, ca.RevocationList(t, 2, testtool.Serial(t, goneCert), testtool.Serial(t, adminCert)))
	p.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, promptly, "the reload's log line", func() bool { return strings.Contains(p.logText(), `msg="TLS certificates reloaded"`) })
	if out, errOut, code := run(adminCert, adminKey); code == 0 {
		t.Errorf("admin after its revocation was re-read: exit %d, %q, %s", code, out, errOut)
	}
}
