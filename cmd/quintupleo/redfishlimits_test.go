package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"quintupleo/internal/limit"
	"quintupleo/internal/testtool"
)

// The Redfish front's limits, met by the real binary: a flood of
// keep-alive connections under a small open-file limit, the idle and read
// deadlines, the session caps and the failed-login penalty, each seen by
// python3-sushy (the library of Ironic's redfish driver) where it is the
// client that meets it, and counted on /metrics.

// redfishAccounts writes an htpasswd file with user:password pairs.
func redfishAccounts(t *testing.T, pairs ...string) string {
	t.Helper()
	var b strings.Builder
	for i := 0; i < len(pairs); i += 2 {
		hash, err := bcrypt.GenerateFromPassword([]byte(pairs[i+1]), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(pairs[i] + ":" + string(hash) + "\n")
	}
	path := filepath.Join(t.TempDir(), "htpasswd")
	testtool.WriteFile(t, path, []byte(b.String()))
	return path
}

// redfishReply is one answer: status, Retry-After and the Base message id.
type redfishReply struct {
	status     int
	retryAfter string
	messageID  string
	token      string
	location   string
}

// redfishCall sends one request from the local address from (empty: any)
// with HTTP Basic (user non-empty) on a connection of its own.
func redfishCall(t *testing.T, base, from, method, path, user, pass, body string) redfishReply {
	t.Helper()
	d := &net.Dialer{}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	client := &http.Client{Timeout: promptly, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
	req, err := http.NewRequestWithContext(t.Context(), method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	r := redfishReply{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"),
		token: resp.Header.Get("X-Auth-Token"), location: resp.Header.Get("Location")}
	var e struct {
		Error struct {
			Info []struct{ MessageID string } `json:"@Message.ExtendedInfo"`
		} `json:"error"`
	}
	if json.NewDecoder(resp.Body).Decode(&e) == nil && len(e.Error.Info) > 0 {
		r.messageID = e.Error.Info[0].MessageID
	}
	return r
}

// login POSTs a session for user.
func login(t *testing.T, base, from, user, pass string) redfishReply {
	t.Helper()
	return redfishCall(t, base, from, http.MethodPost, "/redfish/v1/SessionService/Sessions", "", "",
		`{"UserName":"`+user+`","Password":"`+pass+`"}`)
}

// keepAlive opens a connection to addr, sends one request on it, reads
// the answer (if any comes within a second: a server out of descriptors
// never answers), and leaves it open (closed at cleanup).
func keepAlive(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("keep-alive connection: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, "GET /redfish/v1/ HTTP/1.1\r\nHost: bmc\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(time.Second))
	if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	c.SetReadDeadline(time.Time{})
	return c
}

// wantClosed fails unless the server closes c within promptly.
func wantClosed(t *testing.T, c net.Conn, what string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(promptly))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		t.Errorf("%s: still open after %v (read: %v)", what, promptly, err)
	}
}

// sushySystems runs sushy_drive.py's systems step as user (a session,
// else HTTP Basic, as Ironic logs in) within promptly.
func sushySystems(t *testing.T, base, user, pass string) map[string]any {
	t.Helper()
	py := testtool.DebianPython(t, "sushy", "python3-sushy")
	system := redfishFirstSystem(t, base, user, pass)
	ctx, cancel := context.WithTimeout(t.Context(), promptly)
	defer cancel()
	start := time.Now()
	stdout, stderr, code := testtool.Run(t, exec.CommandContext(ctx, py, filepath.Join("..", "..", "redfish", "testdata", "sushy_drive.py"),
		base, user, pass, system, "systems"))
	if code != 0 {
		t.Fatalf("sushy: exit %d after %v\n%s%s", code, time.Since(start).Round(time.Millisecond), stdout, stderr)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("sushy: %v\n%s", err, stdout)
	}
	t.Logf("sushy answered in %v: %v", time.Since(start).Round(time.Millisecond), out)
	return out
}

// redfishFirstSystem is the path of the first System, read with Go's
// client on a connection of its own.
func redfishFirstSystem(t *testing.T, base, user, pass string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), promptly)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/redfish/v1/Systems", nil)
	req.SetBasicAuth(user, pass)
	req.Close = true
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET Systems: %v", err)
	}
	defer resp.Body.Close()
	var coll struct {
		Members []struct {
			ID string `json:"@odata.id"`
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&coll); err != nil || len(coll.Members) == 0 {
		t.Fatalf("GET Systems: %d %v %v", resp.StatusCode, coll, err)
	}
	return coll.Members[0].ID
}

var redfishLimitsLog = regexp.MustCompile(`msg="redfish: connection limits".* max_conns=(\d+) idle_timeout=2m0s read_timeout=30s open_file_limit=256`)

// TestRedfishIdleFloodAtLowFDLimit serves under `prlimit --nofile=256`
// with Redfish on and opens 250 keep-alive Redfish connections, each
// answered once and then left idle, as a client that never closes its
// pool does. Real virsh over TCP, a real OpenSSH login running virsh and
// sushy must all be answered promptly. Before, net/http kept every idle
// connection for ever and accepted until EMFILE: the process sat at 256
// descriptors, the libvirt and SSH accepts failed too, and none of the
// three clients had an answer.
func TestRedfishIdleFloodAtLowFDLimit(t *testing.T) {
	auth := redfishAccounts(t, "ironic", "pw")
	p, client := startLowFDServe(t, "--listen-redfish", "127.0.0.1:0", "--redfish-http", "--redfish-auth-file", auth,
		"--listen-metrics", "127.0.0.1:0")
	rf := logAddr(t, p, redfishListenerLog)
	metricsBase := logAddr(t, p, metricsListenerLog)
	const flood = 250
	for range flood {
		keepAlive(t, strings.TrimPrefix(rf, "http://"))
	}
	p.waitFDsSettle(t)
	p.mustServeBoth(t, client)
	if got := sushySystems(t, rf, "ironic", "pw"); got["systems"] != 4.0 {
		t.Errorf("sushy after the flood: %v", got)
	}

	// The cap came from the open-file limit, and each connection past it
	// evicted the oldest idle one.
	m := redfishLimitsLog.FindStringSubmatch(p.logText())
	if m == nil {
		t.Fatalf("serve did not log the Redfish connection limits derived from 256 descriptors (%s)", redfishLimitsLog)
	}
	maxConns, _ := strconv.Atoi(m[1])
	if maxConns != 192 {
		t.Errorf("max_conns=%d at 256 descriptors, want 192 (as the other fronts)", maxConns)
	}
	// The flood's past the cap each evicted the oldest idle one, and so
	// did the Go client that found sushy's System (it closed its
	// connection; sushy's then took the free slot, and closed it too).
	wantLimit(t, metricsBase, limit.RedfishMaxConns, limit.Evicted, float64(flood-maxConns+1))
	wantConnections(t, metricsBase, limit.Redfish, float64(maxConns-1), 0)
	wantLimit(t, metricsBase, limit.RedfishMaxConns, limit.Refused, 0)
	wantLimit(t, metricsBase, limit.RedfishOpenFiles, limit.Evicted, 0)
}

// TestRedfishConnectionLimits: with --redfish-max-conns 3, a fourth
// keep-alive connection evicts the oldest idle one; the idle deadline
// closes the rest; three requests stalled in their bodies hold every slot,
// so a fifth connection is closed at once; the read deadline ends the
// stalled bodies and a slowloris's headers — each on /metrics.
func TestRedfishConnectionLimits(t *testing.T) {
	auth := redfishAccounts(t, "ironic", "pw")
	p, _ := startDemoServe(t, "--listen-metrics", "127.0.0.1:0", "--listen-redfish", "127.0.0.1:0", "--redfish-http",
		"--redfish-auth-file", auth, "--redfish-max-conns", "3", "--redfish-idle-timeout", "2s", "--redfish-read-timeout", "4s")
	base := logAddr(t, p, metricsListenerLog)
	addr := strings.TrimPrefix(logAddr(t, p, redfishListenerLog), "http://")

	first := keepAlive(t, addr)
	idle := []net.Conn{keepAlive(t, addr), keepAlive(t, addr)}
	wantConnections(t, base, limit.Redfish, 3, 0)
	idle = append(idle, keepAlive(t, addr))
	wantClosed(t, first, "the oldest idle connection at a full cap")
	wantLimit(t, base, limit.RedfishMaxConns, limit.Evicted, 1)
	for i, c := range idle {
		wantClosed(t, c, "idle connection "+strconv.Itoa(i))
	}
	wantLimit(t, base, limit.RedfishIdleTimeout, limit.Closed, 3)
	wantConnections(t, base, limit.Redfish, 0, 0)

	// Three logins whose bodies never come: every slot is busy. The
	// server's "100 Continue", sent when the handler reads the body, says
	// the request is being served (a connection still sending its headers
	// would be evicted instead of a new one refused).
	for range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		io.WriteString(c, "POST /redfish/v1/SessionService/Sessions HTTP/1.1\r\nHost: bmc\r\nContent-Type: application/json\r\n"+
			"Expect: 100-continue\r\nContent-Length: 100\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(promptly))
		if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 100 ") {
			t.Fatalf("a login with Expect: 100-continue: %q %v", line, err)
		}
		io.WriteString(c, "{")
	}
	wantConnections(t, base, limit.Redfish, 3, 0)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(promptly))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("a connection with every slot busy: read %v, want EOF (closed at once)", err)
	}
	c.Close()
	wantLimit(t, base, limit.RedfishMaxConns, limit.Refused, 1)
	wantLimit(t, base, limit.RedfishMaxConns, limit.Evicted, 1)
	wantLimit(t, base, limit.RedfishReadTimeout, limit.Refused, 3)
	wantConnections(t, base, limit.Redfish, 0, 0)

	// A slowloris: headers begun, never ended.
	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	io.WriteString(slow, "GET /redfish/v1/ HTTP/1.1\r\nHost:")
	wantClosed(t, slow, "a connection whose headers never end")
	wantLimit(t, base, limit.RedfishReadTimeout, limit.Closed, 1)
}

// TestRedfishSessionCaps logs in with the default caps (64 sessions an
// account, 256 in all): the 65th login of one account, and any login once
// the service holds 256, is refused with 400 and the Base registry's
// CreateLimitReachedForResource, as OpenBMC's bmcweb answers it. sushy,
// refused a session, logs in with HTTP Basic instead and works on; a
// logout frees a slot. Before, every login made a session, without end.
func TestRedfishSessionCaps(t *testing.T) {
	pairs := []string{"ironic", "pw"}
	for i := range 4 {
		pairs = append(pairs, "u"+strconv.Itoa(i), "pw")
	}
	auth := redfishAccounts(t, pairs...)
	p, _ := startDemoServe(t, "--listen-metrics", "127.0.0.1:0", "--listen-redfish", "127.0.0.1:0", "--redfish-http", "--redfish-auth-file", auth)
	base := logAddr(t, p, metricsListenerLog)
	rf := logAddr(t, p, redfishListenerLog)
	const limitReached = "Base.1.8.CreateLimitReachedForResource"

	var ironic []redfishReply
	for range 64 {
		r := login(t, rf, "", "ironic", "pw")
		if r.status != http.StatusCreated {
			t.Fatalf("login %d of ironic: %+v", len(ironic)+1, r)
		}
		ironic = append(ironic, r)
	}
	if r := login(t, rf, "", "ironic", "pw"); r.status != http.StatusBadRequest || r.messageID != limitReached {
		t.Errorf("65th login of one account: %+v, want 400 %s", r, limitReached)
	}
	wantLimit(t, base, limit.RedfishSessionsPerAccount, limit.Refused, 1)
	got := sushySystems(t, rf, "ironic", "pw")
	if got["session"] != false || got["systems"] != 4.0 {
		t.Errorf("sushy over the cap: %v, want HTTP Basic (session false) and 4 Systems", got)
	}
	wantLimit(t, base, limit.RedfishSessionsPerAccount, limit.Refused, 2)

	// 3 more accounts fill the service's 256; a fifth is refused.
	for i := range 3 {
		for range 64 {
			if r := login(t, rf, "", "u"+strconv.Itoa(i), "pw"); r.status != http.StatusCreated {
				t.Fatalf("login of u%d: %+v", i, r)
			}
		}
	}
	if r := login(t, rf, "", "u3", "pw"); r.status != http.StatusBadRequest || r.messageID != limitReached {
		t.Errorf("a login with 256 sessions open: %+v, want 400 %s", r, limitReached)
	}
	wantLimit(t, base, limit.RedfishSessions, limit.Refused, 1)

	// Logging out frees a slot.
	del, err := http.NewRequestWithContext(t.Context(), http.MethodDelete, rf+ironic[0].location, nil)
	if err != nil {
		t.Fatal(err)
	}
	del.Header.Set("X-Auth-Token", ironic[0].token)
	resp, err := http.DefaultClient.Do(del)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %v %v", resp, err)
	}
	resp.Body.Close()
	if r := login(t, rf, "", "ironic", "pw"); r.status != http.StatusCreated {
		t.Errorf("a login after a logout: %+v", r)
	}
	wantLimit(t, base, limit.RedfishSessionsPerAccount, limit.Refused, 2)
	wantLimit(t, base, limit.RedfishSessions, limit.Refused, 1)
}

// TestRedfishFailedLoginsPenaliseTheSource sends wrong passwords from
// 127.0.0.2 with the default penalty (5 s each, locked out at 15 s ahead,
// as --ssh-auth-fail-penalty): after the fourth, that address is answered
// 503 with Retry-After and ServiceTemporarilyUnavailable, the right
// password too and without a bcrypt comparison, while sushy from 127.0.0.1
// and another account from 127.0.0.3 are served, and a session token
// from the penalised address still works (it proves a login, nothing to
// guess). Before, every wrong password cost a bcrypt comparison, without
// end.
func TestRedfishFailedLoginsPenaliseTheSource(t *testing.T) {
	auth := redfishAccounts(t, "ironic", "pw", "other", "pw2")
	p, _ := startDemoServe(t, "--listen-metrics", "127.0.0.1:0", "--listen-redfish", "127.0.0.1:0", "--redfish-http", "--redfish-auth-file", auth)
	base := logAddr(t, p, metricsListenerLog)
	rf := logAddr(t, p, redfishListenerLog)
	const bad = "127.0.0.2"
	session := login(t, rf, bad, "ironic", "pw")
	if session.status != http.StatusCreated {
		t.Fatalf("login: %+v", session)
	}

	for i := range 4 {
		if r := redfishCall(t, rf, bad, http.MethodGet, "/redfish/v1/Systems", "ironic", "guess"+strconv.Itoa(i), ""); r.status != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %+v, want 401", i, r)
		}
	}
	wantLimit(t, base, limit.RedfishAuth, limit.Refused, 4)
	for _, r := range []redfishReply{
		redfishCall(t, rf, bad, http.MethodGet, "/redfish/v1/Systems", "ironic", "pw", ""),
		login(t, rf, bad, "ironic", "pw"),
	} {
		secs, _ := strconv.Atoi(r.retryAfter)
		if r.status != http.StatusServiceUnavailable || r.messageID != "Base.1.8.ServiceTemporarilyUnavailable" || secs < 1 || secs > 20 {
			t.Errorf("the right password from the penalised address: %+v, want 503 ServiceTemporarilyUnavailable, Retry-After 1..20", r)
		}
	}
	wantLimit(t, base, limit.RedfishAuthPenalty, limit.Refused, 2)
	wantLimit(t, base, limit.RedfishAuth, limit.Refused, 4)

	// The session token from there, another address, and sushy.
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, rf+"/redfish/v1/Systems", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", session.token)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("a session token from the penalised address: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if r := redfishCall(t, rf, "127.0.0.3", http.MethodGet, "/redfish/v1/Systems", "other", "pw2", ""); r.status != http.StatusOK {
		t.Errorf("another account from another address: %+v", r)
	}
	if got := sushySystems(t, rf, "ironic", "pw"); got["session"] != true || got["systems"] != 4.0 {
		t.Errorf("sushy from 127.0.0.1: %v", got)
	}
	wantLimit(t, base, limit.RedfishAuthPenalty, limit.Refused, 2)
}

// TestTLSHandshakeTimeoutFlag: --tls-handshake-timeout 1s closes a TCP
// connection to the TLS listener that never starts its handshake after
// about a second, not rpc.DefaultHandshakeTimeout's 10 s.
func TestTLSHandshakeTimeoutFlag(t *testing.T) {
	dir := t.TempDir()
	tlsServerFiles(t, dir, testtool.NewCA(t, "handshake CA"))
	p, _ := launchServeProcess(t, testtool.BuildQuintupleo(t), "serve", "--demo", "--listen-tcp=", "--listen-tls", "127.0.0.1:0",
		"--listen-metrics", "127.0.0.1:0", "--tls-handshake-timeout", "1s",
		"--tls-cert", filepath.Join(dir, "servercert.pem"), "--tls-key", filepath.Join(dir, "serverkey.pem"), "--tls-ca", filepath.Join(dir, "cacert.pem"))
	base := logAddr(t, p, metricsListenerLog)
	addr := strings.TrimPrefix(logAddr(t, p, tlsListenerLog), "http://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	wantClosed(t, c, "a TLS connection that never starts its handshake")
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("closed after %v, want about 1s", took)
	}
	wantLimit(t, base, limit.TLSHandshakeTimeout, limit.Closed, 1)
}
