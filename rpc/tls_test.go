package rpc_test

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"

	"quintupleo/internal/testtool"
	"quintupleo/rpc"
)

// tlsServer serves srv on a loopback TLS listener whose server certificate
// ca signed, admitting clients by access, and returns its port.
func tlsServer(t *testing.T, srv *rpc.Server, ca *testtool.CA, access rpc.TLSAccess) string {
	t.Helper()
	dir := t.TempDir()
	cert, key := ca.Issue(t, testtool.CertSpec{Server: true, Subject: pkix.Name{CommonName: "localhost"}})
	files := rpc.TLSFiles{Cert: filepath.Join(dir, "servercert.pem"), Key: filepath.Join(dir, "serverkey.pem"), CA: filepath.Join(dir, "cacert.pem")}
	testtool.WriteFile(t, files.Cert, cert)
	testtool.WriteFile(t, files.Key, key)
	testtool.WriteFile(t, files.CA, ca.PEM)
	creds, err := rpc.LoadTLSCredentials(files)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := rpc.ListenTLS("127.0.0.1:0", creds.ServerConfig(access))
	if err != nil {
		t.Fatal(err)
	}
	return serveOn(t, srv, ln, access.Policy(testLogger(t)))
}

// virshTLS runs the real virsh over qemu+tls:// with the client files in
// pkipath.
func virshTLS(t *testing.T, port, pkipath string, args ...string) (string, string, int) {
	t.Helper()
	bin := testtool.Require(t, "virsh")
	uri := "qemu+tls://127.0.0.1:" + port + "/system?pkipath=" + pkipath
	cmd := exec.CommandContext(t.Context(), bin, append([]string{"-c", uri}, args...)...)
	cmd.Env = append(cmd.Environ(), "LC_ALL=C", "VIRSH_DEFAULT_CONNECT_URI=", "LIBVIRT_DEFAULT_URI=", "HOME="+t.TempDir())
	return testtool.Run(t, cmd)
}

var (
	adminDN  = pkix.Name{Country: []string{"GB"}, Organization: []string{"Example"}, CommonName: "admin"}
	viewerDN = pkix.Name{Country: []string{"GB"}, Organization: []string{"Example"}, CommonName: "viewer"}
	otherDN  = pkix.Name{Country: []string{"FR"}, Organization: []string{"Other"}, CommonName: "intruder"}
)

// TestVirshOverTLS is issue 14's TLS listener with the real virsh: a client
// with a certificate the CA signed and a DN on the list connects and can
// change things; a DN on the read-only list reads but changes nothing; no
// certificate, one from another CA, or a DN on neither list is refused in
// the handshake and logged, and the others are unaffected.
func TestVirshOverTLS(t *testing.T) {
	testtool.Require(t, "virsh")
	ca := testtool.NewCA(t, "test CA")
	var logs testtool.LogBuffer
	srv := rpc.NewServer(drivers(newFakeDomains()), rpc.WithLogger(logs.Logger()))
	t.Cleanup(func() { srv.Close() })
	port := tlsServer(t, srv, ca, rpc.TLSAccess{AllowedDN: []string{"C=GB,O=Example,CN=admin"}, ReadOnlyDN: []string{"C=GB,O=Example,CN=view*"}})

	admin := clientPKI(t, ca.PEM, ca, testtool.CertSpec{Subject: adminDN})
	viewer := clientPKI(t, ca.PEM, ca, testtool.CertSpec{Subject: viewerDN})

	if out, errOut, code := virshTLS(t, port, admin, "list", "--all", "--name"); code != 0 || out != "node-0\nnode-1\nnode-2\n\n" {
		t.Fatalf("admin list: exit %d, %q, %s", code, out, errOut)
	}
	if out, errOut, code := virshTLS(t, port, admin, "start", "node-1"); code != 0 || !strings.Contains(out, "Domain 'node-1' started") {
		t.Errorf("admin start: exit %d, %q, %s", code, out, errOut)
	}
	if out, _, code := virshTLS(t, port, viewer, "list", "--all", "--name"); code != 0 || out != "node-0\nnode-1\nnode-2\n\n" {
		t.Errorf("viewer list: exit %d, %q", code, out)
	}
	for _, args := range [][]string{{"destroy", "node-1"}, {"suspend", "node-0"}} {
		_, errOut, code := virshTLS(t, port, viewer, args...)
		if code != 1 || !strings.Contains(errOut, "error: operation forbidden: read only access prevents virDomain") {
			t.Errorf("viewer %v: exit %d, %q", args, code, errOut)
		}
	}

	other := testtool.NewCA(t, "other CA")
	refused := map[string]string{
		"no certificate": testtool.ClientPKI(t, ca.PEM, nil, nil),
		// The client trusts both CAs (so its own checks pass) and shows
		// the other one's certificate.
		"another CA":        clientPKI(t, append(append([]byte{}, ca.PEM...), other.PEM...), other, testtool.CertSpec{Subject: adminDN}),
		"a DN not listed":   clientPKI(t, ca.PEM, ca, testtool.CertSpec{Subject: otherDN}),
		"a near-miss DN":    clientPKI(t, ca.PEM, ca, testtool.CertSpec{Subject: pkix.Name{Country: []string{"GB"}, Organization: []string{"Example"}, CommonName: "admin2"}}),
		"DN order reversed": clientPKI(t, ca.PEM, ca, testtool.CertSpec{Subject: reversed(adminDN)}),
	}
	for what, pki := range refused {
		// What virsh says when libvirtd closes the connection instead of
		// confirming the certificate; here the alert comes first.
		out, errOut, code := virshTLS(t, port, pki, "list", "--all", "--name")
		if code != 1 || out != "" || errOut != "error: failed to connect to the hypervisor\nerror: Unable to read TLS confirmation: Input/output error\n" {
			t.Errorf("%s: virsh: exit %d, %q, %q", what, code, out, errOut)
		}
	}
	// GnuTLS does not send a certificate the server's CA list does not
	// name: the other CA's client arrives with none.
	for _, want := range []string{"client didn't provide a certificate",
		`not on the list of allowed clients (tls_allowed_dn_list): \"C=FR,O=Other,CN=intruder\"`,
		`not on the list of allowed clients (tls_allowed_dn_list): \"CN=admin,O=Example,C=GB\"`} {
		logs.WaitFor(t, want)
	}
	if out, _, code := virshTLS(t, port, admin, "domstate", "node-1"); code != 0 || out != "running\n\n" {
		t.Errorf("admin after the refusals: exit %d, %q", code, out)
	}
}

// TestTLSRefusesWhatVirshWouldNotSend uses Go's TLS client for the
// certificates virsh's own library will not present: an expired one, and one
// from a CA the server does not name. Each gets an alert and a log line.
func TestTLSRefusesWhatVirshWouldNotSend(t *testing.T) {
	ca := testtool.NewCA(t, "test CA")
	var logs testtool.LogBuffer
	srv := rpc.NewServer(drivers(newFakeDomains()), rpc.WithLogger(logs.Logger()))
	t.Cleanup(func() { srv.Close() })
	port := tlsServer(t, srv, ca, rpc.TLSAccess{})
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.PEM)

	for _, tc := range []struct {
		what          string
		issuer        *testtool.CA
		spec          testtool.CertSpec
		alert, logged string
	}{
		{"expired", ca, testtool.CertSpec{Subject: adminDN, NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)},
			"remote error: tls: expired certificate", "certificate has expired"},
		{"another CA", testtool.NewCA(t, "other CA"), testtool.CertSpec{Subject: adminDN},
			"remote error: tls: unknown certificate authority", "certificate signed by unknown authority"},
	} {
		cert, key := tc.issuer.Issue(t, tc.spec)
		pair, err := tls.X509KeyPair(cert, key)
		if err != nil {
			t.Fatal(err)
		}
		c, err := tls.Dial("tcp", "127.0.0.1:"+port, &tls.Config{RootCAs: roots, ServerName: "localhost",
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &pair, nil }})
		if err == nil {
			// TLS 1.3: the client's side of the handshake ends before the
			// server has checked its certificate; the alert comes on read.
			_, err = c.Read(make([]byte, 1))
			c.Close()
		}
		if err == nil || !strings.Contains(err.Error(), tc.alert) {
			t.Errorf("%s: %v, want %q", tc.what, err, tc.alert)
		}
		logs.WaitFor(t, tc.logged)
	}
}

// TestConnectIsSecureOverTLS: libvirtd's drivers answer 1 whatever the
// transport (the client ANDs in its own view of the transport), and so do
// we, over TLS as over TCP (rpc/golibvirt_test.go) and unix.
func TestConnectIsSecureOverTLS(t *testing.T) {
	ca := testtool.NewCA(t, "test CA")
	port := tlsServer(t, newServer(t, drivers(newFakeDomains())), ca, rpc.TLSAccess{})
	pki := clientPKI(t, ca.PEM, ca, testtool.CertSpec{Subject: adminDN})
	l := libvirt.NewWithDialer(dialers.NewTLS("127.0.0.1", dialers.UseTLSPort(port), dialers.UsePKIPath(pki)))
	if err := l.ConnectToURI(libvirt.QEMUSystem); err != nil {
		t.Fatal(err)
	}
	defer l.Disconnect()
	if secure, err := l.ConnectIsSecure(); err != nil || secure != 1 {
		t.Errorf("CONNECT_IS_SECURE over TLS = %d, %v; want 1", secure, err)
	}
}

// TestCertDNAsLibvirtSees checks CertDN against libvirt's own tool, which
// prints the DN as libvirtd matches it (gnutls_x509_crt_get_dn), on the
// shapes that trip other formatters: several values in one RDN, characters
// to escape, leading and trailing spaces, names GnuTLS abbreviates, OIDs it
// does not know, a string type it does not expect, and non-ASCII text.
func TestCertDNAsLibvirtSees(t *testing.T) {
	tool := testtool.Require(t, "virt-pki-query-dn")
	ca := testtool.NewCA(t, "test CA")
	oid := func(ids ...int) asn1.ObjectIdentifier { return ids }
	for _, name := range []pkix.Name{
		{Country: []string{"GB"}, Province: []string{"London"}, Locality: []string{"London"}, Organization: []string{"Red Hat"}, CommonName: "client1"},
		{CommonName: `a,b+c"d\e<f>g;h`, Organization: []string{" lead", "trail ", "#hash"}},
		{OrganizationalUnit: []string{"ünïcode = é", "x=y"}, SerialNumber: "SN1", StreetAddress: []string{"1 Main St"}, PostalCode: []string{"AB1 2CD"}},
		{ExtraNames: []pkix.AttributeTypeAndValue{
			{Type: oid(1, 2, 840, 113549, 1, 9, 1), Value: "x@y.z"},                       // EMAIL, as UTF8String: GnuTLS wants IA5
			{Type: oid(0, 9, 2342, 19200300, 100, 1, 25), Value: "example"},               // DC, as PrintableString
			{Type: oid(0, 9, 2342, 19200300, 100, 1, 1), Value: "uid1"},                   // UID
			{Type: oid(1, 2, 3, 4), Value: "unknown"},                                     // an OID GnuTLS does not know
			{Type: oid(2, 5, 4, 12), Value: "Dr"}, {Type: oid(2, 5, 4, 42), Value: "Ann"}, // title, givenName
		}},
	} {
		certPEM, _ := ca.Issue(t, testtool.CertSpec{Subject: name})
		path := filepath.Join(t.TempDir(), "cert.pem")
		testtool.WriteFile(t, path, certPEM)
		want, errOut, code := testtool.Run(t, exec.CommandContext(t.Context(), tool, path))
		if code != 0 {
			t.Fatalf("virt-pki-query-dn: exit %d: %s", code, errOut)
		}
		cert, err := x509.ParseCertificate(pemBytes(t, certPEM))
		if err != nil {
			t.Fatal(err)
		}
		got, err := rpc.CertDN(cert)
		if err != nil || got != strings.TrimSuffix(want, "\n") {
			t.Errorf("CertDN = %q, %v\n    libvirt's %q", got, err, strings.TrimSuffix(want, "\n"))
		}
	}
}

// TestMatchDN is GLib's g_pattern_match_simple, which libvirtd applies to
// tls_allowed_dn_list: '*' and '?' only; no character classes or escapes.
func TestMatchDN(t *testing.T) {
	const dn = "C=GB,ST=London,L=London,O=Red Hat,CN=client1"
	for _, tc := range []struct {
		pattern string
		want    bool
	}{
		{dn, true},
		{"C=GB,ST=London,L=London,O=Red Hat,CN=*", true}, // libvirtd.conf's example
		{"*", true},
		{"*CN=client1", true},
		{"C=GB,*,CN=client?", true},
		{"C=GB,*,CN=client", false},
		{"C=GB,*,CN=client??", false},
		{"c=gb,*", false},             // case matters
		{"C=GB,ST=London", false},     // the whole DN must match
		{"C=GB,ST=London*", true},     //
		{"*Red Hat*", true},           //
		{"C=GB,ST=Lon[dx]on*", false}, // '[' is itself
		{`C=GB\,*`, false},            // '\' is itself
		{"**CN=client1**", true},
		{"C=GB,ST=London,L=London,O=Red Hat,CN=client1?", false},
		{"", false},
	} {
		if got := rpc.MatchDN(tc.pattern, dn); got != tc.want {
			t.Errorf("MatchDN(%q) = %v, want %v", tc.pattern, got, tc.want)
		}
	}
	if !rpc.MatchDN("CN=?", "CN=é") || rpc.MatchDN("CN=??", "CN=é") {
		t.Errorf("'?' must match one character, not one byte")
	}
	if !rpc.MatchDN("CN=a*", `CN=a\*b`) || !rpc.MatchDN("", "") {
		t.Errorf("MatchDN edge cases")
	}
}

func reversed(n pkix.Name) pkix.Name {
	seq := n.ToRDNSequence()
	for i, j := 0, len(seq)-1; i < j; i, j = i+1, j-1 {
		seq[i], seq[j] = seq[j], seq[i]
	}
	var out pkix.Name
	for _, rdn := range seq {
		out.ExtraNames = append(out.ExtraNames, rdn...)
	}
	return out
}

// clientPKI is a virsh pkipath trusting trust, with a client certificate
// issuer signs for spec.
func clientPKI(t *testing.T, trust []byte, issuer *testtool.CA, spec testtool.CertSpec) string {
	t.Helper()
	cert, key := issuer.Issue(t, spec)
	return testtool.ClientPKI(t, trust, cert, key)
}

// pemBytes is the DER of the first PEM block.
func pemBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatal("no PEM block")
	}
	return blk.Bytes
}

// TestTLSHandshakeDeadlineAndCaps: a client that connects and never says
// hello is dropped at the handshake deadline, and stalled handshakes count
// in the caps of unopened connections (the oldest is closed for a new one),
// so they cannot keep a certificate holder out.
func TestTLSHandshakeDeadlineAndCaps(t *testing.T) {
	ca := testtool.NewCA(t, "test CA")
	var logs testtool.LogBuffer
	srv := rpc.NewServer(drivers(newFakeDomains()), rpc.WithLogger(logs.Logger()),
		rpc.WithHandshakeTimeout(300*time.Millisecond), rpc.WithMaxAnonymousClients(2), rpc.WithOpenTimeout(time.Minute))
	t.Cleanup(func() { srv.Close() })
	port := tlsServer(t, srv, ca, rpc.TLSAccess{})

	dial := func() net.Conn {
		c, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	start := time.Now()
	stalled := dial()
	stalled.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := stalled.Read(make([]byte, 1)); err == nil || os.IsTimeout(err) {
		t.Errorf("stalled handshake: read %v, want the server to close", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("stalled handshake closed after %v, want about 300ms", took)
	}
	logs.WaitFor(t, "TLS handshake: context deadline exceeded")

	// Two stalled handshakes fill the unopened slots of a server that would
	// wait a minute for them; a real client still gets in, pushing out the
	// oldest.
	srv = rpc.NewServer(drivers(newFakeDomains()), rpc.WithLogger(logs.Logger()),
		rpc.WithHandshakeTimeout(time.Minute), rpc.WithMaxAnonymousClients(2), rpc.WithOpenTimeout(time.Minute))
	t.Cleanup(func() { srv.Close() })
	port = tlsServer(t, srv, ca, rpc.TLSAccess{})
	first, _ := dial(), dial()
	time.Sleep(100 * time.Millisecond) // both accepted
	pki := clientPKI(t, ca.PEM, ca, testtool.CertSpec{Subject: adminDN})
	l := libvirt.NewWithDialer(dialers.NewTLS("127.0.0.1", dialers.UseTLSPort(port), dialers.UsePKIPath(pki)))
	if err := l.ConnectToURI(libvirt.QEMUSystem); err != nil {
		t.Fatalf("a client behind two stalled handshakes: %v", err)
	}
	defer l.Disconnect()
	first.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := first.Read(make([]byte, 1)); err == nil || os.IsTimeout(err) {
		t.Errorf("oldest stalled handshake: read %v, want it closed for the newcomer", err)
	}
}
