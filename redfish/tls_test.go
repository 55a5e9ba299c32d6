package redfish_test

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"quintupleo/cloudsim"
	"quintupleo/internal/stack"
	"quintupleo/internal/stacktest"
	"quintupleo/internal/testtool"
	"quintupleo/nodes"
	"quintupleo/rpc"
)

// HTTPS with the libvirt TLS listener's certificate options: the server's
// certificate verifies against the CA, and no client certificate is asked
// for (Redfish clients log in with a password).
func TestHTTPS(t *testing.T) {
	ca := testtool.NewCA(t, "Test CA")
	cert, key := ca.Issue(t, testtool.CertSpec{Server: true})
	dir := t.TempDir()
	files := rpc.TLSFiles{Cert: filepath.Join(dir, "cert.pem"), Key: filepath.Join(dir, "key.pem"), CA: filepath.Join(dir, "ca.pem")}
	testtool.WriteFile(t, files.Cert, cert)
	testtool.WriteFile(t, files.Key, key)
	testtool.WriteFile(t, files.CA, ca.PEM)
	e := newEnvWith(t, cloudsim.Options{Nodes: 1}, func(c *stack.RedfishConfig) { c.PlainHTTP, c.TLS = false, files })
	if !strings.HasPrefix(e.url, "https://") {
		t.Fatalf("URL %s", e.url)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.PEM)
	e.transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	if r := e.get(t, e.systemPath(t, "node-0")); r.status != 200 || r.body["Name"] != "node-0" {
		t.Errorf("GET over HTTPS: %d %s", r.status, r.raw)
	}
	// Plain HTTP on the HTTPS port is refused by the TLS handshake.
	resp, err := http.Get(strings.Replace(e.url, "https://", "http://", 1) + "/redfish/v1/")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plain HTTP was served on the HTTPS listener")
		}
	}
}

// Plain HTTP carries passwords in clear: only on loopback, unless forced.
func TestPlainHTTPOnlyOnLoopback(t *testing.T) {
	sim := stacktest.StartSim(t, cloudsim.Options{Nodes: 1})
	auth := filepath.Join(t.TempDir(), "htpasswd")
	writeHtpasswd(t, auth, adminUser, adminPass)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, force := range []bool{false, true} {
		b := stack.New(log)
		inv, err := stack.AddInventory(t.Context(), b, stacktest.SimConfig(sim), nodes.InventoryConfig{Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := stack.AddRedfish(b, inv, nodes.NewExecutor(inv, nodes.ExecutorConfig{}),
			stack.RedfishConfig{Addr: "0.0.0.0:0", PlainHTTP: true, InsecureAnyHTTP: force, AuthFile: auth}); err != nil {
			t.Fatal(err)
		}
		err = b.Bind()
		b.Close()
		if force != (err == nil) {
			t.Errorf("plain HTTP on 0.0.0.0, forced %v: bind error %v", force, err)
		}
		if err != nil && !strings.Contains(err.Error(), "non-loopback") {
			t.Errorf("refusal does not say why: %v", err)
		}
	}
}
