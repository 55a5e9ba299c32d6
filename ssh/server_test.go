package ssh

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	gossh "golang.org/x/crypto/ssh"

	"quintupleo/internal/testtool"
)

type testServer struct {
	srv      *Server
	addr     string
	port     string
	keyFile  string // client private key (OpenSSH PEM)
	signer   gossh.Signer
	rsaKey   string
	rsaSign  gossh.Signer
	hostKeys string
}

type serverOpt func(*Config)

// Key generation (RSA above all) dominates test time under -race, so the
// keys are made once per test binary; each server still reads its own file.
var (
	keysOnce sync.Once
	keys     struct {
		host []byte
		ed   ed25519.PrivateKey
		rsa  *rsa.PrivateKey
		err  error
	}
)

func testKeys(t testing.TB) *struct {
	host []byte
	ed   ed25519.PrivateKey
	rsa  *rsa.PrivateKey
	err  error
} {
	keysOnce.Do(func() {
		if keys.host, keys.err = generateHostKeys(); keys.err != nil {
			return
		}
		if _, keys.ed, keys.err = ed25519.GenerateKey(rand.Reader); keys.err != nil {
			return
		}
		keys.rsa, keys.err = rsa.GenerateKey(rand.Reader, 2048)
	})
	if keys.err != nil {
		t.Fatal(keys.err)
	}
	return &keys
}

func newTestServer(t testing.TB, opts ...serverOpt) *testServer {
	t.Helper()
	dir := t.TempDir()
	ts := &testServer{}

	keys := testKeys(t)
	ts.signer, ts.keyFile = writeClientKey(t, dir, "id_ed25519", keys.ed)
	ts.rsaSign, ts.rsaKey = writeClientKey(t, dir, "id_rsa", keys.rsa)

	ak := filepath.Join(dir, "authorized_keys")
	content := "# comment line\n" + string(gossh.MarshalAuthorizedKey(ts.signer.PublicKey())) +
		strings.TrimSpace(string(gossh.MarshalAuthorizedKey(ts.rsaSign.PublicKey()))) + " user@old-host\n"
	if err := os.WriteFile(ak, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	ts.hostKeys = filepath.Join(dir, "host_key")
	if err := os.WriteFile(ts.hostKeys, keys.host, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		HostKeyFile:        ts.hostKeys,
		AuthorizedKeysFile: ak,
		ScratchDir:         t.TempDir(),
	}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Close()
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	ts.srv = srv
	ts.addr = ln.Addr().String()
	_, ts.port, _ = net.SplitHostPort(ts.addr)
	return ts
}

func writeClientKey(t testing.TB, dir, name string, key any) (gossh.Signer, string) {
	t.Helper()
	block, err := gossh.MarshalPrivateKey(key, name)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.NewSignerFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return signer, path
}

func (ts *testServer) dial(t testing.TB, user string, signer gossh.Signer, mod func(*gossh.ClientConfig)) *gossh.Client {
	t.Helper()
	cc := &gossh.ClientConfig{
		User:            user,
		Auth:            []gossh.AuthMethod{gossh.PublicKeys(signer)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(),
	}
	if mod != nil {
		mod(cc)
	}
	c, err := gossh.Dial("tcp", ts.addr, cc)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// run executes cmd over a new session and returns stdout, stderr, status.
func run(t testing.TB, c *gossh.Client, cmd, stdin string) (string, string, int) {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out, errb bytes.Buffer
	s.Stdout, s.Stderr = &out, &errb
	s.Stdin = strings.NewReader(stdin)
	err = s.Run(cmd)
	status := 0
	var ee *gossh.ExitError
	switch {
	case errors.As(err, &ee):
		status = ee.ExitStatus()
	case err != nil:
		t.Fatalf("%q: %v", cmd, err)
	}
	return out.String(), errb.String(), status
}

func TestExecXCryptoClient(t *testing.T) {
	testtool.CheckGoroutines(t, "quintupleo/ssh")
	ts := newTestServer(t)
	for _, user := range []string{"stack", "root", "anyone"} {
		c := ts.dial(t, user, ts.signer, nil)
		if out, _, st := run(t, c, "echo success", ""); out != "success\n" || st != 0 {
			t.Errorf("%s: echo success: %q %d", user, out, st)
		}
	}
	c := ts.dial(t, "stack", ts.signer, nil)
	tests := []struct {
		cmd, stdin, out, errPrefix string
		status                     int
	}{
		{"exit", "", "", "", 0},
		{"exit 7", "", "", "", 7},
		{"id", "", "", "sh: 1: id: not found", 127},
		{"tr a-z A-Z", "hello\n", "HELLO\n", "", 0},
		{"cat", "stdin bytes", "stdin bytes", "", 0},
		{"echo err >&2; echo out", "", "out\n", "err", 0},
		{"if", "", "", "sh: 1: Syntax error", 2},
	}
	for _, tc := range tests {
		out, errs, st := run(t, c, tc.cmd, tc.stdin)
		if out != tc.out || st != tc.status || !strings.HasPrefix(errs, tc.errPrefix) {
			t.Errorf("%q: got (%q, %q, %d), want (%q, %q…, %d)", tc.cmd, out, errs, st, tc.out, tc.errPrefix, tc.status)
		}
	}
}

func TestAuthRejectsUnknownKey(t *testing.T) {
	ts := newTestServer(t)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := gossh.NewSignerFromKey(other)
	_, err := gossh.Dial("tcp", ts.addr, &gossh.ClientConfig{
		User: "stack", Auth: []gossh.AuthMethod{gossh.PublicKeys(signer)}, HostKeyCallback: gossh.InsecureIgnoreHostKey(),
	})
	if err == nil {
		t.Fatal("unknown key was accepted")
	}
	_, err = gossh.Dial("tcp", ts.addr, &gossh.ClientConfig{
		User: "stack", Auth: []gossh.AuthMethod{gossh.Password("secret")}, HostKeyCallback: gossh.InsecureIgnoreHostKey(),
	})
	if err == nil {
		t.Fatal("password accepted while password auth is off")
	}
}

func TestPasswordAuthOptIn(t *testing.T) {
	ts := newTestServer(t, func(c *Config) {
		c.PasswordCallback = func(user string, pw []byte) bool { return user == "stack" && string(pw) == "s3cret" }
	})
	c := ts.dial(t, "stack", ts.signer, func(cc *gossh.ClientConfig) { cc.Auth = []gossh.AuthMethod{gossh.Password("s3cret")} })
	if out, _, _ := run(t, c, "echo ok", ""); out != "ok\n" {
		t.Errorf("got %q", out)
	}
}

// TestLegacyAlgorithms connects the way paramiko < 2.9 does: group14-sha1,
// aes128-ctr, hmac-sha1, an ssh-rsa host key and SHA-1 RSA signatures.
func TestLegacyAlgorithms(t *testing.T) {
	ts := newTestServer(t)
	legacy, err := gossh.NewSignerWithAlgorithms(ts.rsaSign.(gossh.AlgorithmSigner), []string{gossh.KeyAlgoRSA})
	if err != nil {
		t.Fatal(err)
	}
	for _, kex := range []string{gossh.InsecureKeyExchangeDH14SHA1, gossh.InsecureKeyExchangeDHGEXSHA1} {
		c := ts.dial(t, "stack", legacy, func(cc *gossh.ClientConfig) {
			cc.KeyExchanges = []string{kex}
			cc.Ciphers = []string{gossh.CipherAES128CTR}
			cc.MACs = []string{gossh.HMACSHA1}
			cc.HostKeyAlgorithms = []string{gossh.KeyAlgoRSA}
		})
		if out, _, _ := run(t, c, "echo legacy", ""); out != "legacy\n" {
			t.Errorf("%s: got %q", kex, out)
		}
	}
}

func TestHostKeyPersists(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "hk")
	a, err := loadOrCreateHostKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := loadOrCreateHostKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 2 || len(b) != 2 {
		t.Fatalf("want ed25519 + rsa, got %d and %d keys", len(a), len(b))
	}
	for i := range a {
		if gossh.FingerprintSHA256(a[i].PublicKey()) != gossh.FingerprintSHA256(b[i].PublicKey()) {
			t.Errorf("host key %d changed across restarts", i)
		}
	}
	if a[0].PublicKey().Type() != gossh.KeyAlgoED25519 || a[1].PublicKey().Type() != gossh.KeyAlgoRSA {
		t.Errorf("key types %s, %s", a[0].PublicKey().Type(), a[1].PublicKey().Type())
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("host key mode %v", fi.Mode().Perm())
	}
}

// TestExitStatusPrecedesEOF pins RFC 4254 §6.10 order: exit-status, then
// EOF, then CLOSE. The client mux delivers channel requests in arrival order
// into a buffered channel before it processes a later EOF, so when the data
// stream reports EOF the exit-status must already be queued.
func TestExitStatusPrecedesEOF(t *testing.T) {
	ts := newTestServer(t)
	c := ts.dial(t, "stack", ts.signer, nil)
	for i := 0; i < 20; i++ {
		ch, reqs, err := c.OpenChannel("session", nil)
		if err != nil {
			t.Fatal(err)
		}
		ok, err := ch.SendRequest("exec", true, gossh.Marshal(struct{ Command string }{"echo out; exit 5"}))
		if err != nil || !ok {
			t.Fatalf("exec: %v %v", ok, err)
		}
		data, err := io.ReadAll(ch)
		if err != nil || string(data) != "out\n" {
			t.Fatalf("read %q %v", data, err)
		}
		select {
		case req, ok := <-reqs:
			if !ok || req.Type != "exit-status" {
				t.Fatalf("after EOF: got %v (open=%v), want exit-status", req, ok)
			}
			var st struct{ Status uint32 }
			if err := gossh.Unmarshal(req.Payload, &st); err != nil || st.Status != 5 {
				t.Fatalf("exit-status payload %v %v", st, err)
			}
		default:
			t.Fatal("EOF arrived before exit-status")
		}
		for range reqs { // CLOSE ends the request stream
		}
		ch.Close()
	}
}

func TestSessionRequests(t *testing.T) {
	testtool.CheckGoroutines(t, "quintupleo/ssh")
	ts := newTestServer(t)
	c := ts.dial(t, "stack", ts.signer, nil)

	s, _ := c.NewSession()
	if err := s.RequestSubsystem("sftp"); err == nil {
		t.Error("sftp subsystem accepted")
	}
	s.Close()

	// env: LC_* accepted and visible; others refused.
	s, _ = c.NewSession()
	if err := s.Setenv("LC_ALL", "C"); err != nil {
		t.Errorf("LC_ALL refused: %v", err)
	}
	if err := s.Setenv("LD_PRELOAD", "/tmp/x.so"); err == nil {
		t.Error("LD_PRELOAD accepted")
	}
	out, _ := s.Output(`echo "$LC_ALL"`)
	if string(out) != "C\n" {
		t.Errorf("LC_ALL in shell: %q", out)
	}
	s.Close()

	// a second exec on one session is refused
	ch, _, err := c.OpenChannel("session", nil)
	if err != nil {
		t.Fatal(err)
	}
	ok1, _ := ch.SendRequest("exec", true, gossh.Marshal(struct{ Command string }{"true"}))
	ok2, _ := ch.SendRequest("exec", true, gossh.Marshal(struct{ Command string }{"true"}))
	if !ok1 || ok2 {
		t.Errorf("exec replies %v %v, want true false", ok1, ok2)
	}
	ch.Close()
}

func TestInteractiveShell(t *testing.T) {
	testtool.CheckGoroutines(t, "quintupleo/ssh")
	ts := newTestServer(t)
	c := ts.dial(t, "stack", ts.signer, nil)

	// without a pty: commands read from stdin, no prompt.
	s, _ := c.NewSession()
	var out bytes.Buffer
	s.Stdout = &out
	s.Stdin = strings.NewReader("echo one\nX=kept\nfor w in a b; do\n  echo $w $X\ndone\nif then\necho two | tr a-z A-Z\ncat /etc/shadow\n")
	if err := s.Shell(); err != nil {
		t.Fatal(err)
	}
	err := s.Wait()
	var ee *gossh.ExitError
	if !errors.As(err, &ee) || ee.ExitStatus() != 1 {
		t.Errorf("shell status: %v (want last command's refusal status 1)", err)
	}
	if out.String() != "one\na kept\nb kept\nTWO\n" {
		t.Errorf("shell output %q", out.String())
	}

	// with a pty: prompt, echo, exit status of `exit N`.
	s, _ = c.NewSession()
	if err := s.RequestPty("xterm", 24, 80, gossh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	s.Stdout = &out
	s.Stdin = strings.NewReader("echo hi\rif true\rthen echo multi\rfi\rexit 4\r")
	if err := s.Shell(); err != nil {
		t.Fatal(err)
	}
	err = s.Wait()
	if !errors.As(err, &ee) || ee.ExitStatus() != 4 {
		t.Errorf("pty shell status: %v", err)
	}
	if !strings.Contains(out.String(), "stack@quintupleo:~$ ") || !strings.Contains(out.String(), "hi\r\n") ||
		!strings.Contains(out.String(), "> ") || !strings.Contains(out.String(), "multi\r\n") {
		t.Errorf("pty output %q", out.String())
	}
}

func TestLimits(t *testing.T) {
	testtool.CheckGoroutines(t, "quintupleo/ssh")
	ts := newTestServer(t, func(c *Config) {
		c.MaxOutputBytes = 4096
		c.MaxCommandBytes = 200
		c.MaxSessionsPerConn = 2
	})
	c := ts.dial(t, "stack", ts.signer, nil)
	out, errs, st := run(t, c, "while true; do echo aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; done", "")
	if st == 0 || len(out) > 4096 || !strings.Contains(errs, "output limit") {
		t.Errorf("output limit: status %d, %d bytes, stderr %q", st, len(out), errs)
	}
	_, errs, st = run(t, c, "echo "+strings.Repeat("x", 300), "")
	if st != 126 || !strings.Contains(errs, "too long") {
		t.Errorf("long command: %d %q", st, errs)
	}
	// per-conn session limit: two open sessions, the third is refused.
	var held []*gossh.Session
	for i := 0; i < 2; i++ {
		s, err := c.NewSession()
		if err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		held = append(held, s)
	}
	if s, err := c.NewSession(); err == nil {
		s.Close()
		t.Error("third session accepted")
	}
	for _, s := range held {
		s.Close()
	}
}

// TestHungCommandKilledWhenClientGoes: a command that never ends is stopped
// when the client disconnects; Shutdown then finds no session left (it would
// block until the test's deadline otherwise).
func TestHungCommandKilledWhenClientGoes(t *testing.T) {
	testtool.CheckGoroutines(t, "quintupleo/ssh")
	ts := newTestServer(t)
	c := ts.dial(t, "stack", ts.signer, nil)
	s, _ := c.NewSession()
	started := make(chan struct{})
	pr, pw := io.Pipe()
	s.Stdout = pw
	if err := s.Start("echo started; while true; do :; done"); err != nil {
		t.Fatal(err)
	}
	go func() {
		buf := make([]byte, 8)
		_, _ = io.ReadFull(pr, buf)
		close(started)
		_, _ = io.Copy(io.Discard, pr)
	}()
	<-started
	_ = c.Close()
	_ = pw.Close()
	if err := ts.srv.Shutdown(t.Context()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

func TestShutdownRefusesNewConns(t *testing.T) {
	ts := newTestServer(t)
	c := ts.dial(t, "stack", ts.signer, nil)
	if out, _, _ := run(t, c, "echo before", ""); out != "before\n" {
		t.Fatalf("got %q", out)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if err := ts.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := gossh.Dial("tcp", ts.addr, &gossh.ClientConfig{
		User: "stack", Auth: []gossh.AuthMethod{gossh.PublicKeys(ts.signer)}, HostKeyCallback: gossh.InsecureIgnoreHostKey(),
	}); err == nil {
		t.Error("dial after Shutdown succeeded")
	}
}

func TestOpenSSHClient(t *testing.T) {
	sshBin := testtool.Require(t, "ssh")
	ts := newTestServer(t)
	sshRun := func(t *testing.T, key string, extra []string, cmd string) (string, string, int) {
		t.Helper()
		args := []string{"-i", key, "-p", ts.port, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
			"-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR", "-F", "/dev/null"}
		args = append(args, extra...)
		args = append(args, "stack@127.0.0.1", cmd)
		c := exec.CommandContext(t.Context(), sshBin, args...)
		c.Stdin = strings.NewReader("")
		return testtool.Run(t, c)
	}
	tests := []struct {
		cmd, out string
		status   int
	}{
		{"exit", "", 0},
		{"echo success", "success\n", 0},
		{"exit 42", "", 42},
		{`echo "<mac address='52:54:00:aa:bb:cc'/>" | awk -F "'" '/mac address/{print $2}'| tr -d ':'`, "525400aabbcc\n", 0},
		{"cat /etc/shadow", "", 1},
		{"python3 -c 'print(1)'", "", 127},
	}
	for _, tc := range tests {
		out, errs, st := sshRun(t, ts.keyFile, nil, tc.cmd)
		if out != tc.out || st != tc.status {
			t.Errorf("ssh %q: got %q status %d (stderr %q), want %q status %d", tc.cmd, out, st, errs, tc.out, tc.status)
		}
	}
	// The legacy set old paramiko needs, forced on the OpenSSH client.
	legacy := []string{"-o", "KexAlgorithms=diffie-hellman-group14-sha1", "-o", "Ciphers=aes128-ctr", "-o", "MACs=hmac-sha1",
		"-o", "HostKeyAlgorithms=ssh-rsa", "-o", "PubkeyAcceptedAlgorithms=ssh-rsa"}
	if out, errs, st := sshRun(t, ts.rsaKey, legacy, "echo legacy"); out != "legacy\n" || st != 0 {
		t.Errorf("legacy algorithms: %q %d %q", out, st, errs)
	}
}

func TestMaxConns(t *testing.T) {
	testtool.CheckGoroutines(t, "quintupleo/ssh")
	ts := newTestServer(t, func(c *Config) { c.MaxConns = 1 })
	c := ts.dial(t, "stack", ts.signer, nil) // holds the only slot
	if _, err := gossh.Dial("tcp", ts.addr, &gossh.ClientConfig{
		User: "stack", Auth: []gossh.AuthMethod{gossh.PublicKeys(ts.signer)}, HostKeyCallback: gossh.InsecureIgnoreHostKey(),
	}); err == nil {
		t.Error("second connection accepted over MaxConns=1")
	}
	if out, _, _ := run(t, c, "echo still", ""); out != "still\n" {
		t.Errorf("first connection: %q", out)
	}
}

func TestNewServerConfigErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := NewServer(Config{HostKeyFile: filepath.Join(dir, "hk"), AuthorizedKeysFile: filepath.Join(dir, "missing")}); err == nil {
		t.Error("missing authorized_keys accepted")
	}
	if _, err := NewServer(Config{AuthorizedKeysFile: filepath.Join(dir, "x")}); err == nil {
		t.Error("missing host key path accepted")
	}
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("not a key"), 0o600)
	ak := filepath.Join(dir, "ak")
	os.WriteFile(ak, nil, 0o600)
	if _, err := NewServer(Config{HostKeyFile: bad, AuthorizedKeysFile: ak}); err == nil {
		t.Error("garbage host key accepted")
	}
}

// TestEnvRequestsPastTheCapRefused: the 65th variable is refused (reply
// false, as sshd refuses past its cap), not acknowledged and dropped; a
// variable already set may still be changed.
func TestEnvRequestsPastTheCapRefused(t *testing.T) {
	ts := newTestServer(t)
	c := ts.dial(t, "stack", ts.signer, nil)
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range maxEnv {
		if err := s.Setenv(fmt.Sprintf("LC_%d", i), "v"); err != nil {
			t.Fatalf("env %d: %v", i, err)
		}
	}
	if err := s.Setenv("LC_LAST", "v"); err == nil {
		t.Error("env past the cap acknowledged")
	}
	if err := s.Setenv("LC_0", "changed"); err != nil {
		t.Errorf("changing a set variable at the cap: %v", err)
	}
	out, err := s.Output(`echo "$LC_0" "${LC_LAST-unset}"`)
	if err != nil || string(out) != "changed unset\n" {
		t.Errorf("session sees %q, %v", out, err)
	}
}
