package rpc_test

import (
	"crypto/x509/pkix"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"quintupleo/internal/testtool"
	"quintupleo/rpc"
)

// TestVirshOverTLSRefusesRevokedCertificates: a client certificate the
// CA's revocation list (libvirt's cacrl.pem) revokes is refused in the
// handshake, others of the same CA are served, and a CRL re-read (SIGHUP)
// revokes from the next handshake on.
func TestVirshOverTLSRefusesRevokedCertificates(t *testing.T) {
	testtool.Require(t, "virsh")
	ca := testtool.NewCA(t, "test CA")
	var logs testtool.LogBuffer
	srv := rpc.NewServer(drivers(newFakeDomains()), rpc.WithLogger(logs.Logger()))
	t.Cleanup(func() { srv.Close() })

	adminCert, adminKey := ca.Issue(t, testtool.CertSpec{Subject: adminDN})
	goneDN := pkix.Name{Country: []string{"GB"}, Organization: []string{"Example"}, CommonName: "former"}
	goneCert, goneKey := ca.Issue(t, testtool.CertSpec{Subject: goneDN})
	admin := testtool.ClientPKI(t, ca.PEM, adminCert, adminKey)
	gone := testtool.ClientPKI(t, ca.PEM, goneCert, goneKey)

	dir := t.TempDir()
	cert, key := ca.Issue(t, testtool.CertSpec{Server: true, Subject: pkix.Name{CommonName: "localhost"}})
	files := rpc.TLSFiles{Cert: filepath.Join(dir, "servercert.pem"), Key: filepath.Join(dir, "serverkey.pem"),
		CA: filepath.Join(dir, "cacert.pem"), CRL: filepath.Join(dir, "cacrl.pem")}
	testtool.WriteFile(t, files.Cert, cert)
	testtool.WriteFile(t, files.Key, key)
	testtool.WriteFile(t, files.CA, ca.PEM)
	testtool.WriteFile(t, files.CRL, ca.RevocationList(t, 1, testtool.Serial(t, goneCert)))
	creds, err := rpc.LoadTLSCredentials(files)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := rpc.ListenTLS("127.0.0.1:0", creds.ServerConfig(rpc.TLSAccess{}))
	if err != nil {
		t.Fatal(err)
	}
	port := serveOn(t, srv, ln, rpc.TLSAccess{}.Policy(testLogger(t)))

	const refused = "error: failed to connect to the hypervisor\nerror: Unable to read TLS confirmation: Input/output error\n"
	if out, errOut, code := virshTLS(t, port, admin, "list", "--all", "--name"); code != 0 || out != "node-0\nnode-1\nnode-2\n\n" {
		t.Fatalf("a certificate the CRL does not revoke: exit %d, %q, %s", code, out, errOut)
	}
	if out, errOut, code := virshTLS(t, port, gone, "list", "--all", "--name"); code != 1 || out != "" || errOut != refused {
		t.Errorf("a revoked certificate: exit %d, %q, %q", code, out, errOut)
	}
	logs.WaitFor(t, `client certificate revoked by the CA's certificate revocation list: \"C=GB,O=Example,CN=former\"`)

	// The next CRL revokes admin too: re-read, it applies to new handshakes.
	testtool.WriteFile(t, files.CRL, ca.RevocationList(t, 2, testtool.Serial(t, goneCert), testtool.Serial(t, adminCert)))
	if err := creds.Reload(); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := virshTLS(t, port, admin, "list", "--all", "--name"); code != 1 || errOut != refused {
		t.Errorf("admin after its revocation was re-read: exit %d, %q, %q", code, out, errOut)
	}
}

// TestTLSRevocationListFiles: what the CRL file may be. libvirt's default
// path may be missing; a path named on purpose must exist; a list another
// CA signed, or a file with no CRL in it, revokes nothing and is refused
// rather than ignored.
func TestTLSRevocationListFiles(t *testing.T) {
	ca, other := testtool.NewCA(t, "test CA"), testtool.NewCA(t, "other CA")
	dir := t.TempDir()
	cert, key := ca.Issue(t, testtool.CertSpec{Server: true, Subject: pkix.Name{CommonName: "localhost"}})
	base := rpc.TLSFiles{Cert: filepath.Join(dir, "servercert.pem"), Key: filepath.Join(dir, "serverkey.pem"), CA: filepath.Join(dir, "cacert.pem")}
	testtool.WriteFile(t, base.Cert, cert)
	testtool.WriteFile(t, base.Key, key)
	testtool.WriteFile(t, base.CA, ca.PEM)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	missing := filepath.Join(dir, "no-such-crl.pem")
	for _, c := range []struct {
		what     string
		crl      string
		optional bool
		want     string // "" = loads
	}{
		{"none", "", false, ""},
		{"missing, libvirt's default", missing, true, ""},
		{"missing, named", missing, false, "no such file"},
		{"the CA's", write("ok.pem", ca.RevocationList(t, 1)), false, ""},
		{"another CA's", write("other.pem", other.RevocationList(t, 1)), false, "not signed by a CA certificate"},
		{"no CRL in it", write("cert.pem", ca.PEM), false, "no PEM X509 CRL"},
		{"damaged", write("bad.pem", []byte("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n")), false, "revocation list"},
	} {
		f := base
		f.CRL, f.CRLOptional = c.crl, c.optional
		_, err := rpc.LoadTLSCredentials(f)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.what, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want an error with %q", c.what, err, c.want)
		}
	}
}
