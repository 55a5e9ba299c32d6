package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"quintupleo/internal/limit"
	"quintupleo/internal/testtool"
	"quintupleo/rpc"
)

// The limit tests run the built binary with small limits and a metrics
// listener, provoke each limit with the client that meets it in the field
// (virsh, OpenSSH, a TLS client, a raw TCP flood), and read
// quintupleo_limit_events_total{limit,outcome} from /metrics: a fresh
// process starts every series at 0, so each count is what the test did.

var (
	metricsListenerLog = regexp.MustCompile(`msg="metrics listener" addr=(\S+)`)
	redfishListenerLog = regexp.MustCompile(`msg="Redfish listener" addr=(\S+)`)
)

// logAddr waits for the listener line re in p's log and returns its address.
func logAddr(t *testing.T, p *serveProcess, re *regexp.Regexp) string {
	t.Helper()
	var addr string
	waitFor(t, 60*time.Second, re.String(), func() bool {
		if m := re.FindStringSubmatch(p.logText()); m != nil {
			addr = m[1]
		}
		return addr != ""
	})
	return "http://" + addr
}

// limitCount is quintupleo_limit_events_total{limit=l,outcome=o} now.
func limitCount(t *testing.T, base string, l limit.Name, o limit.Outcome) float64 {
	t.Helper()
	s := scrapeMetrics(t, base)
	if s["quintupleo_limit_events_total"] == nil {
		t.Fatal("no quintupleo_limit_events_total on /metrics")
	}
	return s.value("quintupleo_limit_events_total", "limit", string(l), "outcome", string(o))
}

// wantLimit waits (the effects are asynchronous: an eviction, a deadline)
// until the count of l/o is want, and fails if it is not within bound or
// passes want.
func wantLimit(t *testing.T, base string, l limit.Name, o limit.Outcome, want float64) {
	t.Helper()
	deadline := time.Now().Add(promptly)
	for {
		got := limitCount(t, base, l, o)
		if got == want {
			return
		}
		if got > want || time.Now().After(deadline) {
			t.Errorf("limit_events_total{limit=%s,outcome=%s} = %v, want %v", l, o, got, want)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// wantConnections waits until front's connection gauges read open and
// unauthenticated.
func wantConnections(t *testing.T, base string, front limit.Front, open, unauth float64) {
	t.Helper()
	deadline := time.Now().Add(promptly)
	for {
		s := scrapeMetrics(t, base)
		o := s.value("quintupleo_connections", "front", string(front))
		u := s.value("quintupleo_connections_unauthenticated", "front", string(front))
		if o == open && u == unauth {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("connections{front=%s} = %v, unauthenticated %v; want %v and %v", front, o, u, open, unauth)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// idleConns opens n TCP connections to addr that send nothing (closed at
// cleanup).
func idleConns(t *testing.T, addr string, n int) { t.Helper(); idleConnsFrom(t, "", addr, n) }

// idleConnsFrom is idleConns from the local address from ("": any).
func idleConnsFrom(t *testing.T, from, addr string, n int) {
	t.Helper()
	d := net.Dialer{}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	for range n {
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
	}
}

// TestLimitMetricsLibvirt: the libvirt front's connection caps and
// deadlines, its per-connection bounds, the wire's size caps, the XML
// guard, and Redfish's login, each moved by what the clients did.
func TestLimitMetricsLibvirt(t *testing.T) {
	virsh := testtool.Require(t, "virsh")
	auth := filepath.Join(t.TempDir(), "htpasswd")
	hash, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	testtool.WriteFile(t, auth, []byte("ironic:"+string(hash)+"\n"))
	p, _ := startDemoServe(t, "--listen-metrics", "127.0.0.1:0", "--max-anonymous-clients", "3", "--open-timeout", "2s",
		"--max-event-callbacks", "2", "--max-client-requests", "1", "--keepalive-interval", "300ms", "--keepalive-count", "1",
		"--listen-redfish", "127.0.0.1:0", "--redfish-http", "--redfish-auth-file", auth)
	base := logAddr(t, p, metricsListenerLog)
	for ev, front := range limit.Events() {
		if front == limit.Libvirt || front == limit.Redfish {
			if got := limitCount(t, base, ev.Limit, ev.Outcome); got != 0 {
				t.Errorf("%v = %v at start, want 0", ev, got)
			}
		}
	}
	virshTCP := func(args ...string) (string, string, int) {
		cmd := exec.CommandContext(t.Context(), virsh, append([]string{"-c", "qemu+tcp://" + p.libvirtAddr + "/system"}, args...)...)
		cmd.Env = append(os.Environ(), "LC_ALL=C", "HOME="+t.TempDir())
		return testtool.Run(t, cmd)
	}

	// A flood of 5 silent connections: 3 fit the unopened cap, the 2
	// oldest are evicted; the 3 left are closed by the open deadline.
	idleConns(t, p.libvirtAddr, 5)
	wantLimit(t, base, limit.MaxAnonymousClients, limit.Evicted, 2)
	wantLimit(t, base, limit.OpenTimeout, limit.Closed, 3)
	wantConnections(t, base, limit.Libvirt, 0, 0)
	// The open deadline leaves a prompt client alone.
	if _, errOut, code := virshTCP("list", "--all"); code != 0 {
		t.Fatalf("virsh list: exit %d: %s", code, errOut)
	}

	// virsh event --all registers one callback per event ID it knows
	// (virsh event --list): the first two fit, every other is refused.
	listed, errOut, code := virshTCP("event", "--list")
	if code != 0 {
		t.Fatalf("virsh event --list: exit %d: %s", code, errOut)
	}
	events := len(strings.Fields(listed))
	if _, _, code := virshTCP("event", "--all", "--timeout", "1"); code == 0 {
		t.Error("virsh event --all with --max-event-callbacks 2 succeeded")
	}
	wantLimit(t, base, limit.EventCallbacks, limit.Refused, float64(events-2))

	// The XML guard, through virsh define.
	for name, l := range map[string]limit.Name{"deep-300.xml": limit.XMLDepth, "billion-laughs.xml": limit.XMLEntities} {
		if _, _, code := virshTCP("define", filepath.Join("..", "..", "virt", "testdata", "hostile", name)); code == 0 {
			t.Errorf("virsh define %s succeeded", name)
		}
		wantLimit(t, base, l, limit.Refused, 1)
	}
	wantLimit(t, base, limit.XMLSize, limit.Refused, 0)

	// The wire: a string claiming 5 MiB in a call is refused; a packet over
	// 32 MiB closes the connection.
	c := dialRaw(t, p.libvirtAddr)
	c.open(t)
	c.call(t, rpc.ProcDomainLookupByName, binary.BigEndian.AppendUint32(nil, 5<<20))
	wantLimit(t, base, limit.StringSize, limit.Refused, 1)
	if _, err := c.Write(binary.BigEndian.AppendUint32(nil, 33<<20)); err != nil {
		t.Fatal(err)
	}
	wantLimit(t, base, limit.MessageSize, limit.Closed, 1)

	// Keepalive: an opened connection that never answers a PING.
	silent := dialRaw(t, p.libvirtAddr)
	silent.open(t)
	wantLimit(t, base, limit.Keepalive, limit.Closed, 1)

	// Pipelined calls past --max-client-requests 1 make the server stop
	// reading that connection (the raw opens above pipelined two calls
	// each, and virsh may have too: the count is taken after them).
	pipe := dialRaw(t, p.libvirtAddr)
	pipe.open(t)
	waitsBefore := limitCount(t, base, limit.MaxClientRequests, limit.Waited)
	var burst []byte
	for i := range 50 {
		burst = append(burst, packet(rpc.RemoteProgram, rpc.ProcDomainLookupByName, rpc.TypeCall, uint32(100+i), xdrString("node-0"))...)
	}
	if _, err := pipe.Write(burst); err != nil {
		t.Fatal(err)
	}
	waitFor(t, promptly, "a wait at --max-client-requests", func() bool {
		return limitCount(t, base, limit.MaxClientRequests, limit.Waited) > waitsBefore
	})

	// Redfish: a wrong password and a body over 1 MiB.
	rf := logAddr(t, p, redfishListenerLog)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, rf+"/redfish/v1/Systems", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("ironic", "wrong")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET with a wrong password: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	resp, err := http.Post(rf+"/redfish/v1/SessionService/Sessions", "application/json", strings.NewReader(`{"UserName":"`+strings.Repeat("u", 2<<20)+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a 2 MiB login: %d, want 400", resp.StatusCode)
	}
	wantLimit(t, base, limit.RedfishAuth, limit.Refused, 1)
	wantLimit(t, base, limit.RedfishBodySize, limit.Refused, 1)

	// Nothing else acted: the counts above are still what they were, and
	// the caps not provoked are at 0.
	wantLimit(t, base, limit.MaxAnonymousClients, limit.Evicted, 2)
	wantLimit(t, base, limit.MaxClients, limit.Evicted, 0)
	wantLimit(t, base, limit.MaxClients, limit.Waited, 0)
	wantLimit(t, base, limit.OpenTimeout, limit.Closed, 3)
}

// TestLimitMetricsSSH: the SSH endpoint's connection caps, login deadline,
// authentication bounds and the per-session limits, met by OpenSSH and a
// raw TCP flood.
func TestLimitMetricsSSH(t *testing.T) {
	p, good := startDemoServe(t, "--listen-metrics", "127.0.0.1:0", "--ssh-max-startups", "2", "--ssh-login-grace-time", "3s",
		"--ssh-max-auth-tries", "2", "--ssh-session-memory", "1MiB")
	base := logAddr(t, p, metricsListenerLog)

	// 4 silent connections from 127.0.0.4: 2 fit --ssh-max-startups, the 2
	// oldest are evicted, the 2 left closed by the login deadline. That
	// locks 127.0.0.4 out (1 s for each eviction, 20 s for each deadline,
	// --ssh-noauth-penalty and --ssh-grace-penalty): its next connection is
	// refused at accept, counted under the penalty added last.
	idleConnsFrom(t, "127.0.0.4", p.sshAddr, 4)
	wantLimit(t, base, limit.SSHMaxStartups, limit.Evicted, 2)
	wantConnections(t, base, limit.SSH, 2, 2)
	wantLimit(t, base, limit.SSHLoginGrace, limit.Closed, 2)
	wantConnections(t, base, limit.SSH, 0, 0)
	if out, code := sshFrom(t, good.key, "127.0.0.4", p.sshAddr, "true"); code == 0 {
		t.Errorf("the authorized key from 127.0.0.4 after its connections ran out of the login deadline: logged in: %s", out)
	}
	wantLimit(t, base, limit.SSHGracePenalty, limit.Refused, 1)
	wantLimit(t, base, limit.SSHNoAuthPenalty, limit.Refused, 0)

	// Three unknown keys on one connection: closed at the second failure.
	var bad [3]sshClient
	for i := range bad {
		newSSHClient(t, &bad[i])
	}
	_, port, _ := strings.Cut(p.sshAddr, ":")
	cmd := exec.CommandContext(t.Context(), testtool.Require(t, "ssh"), "-i", bad[0].key, "-i", bad[1].key, "-i", bad[2].key,
		"-p", port, "-T", "-b", "127.0.0.3", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "stack@127.0.0.1", "true")
	if _, errOut, code := testtool.Run(t, cmd); code == 0 {
		t.Errorf("three unknown keys: exit %d: %s", code, errOut)
	}
	wantLimit(t, base, limit.SSHMaxAuthTries, limit.Closed, 1)

	// Four failed logins from 127.0.0.2 lock it out: the fifth connection
	// is refused at accept.
	for range 4 {
		sshFrom(t, bad[0].key, "127.0.0.2", p.sshAddr, "true")
	}
	wantLimit(t, base, limit.SSHAuthPenalty, limit.Refused, 0)
	if out, code := sshFrom(t, good.key, "127.0.0.2", p.sshAddr, "true"); code == 0 {
		t.Errorf("the penalised address logged in: %s", out)
	}
	wantLimit(t, base, limit.SSHAuthPenalty, limit.Refused, 1)

	// The session limits, with the authorized key from 127.0.0.1.
	run := func(line string, opts ...string) int {
		args := append([]string{"-i", good.key, "-p", port, "-T", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
			"-o", "BatchMode=yes", "-o", "LogLevel=ERROR"}, opts...)
		_, _, code := testtool.Run(t, exec.CommandContext(t.Context(), testtool.Require(t, "ssh"), append(args, "stack@127.0.0.1", line)...))
		return code
	}
	if code := run("x=a; while :; do x=$x$x; done"); code == 0 {
		t.Error("a doubling variable within a 1 MiB session budget succeeded")
	}
	wantLimit(t, base, limit.SSHMemorySession, limit.Refused, 1)
	wantLimit(t, base, limit.SSHMemoryTotal, limit.Refused, 0)
	if code := run("echo " + strings.Repeat("a", 70<<10)); code == 0 {
		t.Error("a 70 KiB command line succeeded")
	}
	wantLimit(t, base, limit.SSHCommandSize, limit.Refused, 1)
	env := make([]string, 65)
	for i := range env {
		env[i] = fmt.Sprintf("LC_T%d=x", i)
	}
	// -F /dev/null: no SendEnv from the system's ssh_config (Debian's sends
	// LANG and LC_*), so these 65 are all the session asks for.
	if code := run("true", "-F", "/dev/null", "-o", "SetEnv="+strings.Join(env, " ")); code != 0 {
		t.Errorf("a login with 65 variables: exit %d", code)
	}
	wantLimit(t, base, limit.SSHEnv, limit.Refused, 1)
	wantLimit(t, base, limit.SSHMaxConns, limit.Refused, 0)
	wantLimit(t, base, limit.SSHMaxStartups, limit.Evicted, 2)
}

// TestLimitMetricsTLS: clients refused in the TLS handshake — the real
// virsh with a DN off the allow-list and with a certificate of another CA,
// and a Go TLS client with no certificate — each counted under its limit.
func TestLimitMetricsTLS(t *testing.T) {
	virsh := testtool.Require(t, "virsh")
	dir := t.TempDir()
	ca := testtool.NewCA(t, "limits CA")
	tlsServerFiles(t, dir, ca)
	p, _ := launchServeProcess(t, testtool.BuildQuintupleo(t), "serve", "--demo", "--listen-tcp=", "--listen-tls", "127.0.0.1:0",
		"--listen-metrics", "127.0.0.1:0",
		"--tls-cert", filepath.Join(dir, "servercert.pem"), "--tls-key", filepath.Join(dir, "serverkey.pem"), "--tls-ca", filepath.Join(dir, "cacert.pem"),
		"--tls-allowed-dn", "C=GB,O=Example,CN=admin")
	base := logAddr(t, p, metricsListenerLog)
	var addr string
	waitFor(t, 60*time.Second, "the TLS listener's log line", func() bool {
		if m := tlsListenerLog.FindStringSubmatch(p.logText()); m != nil {
			addr = m[1]
		}
		return addr != ""
	})
	pki := func(ca *testtool.CA, cn string) string {
		cert, key := ca.Issue(t, testtool.CertSpec{Subject: pkix.Name{Country: []string{"GB"}, Organization: []string{"Example"}, CommonName: cn}})
		return testtool.ClientPKI(t, ca.PEM, cert, key)
	}
	list := func(pkipath string) int {
		cmd := exec.CommandContext(t.Context(), virsh, "-c", "qemu+tls://"+addr+"/system?pkipath="+pkipath, "list", "--all")
		cmd.Env = append(os.Environ(), "LC_ALL=C", "HOME="+t.TempDir())
		_, _, code := testtool.Run(t, cmd)
		return code
	}
	if code := list(pki(ca, "admin")); code != 0 {
		t.Fatalf("virsh with an allowed DN: exit %d", code)
	}
	wantLimit(t, base, limit.TLSAllowedDN, limit.Refused, 0)
	if code := list(pki(ca, "intruder")); code == 0 {
		t.Error("virsh with a DN off the list was served")
	}
	wantLimit(t, base, limit.TLSAllowedDN, limit.Refused, 1)
	wantLimit(t, base, limit.TLSClientCert, limit.Refused, 0)

	// Go's TLS client, as openssl s_client would: with another CA's
	// certificate (virsh checks its own certificate against its CA and
	// never connects with one), and with none.
	other := testtool.NewCA(t, "another CA")
	certPEM, keyPEM := other.Issue(t, testtool.CertSpec{Subject: pkix.Name{CommonName: "admin"}})
	otherCert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.PEM)
	for i, certs := range [][]tls.Certificate{{otherCert}, nil} {
		ctx, cancel := context.WithTimeout(t.Context(), promptly)
		d := tls.Dialer{Config: &tls.Config{RootCAs: roots, ServerName: "localhost", Certificates: certs}}
		if c, err := d.DialContext(ctx, "tcp", addr); err == nil {
			// TLS 1.3: the refusal comes with the first read.
			_, err = c.Read(make([]byte, 1))
			c.Close()
			if err == nil {
				t.Errorf("TLS client %d was confirmed", i)
			}
		}
		cancel()
		wantLimit(t, base, limit.TLSClientCert, limit.Refused, float64(i+1))
	}
	wantLimit(t, base, limit.TLSClientCert, limit.Refused, 2)
	wantLimit(t, base, limit.TLSAllowedDN, limit.Refused, 1)
}
