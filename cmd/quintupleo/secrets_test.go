package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"quintupleo/cloudsim"
	"quintupleo/internal/testtool"
)

// tokenRecorder keeps every token Keystone issued to quintupleo.
type tokenRecorder struct {
	next   http.RoundTripper
	mu     sync.Mutex
	tokens []string
}

func (r *tokenRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err == nil {
		if tok := resp.Header.Get("X-Subject-Token"); tok != "" {
			r.mu.Lock()
			r.tokens = append(r.tokens, tok)
			r.mu.Unlock()
		}
	}
	return resp, err
}

func (r *tokenRecorder) issued() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.tokens...)
}

// TestSecretsNeverLogged runs a whole session — virsh over TCP, virsh over
// OpenSSH, a Redfish login and reset — with the log at debug, in each log
// format, and greps the log for the cloud's password, every token Keystone
// issued, and the Redfish password and session token.
func TestSecretsNeverLogged(t *testing.T) {
	for _, format := range []logFormat{"text", "json"} {
		t.Run(string(format), func(t *testing.T) { secretsNeverLogged(t, format) })
	}
}

func secretsNeverLogged(t *testing.T, format logFormat) {
	const redfishPassword = "rf-pass-Qz7w"
	auth := filepath.Join(t.TempDir(), "htpasswd")
	hash, err := bcrypt.GenerateFromPassword([]byte(redfishPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	testtool.WriteFile(t, auth, []byte("ironic:"+string(hash)+"\n"))
	var client sshClient
	var log testtool.LogBuffer
	tokens := &tokenRecorder{next: http.DefaultTransport}
	e := startEnv(t, withSSH(t, &client), withMetrics, func(_ *cloudsim.Options, c *serveConfig) {
		c.obs.output, c.obs.logFormat = &log, format
		c.obs.logLevel.Level = -4 // debug
		c.httpClient = &http.Client{Transport: tokens}
		c.redfish = redfishFlags{listen: "127.0.0.1:0", plainHTTP: true, authFile: auth, sessionTimeout: time.Minute}
	})
	e.mustVirsh(t, "list", "--all")
	e.mustVirsh(t, "start", "node-1")
	e.mustVirsh(t, "dumpxml", "node-1")
	if _, errOut, code := e.ssh(t, &client, "virsh destroy node-1; virsh list --all"); code != 0 {
		t.Fatalf("ssh: exit %d: %s", code, errOut)
	}
	rf := "http://" + e.st.redfish.Addr().String()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, rf+"/redfish/v1/SessionService/Sessions",
		strings.NewReader(`{"UserName":"ironic","Password":"`+redfishPassword+`"}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	session := resp.Header.Get("X-Auth-Token")
	if resp.StatusCode != http.StatusCreated || session == "" {
		t.Fatalf("Redfish login: %d, token %q", resp.StatusCode, session)
	}
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodGet, rf+"/redfish/v1/Systems", nil)
	req.Header.Set("X-Auth-Token", session)
	if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("Redfish Systems with the session: %v %v", resp, err)
	}
	resp.Body.Close()

	text := log.String()
	if !strings.Contains(text, "DOMAIN_CREATE") || !strings.Contains(text, "ssh: exec") {
		t.Fatalf("the log does not show the session; nothing was checked:\n%s", text)
	}
	secrets := map[string]string{"cloud password": cloudsim.Password, "Redfish password": redfishPassword, "Redfish session token": session}
	issued := tokens.issued()
	if len(issued) == 0 {
		t.Fatal("no Keystone token recorded")
	}
	for i, tok := range issued {
		secrets["Keystone token "+string(rune('a'+i))] = tok
	}
	for what, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("the %s log holds the %s", format, what)
		}
	}
}
