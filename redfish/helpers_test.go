package redfish_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"quintupleo/cloudsim"
	"quintupleo/internal/stack"
	"quintupleo/internal/stacktest"
	"quintupleo/internal/testtool"
	"quintupleo/nodes"
)

func TestMain(m *testing.M) {
	os.Exit(testtool.RunCheckingGoroutines(m, "quintupleo/redfish", 2*time.Second))
}

// The accounts of every test: a read-write one and a read-only one.
const (
	adminUser, adminPass   = "admin", "s3cret"
	readerUser, readerPass = "reader", "look-only"
)

// env is a stack over cloudsim as serve builds it with --listen-redfish
// (stack.AddRedfish), on plain HTTP on loopback. Its inventory refreshes
// hourly, so that every request the cloud sees in a test is one the test
// caused.
type env struct {
	sim  *cloudsim.Sim
	inv  *nodes.Inventory
	url  string // http://127.0.0.1:port
	auth string // the read-write htpasswd file
	ro   string // the read-only one
	// transport, when set, is the client's (HTTPS tests trust their CA).
	transport http.RoundTripper
}

func newEnv(t *testing.T, opts cloudsim.Options) *env {
	t.Helper()
	return newEnvWith(t, opts, nil)
}

// newEnvWith is newEnv with the Redfish configuration changed by tune; the
// URL is https:// when tune turned plain HTTP off.
func newEnvWith(t *testing.T, opts cloudsim.Options, tune func(*stack.RedfishConfig)) *env {
	t.Helper()
	if opts.TransitionDelay == 0 {
		opts.TransitionDelay = 5 * time.Millisecond
	}
	sim := stacktest.StartSim(t, opts)
	dir := t.TempDir()
	e := &env{sim: sim, auth: filepath.Join(dir, "htpasswd"), ro: filepath.Join(dir, "htpasswd.ro")}
	writeHtpasswd(t, e.auth, adminUser, adminPass)
	writeHtpasswd(t, e.ro, readerUser, readerPass)

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("DEBUGLOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	b := stack.New(log)
	inv, err := stack.AddInventory(t.Context(), b, stacktest.SimConfig(sim), nodes.InventoryConfig{RefreshInterval: time.Hour, Logger: log})
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	act := nodes.NewExecutor(inv, nodes.ExecutorConfig{PollInterval: 5 * time.Millisecond, ActionTimeout: 20 * time.Second, Logger: log})
	cfg := stack.RedfishConfig{Addr: "127.0.0.1:0", PlainHTTP: true, AuthFile: e.auth, ReadOnlyAuthFile: e.ro, Logger: log}
	if tune != nil {
		tune(&cfg)
	}
	ln, err := stack.AddRedfish(b, inv, act, cfg)
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	if err := b.Bind(); err != nil {
		b.Close()
		t.Fatal(err)
	}
	scheme := "https://"
	if cfg.PlainHTTP {
		scheme = "http://"
	}
	e.inv, e.url = inv, scheme+ln.Addr().String()
	stacktest.Run(t, b)
	return e
}

// writeHtpasswd writes one bcrypt entry in htpasswd -B's form ($2y$).
func writeHtpasswd(t *testing.T, path, user, pass string) {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	line := user + ":" + strings.Replace(string(h), "$2a$", "$2y$", 1) + "\n"
	testtool.WriteFile(t, path, []byte(line))
}

// reply is one HTTP answer.
type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// do sends a request as user (no credentials when user is "").
func (e *env) do(t *testing.T, method, path, user, pass, body string, header ...string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, e.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	client := &http.Client{Transport: e.transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(data)}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &r.body); err != nil {
			t.Fatalf("%s %s: body is not JSON: %v\n%s", method, path, err, data)
		}
	}
	return r
}

func (e *env) get(t *testing.T, path string) reply {
	t.Helper()
	return e.do(t, http.MethodGet, path, adminUser, adminPass, "")
}

// messageID is the MessageId of an error body.
func (r reply) messageID() string {
	errObj, _ := r.body["error"].(map[string]any)
	infos, _ := errObj["@Message.ExtendedInfo"].([]any)
	if len(infos) == 0 {
		return ""
	}
	m, _ := infos[0].(map[string]any)
	id, _ := m["MessageId"].(string)
	return id
}

// systemPath is the URI of the named node's System.
func (e *env) systemPath(t *testing.T, name string) string {
	t.Helper()
	info, ok := e.sim.Server(name)
	if !ok {
		t.Fatalf("no server %s", name)
	}
	return "/redfish/v1/Systems/" + info.ID
}

// refresh makes the inventory list the cloud after what the test did out of
// band. Refresh coalesces with a refresh in progress (the stack's first one
// may be), which may have listed before the change: the second call lists
// after it.
func (e *env) refresh(t *testing.T) {
	t.Helper()
	for range 2 {
		if err := e.inv.Refresh(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
}
